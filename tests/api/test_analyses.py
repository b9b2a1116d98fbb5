"""The analysis catalogue: outputs checked against the processor, tracks, status, delete rules."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.api.conftest import Api
from tests.db import factories as f
from timeside_gql.core.registry import all_processors
from timeside_gql.db import models as m
from timeside_gql.db.processors import sync_processors

ANALYSIS = """mutation($input: AnalysisInput!) { createAnalysis(input: $input) {
  __typename
  ... on Analysis { id outputId renderType preset { processor { pid } } }
  ... on ValidationError { field message } } }"""
TRACK = """mutation($item: UUID!, $input: AnalysisTrackInput!) {
  createAnalysisTrack(itemId: $item, input: $input) {
    __typename ... on AnalysisTrack { id color } ... on ValidationError { field } } }"""
READ = """query($id: UUID!) { analysisTrack(id: $id) {
  status result { status } analysis { title } item { title } } }"""
COMPUTE = """mutation($item: UUID!) { computeAnalysisTracks(itemId: $item) {
  __typename ... on Task { id status experience { presets { id } } } ... on Error { message } } }"""


@pytest.fixture
def presets(api: Api, engine: Engine) -> dict[str, str]:
    """A default preset of a real analyzer, grapher and encoder."""
    with Session(engine) as session:
        processors = {p.pid: str(p.id) for p in sync_processors(session, all_processors())}
        session.commit()
    create = """mutation($p: UUID!) { createPreset(processorId: $p) { ... on Preset { id } } }"""
    return {
        pid: api(create, {"p": processors[pid]}, as_="alice")["createPreset"]["id"]
        for pid in ("level", "waveform_simple", "wav_encoder")
    }


def analysis(api: Api, preset: str, caller: str = "alice", **fields: Any) -> dict[str, Any]:
    variables = {"input": {"title": "a", "presetId": preset, **fields}}
    return api(ANALYSIS, variables, as_=caller)["createAnalysis"]


def test_the_output_must_be_one_the_processor_declares(api: Api, presets: dict[str, str]) -> None:
    rms = analysis(api, presets["level"], outputId="level.rms")
    assert rms["outputId"] == "level.rms"
    assert rms["renderType"] == "VECTOR"
    assert rms["preset"] == {"processor": {"pid": "level"}}
    drawn = analysis(api, presets["level"], outputId="level.rms", renderType="IMAGE")
    assert drawn["renderType"] == "IMAGE"
    picture = analysis(api, presets["waveform_simple"], renderType="IMAGE")
    assert picture["outputId"] is None

    refusals = [
        (analysis(api, presets["level"], outputId="level.peak"), "outputId"),
        (analysis(api, presets["level"]), "outputId"),
        (analysis(api, presets["waveform_simple"], outputId="x", renderType="IMAGE"), "outputId"),
        (analysis(api, presets["waveform_simple"]), "renderType"),
        (analysis(api, presets["wav_encoder"]), "presetId"),
        (
            api(ANALYSIS, {"input": {"title": "no preset"}}, as_="alice")["createAnalysis"],
            "presetId",
        ),
    ]
    assert [(r["__typename"], r["field"]) for r, _ in refusals] == [
        ("ValidationError", field) for _, field in refusals
    ]
    assert refusals[0][0]["message"] == "level outputs level.max, level.rms, not 'level.peak'"

    moved = api(
        """mutation($id: UUID!, $p: UUID!) { updateAnalysis(id: $id, input: {presetId: $p}) {
          __typename ... on ValidationError { field } } }""",
        {"id": rms["id"], "p": presets["waveform_simple"]},
        as_="alice",
    )
    assert moved["updateAnalysis"] == {"__typename": "ValidationError", "field": "outputId"}


def test_track_status_follows_the_result_without_computing(
    api: Api, engine: Engine, presets: dict[str, str]
) -> None:
    rms = analysis(api, presets["level"], outputId="level.rms")["id"]
    song = api(
        'mutation { createItem(input: {title: "song"}) { ... on Item { id } } }', as_="alice"
    )
    item_id = song["createItem"]["id"]
    track = api(
        TRACK, {"item": item_id, "input": {"analysisId": rms, "color": "#FF8800"}}, as_="bob"
    )
    assert track["createAnalysisTrack"]["color"] == "#ff8800"
    track_id = track["createAnalysisTrack"]["id"]
    bad = api(TRACK, {"item": item_id, "input": {"analysisId": rms, "color": "red"}}, as_="bob")
    assert bad["createAnalysisTrack"] == {"__typename": "ValidationError", "field": "color"}

    def read() -> dict[str, Any]:
        return api(READ, {"id": track_id})["analysisTrack"]

    assert read() == {
        "status": "NONE",
        "result": None,
        "analysis": {"title": "a"},
        "item": {"title": "song"},
    }
    with Session(engine) as session:
        assert session.exec(select(m.Task)).all() == []  # reading queued nothing
        row = f.result(
            session,
            session.get(m.Item, UUID(item_id)),
            session.get(m.Preset, UUID(presets["level"])),
        )
        session.commit()
        assert read()["status"] == "PENDING"
        row.status = m.ResultStatus.DONE
        session.add(row)
        session.commit()
    assert read()["status"] == "DONE"
    assert read()["result"] == {"status": "DONE"}
    conflict = api(COMPUTE, {"item": item_id}, as_="bob")["computeAnalysisTracks"]
    assert conflict == {
        "__typename": "ConflictError",
        "message": "every track's result is done or under way",
    }


def test_compute_queues_one_task_for_the_missing_presets(api: Api, presets: dict[str, str]) -> None:
    song = api(
        'mutation { createItem(input: {title: "song"}) { ... on Item { id } } }', as_="alice"
    )
    item_id = song["createItem"]["id"]
    rms = analysis(api, presets["level"], outputId="level.rms")["id"]
    peak = analysis(api, presets["level"], outputId="level.max")["id"]
    picture = analysis(api, presets["waveform_simple"], renderType="IMAGE")["id"]
    for analysis_id in (rms, peak, picture):
        api(TRACK, {"item": item_id, "input": {"analysisId": analysis_id}}, as_="alice")

    assert api(COMPUTE, {"item": item_id})["computeAnalysisTracks"]["__typename"] == (
        "PermissionDenied"
    )
    task = api(COMPUTE, {"item": item_id}, as_="alice")["computeAnalysisTracks"]
    assert task["status"] == "PENDING"
    wanted = {presets["level"], presets["waveform_simple"]}
    assert {p["id"] for p in task["experience"]["presets"]} == wanted
    again = api(COMPUTE, {"item": item_id}, as_="alice")["computeAnalysisTracks"]
    assert again["__typename"] == "ConflictError"  # the first task has not reached them yet


def test_private_tracks_and_delete_rules(api: Api, presets: dict[str, str]) -> None:
    rms = analysis(api, presets["level"], outputId="level.rms")["id"]
    song = api(
        'mutation { createItem(input: {title: "song"}) { ... on Item { id } } }', as_="alice"
    )
    item_id = song["createItem"]["id"]
    hidden = api(
        TRACK, {"item": item_id, "input": {"analysisId": rms, "isPublic": False}}, as_="bob"
    )
    hidden_id = hidden["createAnalysisTrack"]["id"]
    listed = "query($item: UUID!) { analysisTracks(item: $item) { totalCount } }"
    assert api(listed, {"item": item_id}, as_="alice")["analysisTracks"] == {"totalCount": 0}
    assert api(listed, {"item": item_id}, as_="bob")["analysisTracks"] == {"totalCount": 1}
    assert api(READ, {"id": hidden_id}, as_="alice")["analysisTrack"] is None
    on_item = "query($item: UUID!) { item(id: $item) { analysisTracks { id } } }"
    assert api(on_item, {"item": item_id}, as_="alice")["item"] == {"analysisTracks": []}
    assert api(on_item, {"item": item_id}, as_="bob")["item"] == {
        "analysisTracks": [{"id": hidden_id}]
    }

    delete = """mutation($id: UUID!) { %s(id: $id) { __typename } }"""
    refuse = """mutation($id: UUID!) { %s(id: $id) { __typename ... on Error { message } } }"""
    refused = api(refuse % "deleteAnalysis", {"id": rms}, as_="alice")["deleteAnalysis"]
    assert refused["__typename"] == "ConflictError"
    assert refused["message"].endswith("analysis tracks show this analysis")
    refused = api(refuse % "deletePreset", {"id": presets["level"]}, as_="admin")["deletePreset"]
    assert refused["__typename"] == "ConflictError"
    assert refused["message"].endswith("experiences or analyses use this preset")
    gone = api(delete % "deleteItem", {"id": item_id}, as_="alice")["deleteItem"]
    assert gone == {"__typename": "Deleted"}  # its tracks went with it
    assert api(delete % "deleteAnalysis", {"id": rms}, as_="alice")["deleteAnalysis"] == {
        "__typename": "Deleted"
    }
