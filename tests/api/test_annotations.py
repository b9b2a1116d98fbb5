"""Annotation tracks and annotations: CRUD, time ranges, overlap, tags."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.conftest import Api
from tests.db import factories as f

ANNOTATE = """
mutation($track: UUID!, $input: AnnotationInput!) {
  createAnnotation(trackId: $track, input: $input) {
    __typename
    ... on Annotation { id start stop tags { name } }
    ... on ValidationError { field message }
  }
}"""


@pytest.fixture
def track(api: Api, engine: Engine) -> str:
    with Session(engine) as session:
        item = f.item(session, "song", audio_duration=10.0, author_id=api.ids["alice"])
        session.commit()
        item_id = str(item.id)
    data = api(
        """mutation($item: UUID!) {
          createAnnotationTrack(itemId: $item, input: {title: "beats"}) {
            ... on AnnotationTrack { id overlapping item { title } } } }""",
        {"item": item_id},
        as_="alice",
    )["createAnnotationTrack"]
    assert data["item"] == {"title": "song"}
    assert data["overlapping"] is False
    return data["id"]


def annotate(api: Api, track: str, caller: str = "alice", **fields: Any) -> dict[str, Any]:
    return api(ANNOTATE, {"track": track, "input": fields}, as_=caller)["createAnnotation"]


def test_annotations_in_time_order(api: Api, track: str) -> None:
    annotate(api, track, start=2.0, stop=3.0, title="second")
    first = annotate(api, track, start=0.0, stop=2.0, tags=["onset"])  # touching is fine
    assert first["tags"] == [{"name": "onset"}]
    data = api(
        "query($id: UUID!) { annotationTrack(id: $id) { annotations { start stop } } }",
        {"id": track},
    )
    assert data["annotationTrack"]["annotations"] == [
        {"start": 0.0, "stop": 2.0},
        {"start": 2.0, "stop": 3.0},
    ]
    moved = api(
        """mutation($id: UUID!) { updateAnnotation(id: $id, input: {stop: 1.5}) {
          ... on Annotation { start stop } } }""",
        {"id": first["id"]},
        as_="alice",
    )
    assert moved["updateAnnotation"] == {"start": 0.0, "stop": 1.5}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"start": 3.0, "stop": 2.0}, "stop"),
        ({"start": -1.0, "stop": 2.0}, "start"),
        ({"start": 1.0, "stop": 11.0}, "stop"),
        ({"start": 1.0}, "stop"),
        ({"start": 4.5, "stop": 6.0}, "start"),  # overlaps 4..5
    ],
)
def test_invalid_ranges(api: Api, track: str, fields: dict[str, Any], field: str) -> None:
    annotate(api, track, start=4.0, stop=5.0)
    refused = annotate(api, track, **fields)
    assert refused["__typename"] == "ValidationError"
    assert refused["field"] == field


def test_only_the_track_author_annotates(api: Api, track: str) -> None:
    assert annotate(api, track, "bob", stop=1.0)["__typename"] == "PermissionDenied"
    note = annotate(api, track, stop=1.0)
    refused = api(
        "mutation($id: UUID!) { deleteAnnotation(id: $id) { __typename } }",
        {"id": note["id"]},
        as_="bob",
    )
    assert refused["deleteAnnotation"] == {"__typename": "PermissionDenied"}


def test_deleting_a_track_deletes_its_annotations(api: Api, track: str) -> None:
    note = annotate(api, track, stop=1.0)
    data = api(
        "mutation($id: UUID!) { deleteAnnotationTrack(id: $id) { __typename } }",
        {"id": track},
        as_="alice",
    )
    assert data["deleteAnnotationTrack"] == {"__typename": "Deleted"}
    gone = api("query($id: UUID!) { annotation(id: $id) { id } }", {"id": note["id"]})
    assert gone["annotation"] is None
