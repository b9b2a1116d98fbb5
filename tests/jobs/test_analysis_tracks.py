"""Analysis tracks against the embedded job runtime: reading never computes, computing runs the
missing presets as a real task, and the track then reads its result."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from tests.jobs.test_graphql_inprocess import follow, post, token_for
from tests.jobs.world import build_world
from timeside_gql.api.app import create_app
from timeside_gql.db.models import Task

ANALYSIS = """mutation($preset: UUID!) {
  createAnalysis(input: {title: "RMS", presetId: $preset, outputId: "level.rms"}) {
    ... on Analysis { id } } }"""
TRACK = """mutation($item: UUID!, $analysis: UUID!) {
  createAnalysisTrack(itemId: $item, input: {analysisId: $analysis, color: "#00aa00"}) {
    ... on AnalysisTrack { id } } }"""
READ = """query($id: UUID!) { analysisTrack(id: $id) { status result { status hdf5Path } } }"""
COMPUTE = """mutation($item: UUID!) { computeAnalysisTracks(itemId: $item) {
  __typename ... on Task { id status } ... on Error { message } } }"""


@pytest.fixture
def client(settings, engine):
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


def test_reading_waits_for_compute_then_shows_the_result(client, engine, data_dir):
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    token = token_for(engine, world.owner_id)
    item = str(world.item_ids[0])
    analysis = post(client, ANALYSIS, token, preset=str(world.preset_ids["level"]))
    track = post(client, TRACK, token, item=item, analysis=analysis["createAnalysis"]["id"])
    track_id = track["createAnalysisTrack"]["id"]

    assert post(client, READ, token, id=track_id)["analysisTrack"] == {
        "status": "NONE",
        "result": None,
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
    again = post(client, COMPUTE, token, item=item)["computeAnalysisTracks"]
    assert again["__typename"] == "ConflictError"
