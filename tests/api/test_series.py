"""Data for players end to end: results computed by the core pipeline on a synthesized sine,
stored by the jobs layer, read through GraphQL (waveform, series, global values, outputs)."""

from __future__ import annotations

import itertools
import math
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.conftest import Api, make_settings, serve
from tests.api.test_statements import counting
from timeside_gql.core import pipeline, samples
from timeside_gql.core.registry import all_processors
from timeside_gql.db import models as m
from timeside_gql.db.presets import preset_for
from timeside_gql.db.processors import sync_processors
from timeside_gql.jobs.results import store_outcome, upsert_results
from timeside_gql.settings import Settings

SR = 22050
SECONDS = 4.0
AMPLITUDE = 0.5
PRESETS = ("waveform_analyzer", "level", "loudness_itu")
CAP = 2000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, max_series_points=CAP)


@pytest.fixture(scope="module")
def sine(tmp_path_factory: pytest.TempPathFactory) -> list[pipeline.PresetOutcome]:
    """The core's results on a 440 Hz sine at amplitude 0.5 (computed once)."""
    path = tmp_path_factory.mktemp("audio") / "sine.wav"
    samples.write(path, samples.sine(440.0, SECONDS, SR, AMPLITUDE), SR)
    outcomes = pipeline.run(path, [(pid, {}) for pid in PRESETS])
    assert all(outcome.ok for outcome in outcomes)
    return outcomes


@dataclass
class Stored:
    item_id: uuid.UUID
    results: dict[str, uuid.UUID]  # pid -> result id


def store(
    engine: Engine,
    settings: Settings,
    outcomes: list[pipeline.PresetOutcome],
    author_id: uuid.UUID,
    *,
    title: str = "sine",
) -> Stored:
    """A private item of ``author_id`` with the results stored as a job stores them."""
    with Session(engine, expire_on_commit=False) as session:
        processors = {p.pid: p for p in sync_processors(session, all_processors())}
        item = m.Item(title=title, author_id=author_id, is_public=False)
        session.add(item)
        presets = [preset(session, processors[o.pid], o.params) for o in outcomes]
        session.flush()
        rows = upsert_results(session, item.id, [p.id for p in presets])
        for preset_row, outcome in zip(presets, outcomes, strict=True):
            store_outcome(session, rows[preset_row.id], outcome, data_dir=settings.data_dir)
        session.commit()
        pairs = zip(outcomes, presets, strict=True)
        return Stored(item.id, {o.pid: rows[p.id].id for o, p in pairs})


def preset(session: Session, processor: m.Processor, params: dict[str, Any]) -> m.Preset:
    return preset_for(session, processor, params)


@pytest.fixture
def stored(api: Api, engine: Engine, settings: Settings, sine: Any) -> Stored:
    return store(engine, settings, sine, api.ids["alice"])


WAVEFORM = """
query($id: UUID!, $start: Float, $stop: Float, $pixels: Int!) {
  item(id: $id) {
    waveform(start: $start, stop: $stop, pixels: $pixels) {
      start stop step level samplesPerPeak times min max channels { min max } resultId
    }
  }
}"""


def waveform(api: Api, stored: Stored, **window: Any) -> dict[str, Any]:
    variables = {"id": str(stored.item_id), "pixels": 1000, **window}
    return api(WAVEFORM, variables, as_="alice")["item"]["waveform"]


def test_waveform_of_a_sine(api: Api, stored: Stored) -> None:
    # 4 s at 22050 Hz: 345 buckets of 256 samples at level 0, 87 of 1024 at level 1
    full = waveform(api, stored, pixels=100)
    assert (full["level"], full["samplesPerPeak"], len(full["times"])) == (0, 256, 100)
    assert full["resultId"] == str(stored.results["waveform_analyzer"])
    np.testing.assert_allclose(full["min"], -AMPLITUDE, atol=2e-3)
    np.testing.assert_allclose(full["max"], AMPLITUDE, atol=2e-3)
    assert full["channels"] == [{"min": full["min"], "max": full["max"]}]  # mono downmix
    assert (full["start"], full["stop"]) == (0.0, pytest.approx(SECONDS))
    assert np.all(np.diff(full["times"]) > 0) and full["times"][-1] < SECONDS

    coarse = waveform(api, stored, pixels=50)
    assert (coarse["level"], coarse["samplesPerPeak"], len(coarse["times"])) == (1, 1024, 50)
    np.testing.assert_allclose(coarse["max"], AMPLITUDE, atol=2e-3)

    zoom = waveform(api, stored, start=1.0, stop=1.5, pixels=1000)
    bucket = 256 / SR  # fewer buckets than pixels: level 0 as it is
    first, last = math.floor(1.0 / bucket), math.ceil(1.5 / bucket)
    assert zoom["level"] == 0 and len(zoom["times"]) == last - first
    assert zoom["times"][0] == pytest.approx((first + 0.5) * bucket)
    assert zoom["step"] == pytest.approx(bucket)
    np.testing.assert_allclose(zoom["min"], -AMPLITUDE, atol=2e-3)


def test_waveform_per_channel(api: Api, engine: Engine, settings: Settings, tmp_path: Path) -> None:
    left, right = samples.sine(440.0, 2.0, SR, 0.5), samples.sine(220.0, 2.0, SR, 0.25)
    path = samples.write(tmp_path / "stereo.wav", np.concatenate([left, right]), SR)
    outcomes = pipeline.run(path, [("waveform_analyzer", {"downmix": False})])
    stored = store(engine, settings, outcomes, api.ids["alice"], title="stereo")
    drawn = waveform(api, stored, pixels=40)
    first, second = drawn["channels"]
    np.testing.assert_allclose(first["max"], 0.5, atol=2e-3)
    np.testing.assert_allclose(second["min"], -0.25, atol=2e-3)
    assert drawn["max"] == first["max"] and drawn["min"] == first["min"]  # over both channels
    assert len(drawn["times"]) == len(second["max"]) == 40


def test_waveform_arguments_are_checked(api: Api, stored: Stored) -> None:
    for window, message in (
        ({"pixels": 0}, "pixels must be between 1 and 2000"),
        ({"pixels": CAP + 1}, "pixels must be between 1 and 2000"),
        ({"start": 2.0, "stop": 1.0}, "start (2.0) is after stop (1.0)"),
    ):
        body = api.raw(WAVEFORM, {"id": str(stored.item_id), "pixels": 10, **window}, as_="alice")
        (error,) = body["errors"]
        assert error["message"].startswith(message)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    for window in ({"start": -1e308, "stop": 1e308}, {"start": 0.0, "stop": 1e10}):
        body = api.raw(WAVEFORM, {"id": str(stored.item_id), "pixels": 10, **window}, as_="alice")
        (error,) = body["errors"]
        assert error["message"].startswith("start and stop must be numbers of seconds within")
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    empty = waveform(api, stored, start=10.0, stop=20.0)  # after the end: nothing to draw
    assert (empty["times"], empty["min"]) == ([], [])


VALUES = """
query($id: UUID!) {
  result(id: $id) {
    status
    value
    outputs { id unit timeMode dataMode count dimensions value }
  }
}"""


def test_global_values_of_level_and_loudness(api: Api, stored: Stored) -> None:
    level = api(VALUES, {"id": str(stored.results["level"])}, as_="alice")["result"]
    peak_db = 20 * math.log10(AMPLITUDE)
    assert level["value"] == pytest.approx(peak_db, abs=0.01)  # level.max, the main output
    query = 'query($id: UUID!) { result(id: $id) { value(output: "level.max") } }'
    peak = api(query, {"id": str(stored.results["level"])}, as_="alice")["result"]["value"]
    assert peak == level["value"]
    rms = next(o for o in level["outputs"] if o["id"] == "level.rms")
    assert rms["value"] == pytest.approx(peak_db - 10 * math.log10(2), abs=0.01)
    assert (rms["unit"], rms["timeMode"], rms["count"], rms["dimensions"]) == (
        "dBFS",
        "global",
        1,
        1,
    )

    audio = samples.sine(440.0, SECONDS, SR, AMPLITUDE)[0].astype(np.float64)
    reference = pyloudnorm.Meter(SR).integrated_loudness(audio)  # BS.1770 by another hand
    loudness = api(VALUES, {"id": str(stored.results["loudness_itu"])}, as_="alice")["result"]
    outputs = {o["id"]: o for o in loudness["outputs"]}
    assert outputs["loudness_itu.integrated"]["value"] == pytest.approx(reference, abs=0.1)
    assert loudness["value"] == outputs["loudness_itu.integrated"]["value"]
    short_term = outputs["loudness_itu.short_term"]
    assert (short_term["timeMode"], short_term["value"]) == ("framewise", None)
    assert short_term["count"] > 30  # 10 Hz over 4 s


SERIES = """
query($id: UUID!, $output: String, $start: Float, $stop: Float, $max: Int!) {
  result(id: $id) {
    series(output: $output, start: $start, stop: $stop, maxPoints: $max) {
      output unit timeMode start stop count truncated reduction step dimensions
      times values min max labels durations
    }
  }
}"""


def series(api: Api, result_id: uuid.UUID, **args: Any) -> dict[str, Any]:
    variables = {"id": str(result_id), "max": 1000, **args}
    return api(SERIES, variables, as_="alice")["result"]["series"]


def test_series_of_a_feature_and_of_peaks(api: Api, stored: Stored) -> None:
    loudness = stored.results["loudness_itu"]
    full = series(api, loudness, output="loudness_itu.momentary")
    assert full["reduction"] == "none" and full["count"] == len(full["times"]) > 30
    np.testing.assert_allclose(np.diff(full["times"]), 0.1, atol=1e-9)  # 10 Hz, frame times
    merged = series(api, loudness, output="loudness_itu.momentary", max=5)
    assert len(merged["times"]) == 5 and merged["reduction"] == "mean"
    assert merged["count"] == full["count"]
    # every point is the mean of its frames
    values, edges = np.array(full["values"]), np.arange(6) * full["count"] // 5
    means = [values[a:b].mean() for a, b in itertools.pairwise(edges)]
    np.testing.assert_allclose(merged["values"], means)

    window = series(api, loudness, output="loudness_itu.momentary", start=1.0, stop=2.0)
    assert window["times"] == pytest.approx([1.0 + 0.1 * k for k in range(10)])
    assert (window["start"], window["stop"]) == (1.0, 2.0)

    peaks = series(api, stored.results["waveform_analyzer"], max=10)
    assert (peaks["output"], peaks["reduction"], peaks["values"]) == (
        "waveform_analyzer",
        "minmax",
        None,
    )
    np.testing.assert_allclose(peaks["max"], AMPLITUDE, atol=2e-3)


def test_series_errors(api: Api, stored: Stored) -> None:
    loudness = str(stored.results["loudness_itu"])
    for args, message in (
        ({"max": 0}, "maxPoints must be between 1 and 2000, not 0"),
        ({"max": CAP + 1}, "maxPoints must be between 1 and 2000, not 2001"),
        ({"start": 3.0, "stop": 1.0}, "start (3.0) is after stop (1.0)"),
        ({"output": "nope"}, "no output 'nope' in this result; it has loudness_itu.integrated"),
    ):
        body = api.raw(SERIES, {"id": loudness, "max": 10, **args}, as_="alice")
        assert body["errors"][0]["message"].startswith(message), body
        assert body["data"]["result"]["series"] is None
    body = api.raw(
        'query($id: UUID!) { result(id: $id) { value(output: "loudness_itu.momentary") } }',
        {"id": loudness},
        as_="alice",
    )
    assert "framewise output: read it with `series`" in body["errors"][0]["message"]


def test_results_not_done_read_as_null(api: Api, engine: Engine, stored: Stored) -> None:
    with Session(engine) as session:
        row = session.get(m.Result, stored.results["level"])
        assert row is not None
        row.status = m.ResultStatus.RUNNING
        session.add(row)
        session.commit()
    query = """query($id: UUID!) { result(id: $id) {
        status value outputs { id } series(maxPoints: 10) { times } } }"""
    data = api(query, {"id": str(stored.results["level"])}, as_="alice")["result"]
    assert data == {"status": "RUNNING", "value": None, "outputs": None, "series": None}


def test_a_missing_file_is_reported(api: Api, settings: Settings, stored: Stored) -> None:
    for path in (settings.data_dir / "results" / str(stored.item_id)).glob("*.hdf5"):
        path.unlink()
    body = api.raw(
        "query($id: UUID!) { result(id: $id) { status value } }",
        {"id": str(stored.results["level"])},
        as_="alice",
    )
    assert body["data"] == {"result": {"status": "DONE", "value": None}}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND" and "is missing" in error["message"]


def test_private_results_are_not_readable_by_others(api: Api, stored: Stored) -> None:
    query = """query($item: UUID!, $result: UUID!) {
        item(id: $item) { waveform(pixels: 10) { max } }
        result(id: $result) { value series(maxPoints: 10) { times } } }"""
    variables = {"item": str(stored.item_id), "result": str(stored.results["level"])}
    assert api(query, variables, as_="bob") == {"item": None, "result": None}
    assert api(query, variables) == {"item": None, "result": None}
    mine = api(query, variables, as_="alice")
    assert len(mine["item"]["waveform"]["max"]) == 10 and mine["result"]["value"] < 0


LIST = """
query($first: Int!) {
  items(first: $first) { edges { node {
    title waveform(pixels: 20) { max }
    results { status series(maxPoints: 5) { times } }
  } } }
}"""


def test_statement_count_of_items_with_waveforms(
    api: Api, engine: Engine, settings: Settings, sine: Any
) -> None:
    api("{ me { id } }", as_="alice")  # a token's first use is recorded: keep it out of the count
    owner = api.ids["alice"]
    for index in range(2):
        store(engine, settings, sine, owner, title=f"a{index}")
    with counting(engine) as few:
        data = api(LIST, {"first": 10}, as_="alice")
    assert len(data["items"]["edges"]) == 2
    for index in range(4):
        store(engine, settings, sine, owner, title=f"b{index}")
    with counting(engine) as many:
        data = api(LIST, {"first": 10}, as_="alice")
    nodes = [edge["node"] for edge in data["items"]["edges"]]
    assert len(nodes) == 6
    assert all(len(node["waveform"]["max"]) == 20 for node in nodes)
    assert all(len(node["results"]) == 3 for node in nodes)
    assert len(few) == len(many)
    # the token, the page, then results once, with their presets and processors in one join
    reads = [s for s in many if s.split(None, 1)[0].upper() in {"SELECT", "WITH"}]
    assert len(reads) == 1 + 1 + 2, "\n\n".join(reads)


def test_one_query_asks_for_a_bounded_number_of_points_in_all(
    api: Api, engine: Engine, stored: Stored, tmp_path: Path
) -> None:
    """Each field is capped; aliases (or lists of items) add up to the per-query budget."""
    budget = Api(serve(make_settings(tmp_path, max_points_per_query=2500), engine), api.tokens, {})
    one = "a: waveform(pixels: 1000) { level }"
    two = one + " b: waveform(pixels: 1000) { level }"
    query = "query($id: UUID!) { item(id: $id) { %s } }"
    variables = {"id": str(stored.item_id)}
    assert budget(query % two, variables, as_="alice")["item"]["b"]["level"] == 0
    refused = budget.raw(
        query % (two + " c: waveform(pixels: 1000) { level }"), variables, as_="alice"
    )
    assert refused["data"]["item"]["c"] is None
    assert "more than 2500 series points" in refused["errors"][0]["message"]
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_an_answer_of_many_points_is_whole(api: Api, stored: Stored) -> None:
    """Past 10,000 points an answer is encoded in a worker thread (http/app.py): same JSON."""
    fields = " ".join(f"w{i}: waveform(pixels: 1000) {{ level max }}" for i in range(12))
    query = "query($id: UUID!) { item(id: $id) { " + fields + " } }"
    item = api(query, {"id": str(stored.item_id)}, as_="alice")["item"]
    assert len(item) == 12
    for wave in item.values():
        assert wave["level"] == 0 and len(wave["max"]) == 345
        np.testing.assert_allclose(wave["max"], AMPLITUDE, atol=2e-3)
