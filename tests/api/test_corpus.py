"""Corpus queries and annotation rules: tags, annotations across nested selections by tag and
time range, private tracks, links to results, overlap checks under concurrent writers."""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.api.conftest import Api
from tests.db import factories as f
from timeside_gql.db import models as m
from timeside_gql.db.engine import session_scope
from timeside_gql.db.selections import add_child
from timeside_gql.db.visibility import Viewer
from timeside_gql.services.annotations import create_annotation
from timeside_gql.services.errors import InvalidInput
from timeside_gql.services.inputs import AnnotationFields as AnnotationInput

ITEM = """mutation($input: ItemInput!) { createItem(input: $input) { ... on Item { id } } }"""
TRACK = """mutation($item: UUID!, $input: AnnotationTrackInput!) {
  createAnnotationTrack(itemId: $item, input: $input) { ... on AnnotationTrack { id } } }"""
ANNOTATE = """mutation($track: UUID!, $input: AnnotationInput!) {
  createAnnotation(trackId: $track, input: $input) {
    __typename
    ... on Annotation { id results { id } }
    ... on Error { message }
    ... on ValidationError { field }
  } }"""
ANNOTATIONS = """query($filter: AnnotationFilter, $first: Int, $after: String) {
  annotations(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { title start stop } } }"""


def item(api: Api, title: str, caller: str = "alice", **fields: Any) -> str:
    return api(ITEM, {"input": {"title": title, **fields}}, as_=caller)["createItem"]["id"]


def track(api: Api, item_id: str, caller: str = "alice", **fields: Any) -> str:
    variables = {"item": item_id, "input": fields}
    return api(TRACK, variables, as_=caller)["createAnnotationTrack"]["id"]


def annotate(api: Api, track_id: str, caller: str = "alice", **fields: Any) -> dict[str, Any]:
    return api(ANNOTATE, {"track": track_id, "input": fields}, as_=caller)["createAnnotation"]


def titles(api: Api, filter: dict[str, Any], caller: str | None = None) -> list[str]:
    data = api(ANNOTATIONS, {"filter": filter}, as_=caller)["annotations"]
    assert data["totalCount"] == len(data["nodes"])
    return sorted(node["title"] for node in data["nodes"])


def test_items_by_tags(api: Api) -> None:
    item(api, "both", tags=["voice", "live"])
    item(api, "voice only", tags=["voice"])
    item(api, "live only", tags=["live"])
    query = "query($tags: [String!]) { items(filter: {tags: $tags}) { nodes { title } } }"

    def found(tags: list[str]) -> list[str]:
        return sorted(n["title"] for n in api(query, {"tags": tags})["items"]["nodes"])

    assert found(["voice", "live"]) == ["both"]
    assert found(["voice"]) == ["both", "voice only"]
    assert found(["voice", "unknown"]) == []
    assert found([]) == ["both", "live only", "voice only"]


@pytest.fixture
def corpus(api: Api, engine: Engine) -> dict[str, str]:
    """outer ⊃ {direct item, inner ⊃ {nested item}}; a third item stays outside."""
    ids = {name: item(api, name) for name in ("direct", "nested", "outside")}
    with Session(engine) as session:
        items = {name: session.get(m.Item, UUID(id)) for name, id in ids.items()}
        inner = f.selection(session, "inner", [items["nested"]])
        outer = f.selection(session, "outer", [items["direct"]])
        add_child(session, outer, inner.id)
        session.commit()
        ids["outer"], ids["inner"] = str(outer.id), str(inner.id)
    for name in ("direct", "nested", "outside"):
        ids[f"track:{name}"] = track(api, ids[name], title=name)
        annotate(api, ids[f"track:{name}"], title=f"{name} early solo", start=1, stop=2,
                 tags=["solo"])  # fmt: skip
        annotate(api, ids[f"track:{name}"], title=f"{name} late solo", start=8, stop=12,
                 tags=["solo", "loud"])  # fmt: skip
        annotate(api, ids[f"track:{name}"], title=f"{name} tutti", start=5, stop=6)
    return ids


def test_annotations_by_tag_and_time_across_nested_selections(
    api: Api, corpus: dict[str, str]
) -> None:
    in_outer = {"items": {"selection": corpus["outer"]}}
    assert titles(api, {**in_outer, "tags": ["solo"]}) == [
        "direct early solo",
        "direct late solo",
        "nested early solo",
        "nested late solo",
    ]
    # [start, stop] intersects: 8..12 overlaps 6..9; 5..6 touches 6; 1..2 ends before.
    window = {**in_outer, "start": 6.0, "stop": 9.0}
    assert titles(api, window) == [
        "direct late solo",
        "direct tutti",
        "nested late solo",
        "nested tutti",
    ]
    assert titles(api, {**window, "tags": ["solo", "loud"]}) == [
        "direct late solo",
        "nested late solo",
    ]
    assert titles(api, {"items": {"selection": corpus["inner"]}, "stop": 1.0}) == [
        "nested early solo"
    ]
    assert titles(api, {"track": corpus["track:outside"], "tags": ["loud"]}) == [
        "outside late solo"
    ]


def test_annotation_pages(api: Api, corpus: dict[str, str]) -> None:
    seen: list[str] = []
    after = None
    while True:
        variables = {"filter": {"tags": ["solo"]}, "first": 4, "after": after}
        page = api(ANNOTATIONS, variables)["annotations"]
        assert page["totalCount"] == 6
        seen += [node["title"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 6 and len(set(seen)) == 6


def test_private_tracks_stay_out_of_corpus_queries(api: Api, corpus: dict[str, str]) -> None:
    secret = track(api, corpus["direct"], "bob", title="bob's", isPublic=False)
    note = annotate(api, secret, "bob", title="bob solo", start=1, stop=2, tags=["solo"])
    in_outer = {"items": {"selection": corpus["outer"]}, "tags": ["solo"]}
    assert "bob solo" not in titles(api, in_outer, "alice")
    assert "bob solo" not in titles(api, in_outer)  # anonymous
    assert "bob solo" in titles(api, in_outer, "bob")
    assert "bob solo" in titles(api, in_outer, "admin")
    lookup = (
        "query($t: UUID!, $a: UUID!) { annotationTrack(id: $t) { id } annotation(id: $a) { id } }"
    )
    assert api(lookup, {"t": secret, "a": note["id"]}, as_="alice") == {
        "annotationTrack": None,
        "annotation": None,
    }
    on_item = """query($id: UUID!) { item(id: $id) { annotationTracks { title } } }"""
    seen = api(on_item, {"id": corpus["direct"]}, as_="alice")["item"]["annotationTracks"]
    assert seen == [{"title": "direct"}]


def test_annotations_link_to_results_of_their_item(
    api: Api, engine: Engine, corpus: dict[str, str]
) -> None:
    with Session(engine) as session:
        preset = f.preset(session, f.processor(session))
        items = {name: session.get(m.Item, UUID(corpus[name])) for name in ("direct", "outside")}
        own = f.result(session, items["direct"], preset, status=m.ResultStatus.DONE)
        other = f.result(session, items["outside"], preset, status=m.ResultStatus.DONE)
        own_id, other_id = str(own.id), str(other.id)
        session.commit()
    linked = annotate(
        api, corpus["track:direct"], title="from result", start=2, stop=3, resultIds=[own_id]
    )
    assert linked["results"] == [{"id": own_id}]
    refused = annotate(api, corpus["track:direct"], start=3, stop=4, resultIds=[other_id])
    assert refused == {
        "__typename": "ValidationError",
        "message": "results must belong to the track's item",
        "field": "resultIds",
    }
    api(
        "mutation($id: UUID!) { deleteResult(id: $id) { __typename } }",
        {"id": own_id},
        as_="alice",
    )
    kept = api(
        "query($id: UUID!) { annotation(id: $id) { title results { id } } }", {"id": linked["id"]}
    )
    assert kept["annotation"] == {"title": "from result", "results": []}


def test_track_made_exclusive_refuses_existing_overlaps(api: Api, corpus: dict[str, str]) -> None:
    loose = track(api, corpus["outside"], title="free", overlapping=True)
    annotate(api, loose, start=0, stop=4)
    annotate(api, loose, start=3, stop=5)
    change = """mutation($id: UUID!) { updateAnnotationTrack(id: $id, input: {overlapping: false}) {
      __typename ... on ValidationError { message } } }"""
    refused = api(change, {"id": loose}, as_="alice")["updateAnnotationTrack"]
    assert refused == {
        "__typename": "ValidationError",
        "message": "annotations of this track may not overlap",
    }


def test_unknown_duration_bounds_only_the_start(api: Api) -> None:
    unmeasured = track(api, item(api, "no duration yet"))
    assert annotate(api, unmeasured, start=0, stop=1e6)["__typename"] == "Annotation"
    assert annotate(api, unmeasured, start=-0.5, stop=1)["field"] == "start"


def test_concurrent_writers_cannot_both_overlap(engine: Engine) -> None:
    """The first writer holds the track (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite)
    until it commits; the second then sees its annotation and is refused."""
    with session_scope(engine) as session:
        owner = f.user(session, "writer")
        target = f.item(session, "song", audio_duration=10.0, author_id=owner.id)
        exclusive = f.add(session, m.AnnotationTrack(item_id=target.id, author_id=owner.id))
    viewer = Viewer(user_id=owner.id)
    inserted, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def first() -> None:
        with session_scope(engine) as session:
            create_annotation(session, viewer, exclusive.id, AnnotationInput(start=1.0, stop=3.0))
            inserted.set()
            release.wait(10)

    def second() -> None:
        inserted.wait(10)
        try:
            with session_scope(engine) as session:
                span = AnnotationInput(start=2.0, stop=4.0)
                outcome["second"] = create_annotation(session, viewer, exclusive.id, span)
        except InvalidInput as error:
            outcome["second"] = error

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inserted.wait(10)
    time.sleep(0.5)  # the second writer is now waiting for the track
    assert "second" not in outcome
    release.set()
    for thread in threads:
        thread.join(20)
    assert isinstance(outcome["second"], InvalidInput)
    with Session(engine) as session:
        spans = session.exec(select(m.Annotation.start, m.Annotation.stop)).all()
    assert [tuple(span) for span in spans] == [(1.0, 3.0)]
