"""Export routes: annotation tracks and event/segment results as JAMS, SVL, EAF, Audacity
labels and CSV, parsed back exactly; access as for media (token, signature, 404)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.conftest import Api
from tests.db import factories as f
from timeside_gql.api.types.annotations import LabelFormat
from timeside_gql.core import hdf5
from timeside_gql.core.labels import FORMATS
from timeside_gql.core.results import AnalyzerResult, DataObject, IdMetadata, LabelMetadata
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer
from timeside_gql.services.signing import sign

# Exact in binary, in ms and in frames at 8 kHz; 2.0-3.0 overlaps 1.0-2.5.
SPANS = [(0.0, 1.0, "intro"), (1.0, 2.5, "verse, A"), (2.0, 3.0, "chœur"), (3.5, 3.5, "")]


@pytest.fixture
def track(api: Api, engine: Engine) -> str:
    with Session(engine) as session:
        item = f.item(
            session, "My song", audio_duration=4.0, samplerate=8000, author_id=api.ids["alice"]
        )
        session.commit()
        item_id = str(item.id)
    created = api(
        """mutation($item: UUID!) { createAnnotationTrack(itemId: $item,
          input: {title: "structure", overlapping: true, isPublic: false}) {
          ... on AnnotationTrack { id } } }""",
        {"item": item_id},
        as_="alice",
    )
    track_id = created["createAnnotationTrack"]["id"]
    for start, stop, title in SPANS:
        fields = {"start": start, "stop": stop, "title": title, "tags": [] if title else ["clap"]}
        api(
            """mutation($t: UUID!, $i: AnnotationInput!) {
              createAnnotation(trackId: $t, input: $i) { __typename } }""",
            {"t": track_id, "i": fields},
            as_="alice",
        )
    return track_id


EXPECTED = [(0.0, 1.0, "intro"), (1.0, 2.5, "verse, A"), (2.0, 3.0, "chœur"), (3.5, 3.5, "clap")]


def parse(fmt: str, body: str) -> list[tuple[float, float, str]]:
    """(start, stop, label) of every record of an export, whatever its format."""
    if fmt == "csv":
        return [
            (float(r["start"]), float(r["stop"]), r["label"])
            for r in csv.DictReader(io.StringIO(body))
        ]
    if fmt == "txt":
        return [
            (float(a), float(b), c) for a, b, c in (line.split("\t") for line in body.splitlines())
        ]
    if fmt == "jams":
        [annotation] = json.loads(body)["annotations"]
        return [(o["time"], o["time"] + o["duration"], o["value"]) for o in annotation["data"]]
    root = ET.fromstring(body)
    if fmt == "svl":
        rate = int(root.find("data/model").get("sampleRate"))
        return [
            (
                int(p.get("frame")) / rate,
                (int(p.get("frame")) + int(p.get("duration", 0))) / rate,
                p.get("label"),
            )
            for p in root.iter("point")
        ]
    slots = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")}
    return sorted(
        (
            slots[a.get("TIME_SLOT_REF1")] / 1000,
            slots[a.get("TIME_SLOT_REF2")] / 1000,
            a.findtext("ANNOTATION_VALUE"),
        )
        for a in root.iter("ALIGNABLE_ANNOTATION")
    )


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("csv", "text/csv; charset=utf-8"),
        ("txt", "text/plain; charset=utf-8"),
        ("jams", "application/json"),
        ("svl", "application/xml"),
        ("eaf", "application/xml"),
    ],
)
def test_annotation_track_exports(api: Api, track: str, fmt: str, media_type: str) -> None:
    response = api.client.get(
        f"/exports/annotation-tracks/{track}.{fmt}", headers=api.headers("alice")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.headers["content-disposition"] == f'attachment; filename="structure.{fmt}"'
    assert response.headers["cache-control"] == "private"  # as media: never in shared caches
    assert parse(fmt, response.text) == EXPECTED


def test_private_tracks_need_their_author_or_a_signature(api: Api, track: str) -> None:
    path = f"/exports/annotation-tracks/{track}.csv"
    assert api.client.get(path, headers=api.headers("bob")).status_code == 404
    assert api.client.get(path).status_code == 404
    assert api.client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
    signed = sign(api.client.app.state.settings, path, Viewer(user_id=api.ids["alice"]))
    assert api.client.get(f"{path}?{signed}").status_code == 200
    assert api.client.get(f"{path}?{signed}".replace(".csv", ".txt")).status_code == 403
    unknown = api.client.get(path.replace(".csv", ".doc"), headers=api.headers("alice"))
    assert unknown.status_code == 404 and "jams, svl, eaf, txt, csv" in unknown.text


@pytest.fixture
def stored_result(api: Api, engine: Engine, settings: Any) -> dict[str, str]:
    """A done result whose HDF5 (written by the core) holds a segment, an event and a
    framewise output, and a pending one."""
    segments = AnalyzerResult(
        "label",
        "segment",
        id_metadata=IdMetadata(id="sections", name="Sections"),
        data_object=DataObject(
            label=[0, 1],
            time=[0.0, 1.5],
            duration=[1.5, 2.0],
            label_metadata=LabelMetadata(label={0: "calm", 1: "loud"}),
        ),
    )
    events = AnalyzerResult(
        "value",
        "event",
        id_metadata=IdMetadata(id="hits"),
        data_object=DataObject(value=[0.5, 0.25], time=[0.75, 2.25]),
    )
    frames = AnalyzerResult("value", "framewise", id_metadata=IdMetadata(id="energy"))
    with Session(engine) as session:
        item = f.item(session, "Song", audio_duration=4.0, samplerate=8000)
        preset = f.preset(session, f.processor(session))
        other = f.preset(session, f.processor(session, "other"))
        relative = f"results/{item.id}/r.hdf5"
        (Path(settings.data_dir) / relative).parent.mkdir(parents=True)
        hdf5.write(Path(settings.data_dir) / relative, [segments, events, frames])
        done = f.result(session, item, preset, status=m.ResultStatus.DONE, hdf5_path=relative)
        pending = f.result(session, item, other)
        session.commit()
        return {"done": str(done.id), "pending": str(pending.id)}


def test_result_exports(api: Api, stored_result: dict[str, str]) -> None:
    base = f"/exports/results/{stored_result['done']}"
    sections = api.client.get(f"{base}.eaf?output=sections")
    assert sections.status_code == 200, sections.text
    assert parse("eaf", sections.text) == [(0.0, 1.5, "calm"), (1.5, 3.5, "loud")]
    assert sections.headers["content-disposition"] == 'attachment; filename="Song_sections.eaf"'
    hits = api.client.get(f"{base}.csv?output=hits")
    rows = list(csv.DictReader(io.StringIO(hits.text)))
    assert [(r["start"], r["stop"], r["label"]) for r in rows] == [
        ("0.75", "", "0.5"),
        ("2.25", "", "0.25"),
    ]
    svl = ET.fromstring(api.client.get(f"{base}.svl?output=hits").text)
    assert svl.find("display/layer").get("type") == "timeinstants"

    ambiguous = api.client.get(f"{base}.csv")
    assert ambiguous.status_code == 400 and "sections, hits" in ambiguous.text
    assert api.client.get(f"{base}.csv?output=energy").status_code == 404
    assert api.client.get(f"/exports/results/{stored_result['pending']}.csv").status_code == 404
    assert api.client.get(f"/exports/results/{UUID(int=1)}.csv").status_code == 404


def test_result_export_without_labels_or_file_answers_404(
    api: Api, engine: Engine, settings: Any
) -> None:
    """Nothing to export is a 404 as for an unknown output, a lost file too (not a 500)."""
    frames = AnalyzerResult("value", "framewise", id_metadata=IdMetadata(id="energy"))
    with Session(engine) as session:
        item = f.item(session, "Song", audio_duration=4.0, samplerate=8000)
        preset = f.preset(session, f.processor(session))
        relative = f"results/{item.id}/r.hdf5"
        (Path(settings.data_dir) / relative).parent.mkdir(parents=True)
        hdf5.write(Path(settings.data_dir) / relative, [frames])
        done = f.result(session, item, preset, status=m.ResultStatus.DONE, hdf5_path=relative)
        session.commit()
        path = f"/exports/results/{done.id}.csv"
    unlabelled = api.client.get(path)
    assert unlabelled.status_code == 404, unlabelled.text
    assert "no event or segment output" in unlabelled.text
    (Path(settings.data_dir) / relative).unlink()
    missing = api.client.get(path)
    assert missing.status_code == 404 and "missing" in missing.text


def test_graphql_gives_signed_export_urls(api: Api, track: str) -> None:
    assert {fmt.value for fmt in LabelFormat} == set(FORMATS)
    query = "query($id: UUID!) { annotationTrack(id: $id) { exportUrl(format: AUDACITY) } }"
    url = api(query, {"id": track}, as_="alice")["annotationTrack"]["exportUrl"]
    assert url.startswith(f"http://testserver/exports/annotation-tracks/{track}.txt?sig=")
    response = api.client.get(url)  # no header: the signature names alice
    assert response.status_code == 200
    assert parse("txt", response.text) == EXPECTED


def test_graphql_gives_result_export_urls(api: Api, stored_result: dict[str, str]) -> None:
    query = """query($done: UUID!, $pending: UUID!) {
      done: result(id: $done) { exportUrl(format: EAF, output: "sections") }
      pending: result(id: $pending) { exportUrl(format: CSV) } }"""
    data = api(query, {"done": stored_result["done"], "pending": stored_result["pending"]})
    assert data["pending"] == {"exportUrl": None}
    response = api.client.get(data["done"]["exportUrl"])
    assert response.status_code == 200
    assert parse("eaf", response.text) == [(0.0, 1.5, "calm"), (1.5, 3.5, "loud")]
