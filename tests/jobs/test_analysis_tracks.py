"""Analysis tracks against the embedded job runtime: reading never computes, computing runs the
missing presets as a real task, and the track then reads its result."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from tests.db import factories
from tests.jobs.test_graphql_inprocess import RUN, follow, post
from tests.jobs.world import build_world, expected_peak_db
from timeside_gql.core import hdf5
from timeside_gql.db.models import Result, Task
from timeside_gql.http.app import create_app

ANALYSIS = """mutation($preset: UUID!) {
  createAnalysis(input: {title: "RMS", presetId: $preset, outputId: "level.rms"}) {
    ... on Analysis { id } } }"""
TRACK = """mutation($item: UUID!, $analysis: UUID!) {
  createAnalysisTrack(itemId: $item, input: {analysisId: $analysis, color: "#00aa00"}) {
    ... on AnalysisTrack { id } } }"""
READ = """query($id: UUID!) { analysisTrack(id: $id) { status result { status hdf5Path } } }"""
DRAWN = """query($id: UUID!) { analysisTrack(id: $id) {
  series { output timeMode values } visualUrl(width: 300, height: 60) } }"""
COMPUTE = """mutation($item: UUID!) { computeAnalysisTracks(itemId: $item) {
  __typename ... on Task { id status } ... on Error { message } } }"""


@pytest.fixture
def client(settings, engine):
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


def test_reading_waits_for_compute_then_shows_the_result(client, engine, data_dir):
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    token = factories.token(engine, world.owner_id)
    item = str(world.item_ids[0])
    analysis = post(client, ANALYSIS, token, preset=str(world.preset_ids["level"]))
    track = post(client, TRACK, token, item=item, analysis=analysis["createAnalysis"]["id"])
    track_id = track["createAnalysisTrack"]["id"]

    assert post(client, READ, token, id=track_id)["analysisTrack"] == {
        "status": "NONE",
        "result": None,
    }
    assert post(client, DRAWN, token, id=track_id)["analysisTrack"] == {
        "series": None,
        "visualUrl": None,
    }
    with Session(engine) as session:
        assert [t.id for t in session.exec(select(Task))] == [world.task_id]  # nothing queued

    task = post(client, COMPUTE, token, item=item)["computeAnalysisTracks"]
    assert task["status"] == "PENDING"
    updates = [m["payload"]["data"]["taskUpdates"] for m in follow(client, task["id"], token)]
    assert updates[-1]["task"]["status"] == "DONE"

    done = post(client, READ, token, id=track_id)["analysisTrack"]
    assert done["status"] == "DONE"
    assert done["result"]["status"] == "DONE"
    assert (data_dir / done["result"]["hdf5Path"]).is_file()
    drawn = post(client, DRAWN, token, id=track_id)["analysisTrack"]
    assert drawn["series"]["output"] == "level.rms"
    assert drawn["series"]["timeMode"] == "global"
    [rms] = drawn["series"]["values"]
    assert rms == pytest.approx(
        expected_peak_db(world.amplitudes[world.item_ids[0]]) - 3.01, abs=0.05
    )
    picture = client.get(drawn["visualUrl"])  # signed: no header needed
    assert picture.status_code == 200, picture.text
    assert picture.headers["content-type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG")
    again = post(client, COMPUTE, token, item=item)["computeAnalysisTracks"]
    assert again["__typename"] == "ConflictError"


def test_a_computed_segment_result_exports_as_it_is_stored(client, engine, data_dir):
    world = build_world(engine, data_dir, failing=False, pids=("silence",))
    token = factories.token(engine, world.owner_id)
    post(client, RUN, token, id=str(world.task_id))
    updates = [m["payload"]["data"]["taskUpdates"] for m in follow(client, world.task_id, token)]
    assert updates[-1]["task"]["status"] == "DONE"
    with Session(engine) as session:
        result = session.exec(select(Result).where(Result.item_id == world.item_ids[0])).one()
    [stored] = hdf5.read(data_dir / result.hdf5_path)
    names = stored.data_object.label_metadata.label
    expected = [
        (repr(float(t)), repr(float(t + d)), names[int(label)])
        for t, d, label in zip(stored.time, stored.data_object.duration, stored.data, strict=True)
    ]
    assert expected  # a sine of one second: one "sound" segment at least

    response = client.get(
        f"/exports/results/{result.id}.csv", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["start"], r["stop"], r["label"]) for r in rows] == expected
