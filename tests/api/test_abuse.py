"""Inputs a careless or hostile client sends: each answers a typed refusal (a payload member or
an error with ``extensions.code``), nothing private leaks, and the server keeps serving."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.api.conftest import Api
from tests.api.test_annotations import ANNOTATE
from tests.db import factories as f
from timeside_gql.db import models as m

CREATE_ITEM = """mutation($input: ItemInput!) { createItem(input: $input) {
  __typename ... on Item { id tags { name } } ... on ValidationError { message field } } }"""


def refusal(body: dict[str, Any]) -> dict[str, Any]:
    (error,) = body["errors"]
    return error  # type: ignore[no-any-return]


def test_strings_past_their_column_are_refused_typed(api: Api) -> None:
    for fields, field in (
        ({"title": "x" * 513}, "title"),
        ({"title": "ok", "artist": "x" * 257}, "artist"),
        ({"title": "ok", "tags": ["x" * 129]}, "tags"),
        ({"title": "ok", "tags": ["a", "  "]}, "tags"),
    ):
        refused = api(CREATE_ITEM, {"input": fields}, as_="alice")["createItem"]
        assert (refused["__typename"], refused["field"]) == ("ValidationError", field), fields
    created = api(CREATE_ITEM, {"input": {"title": "x" * 512}}, as_="alice")["createItem"]
    assert created["__typename"] == "Item"


def test_arguments_past_the_limits_are_refused_with_a_code(api: Api) -> None:
    for query, variables, message in (
        (
            "query($s: String) { items(filter: {search: $s}) { nodes { id } } }",
            {"s": "x" * (10 << 20)},
            "search is longer than 256 characters",
        ),
        (
            "query($t: [String!]) { items(filter: {tags: $t}) { nodes { id } } }",
            {"t": [f"t{i}" for i in range(10_000)]},
            "tags has more than 100 entries",
        ),
        (
            "query($t: [String!]) { annotations(filter: {tags: $t}) { nodes { id } } }",
            {"t": [f"t{i}" for i in range(101)]},
            "tags has more than 100 entries",
        ),
        (
            'mutation($d: String) { createItem(input: {title: "t", description: $d}) '
            "{ __typename } }",
            {"d": "x" * 65537},
            "description is longer than 65536 characters",
        ),
    ):
        error = refusal(api.raw(query, variables, as_="alice"))
        assert error["message"] == message
        assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_empty_tag_names_are_refused_in_annotations_as_in_create_tag(api: Api, track: str) -> None:
    refused = api(ANNOTATE, {"track": track, "input": {"stop": 1.0, "tags": [""]}}, as_="alice")
    assert refused["createAnnotation"] == {
        "__typename": "ValidationError",
        "field": "tags",
        "message": "a tag name cannot be empty",
    }
    tag = api('mutation { createTag(name: " ") { __typename ... on ValidationError { field } } }')
    assert tag == {"createTag": {"__typename": "PermissionDenied"}}  # anonymous: refused first
    tag = api(
        'mutation { createTag(name: " ") { __typename ... on ValidationError { field } } }',
        as_="alice",
    )
    assert tag == {"createTag": {"__typename": "ValidationError", "field": "name"}}


def test_token_lifetime_is_bounded(api: Api) -> None:
    create = """mutation($days: Int) { createToken(name: "script", expiresDays: $days) {
      __typename ... on ValidationError { message field } } }"""
    for days in (1_000_000_000, 0, 36_501):
        refused = api(create, {"days": days}, as_="alice")["createToken"]
        assert refused == {
            "__typename": "ValidationError",
            "message": "expiresDays must be between 1 and 36500",
            "field": "expiresDays",
        }
    assert api(create, {"days": 36_500}, as_="alice")["createToken"] == {
        "__typename": "LoginSuccess"
    }


def test_a_subscription_sent_by_post_is_refused(api: Api) -> None:
    document = (
        'subscription { taskUpdates(taskId: "00000000-0000-0000-0000-000000000000") { kind } }'
    )
    response = api.client.post("/graphql", json={"query": document}, headers=api.headers("alice"))
    assert response.status_code == 400
    error = refusal(response.json())
    assert error["message"] == "subscriptions are not allowed when using POST"
    assert error["extensions"]["code"] == "BAD_REQUEST"


def wav(bits: int) -> bytes:
    """A PCM WAV header claiming ``bits`` per sample, and 400 bytes of silence."""
    data = b"\0" * 400
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000 * bits // 8, bits // 8, bits)
    return (
        b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
        b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
    )


UPLOAD = """mutation($file: Upload!) { createItem(input: {title: "x"}, file: $file) {
  __typename ... on MediaRefusedError { message reason } } }"""


def upload(api: Api, name: str, content: bytes) -> dict[str, Any]:
    operations = {"query": UPLOAD, "variables": {"file": None}}
    response = api.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (name, content)},
        headers=api.headers("alice"),
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["createItem"]  # type: ignore[no-any-return]


def test_refused_uploads_say_why_without_the_servers_paths(api: Api, settings: Any) -> None:
    zero_bits = upload(api, "zero.wav", wav(0))
    assert zero_bits["__typename"] == "MediaRefusedError" and zero_bits["reason"] == "NotAudio"
    assert zero_bits["message"].startswith("zero.wav: not an audio file")
    empty = upload(api, "empty.wav", b"")
    assert empty == {
        "__typename": "MediaRefusedError",
        "message": "empty.wav: not an audio file (empty file)",
        "reason": "NotAudio",
    }
    root = str(settings.data_dir.resolve())
    assert root not in json.dumps([zero_bits, empty])
    assert upload(api, "ok.wav", wav(16))["__typename"] == "Item"


# ---------------------------------------------------------------------------------------------
# Tags: visible through what carries them, gone when nothing does

TAGS = "{ tags { nodes { name } } }"


def names(api: Api, caller: str | None = None) -> set[str]:
    return {node["name"] for node in api(TAGS, as_=caller)["tags"]["nodes"]}


@pytest.fixture
def track(api: Api, engine: Engine) -> str:
    """A private annotation track of alice's on her private item."""
    with Session(engine) as session:
        item = f.item(
            session, "song", audio_duration=10.0, author_id=api.ids["alice"], is_public=False
        )
        session.commit()
        item_id = str(item.id)
    created = api(
        """mutation($item: UUID!) { createAnnotationTrack(itemId: $item, input: {title: "b"}) {
          ... on AnnotationTrack { id } } }""",
        {"item": item_id},
        as_="alice",
    )
    return created["createAnnotationTrack"]["id"]  # type: ignore[no-any-return]


def test_tags_are_listed_only_through_what_the_viewer_sees(
    api: Api, track: str, engine: Engine
) -> None:
    private = {"title": "secret", "isPublic": False, "tags": ["acquisition-2025"]}
    public = {"title": "open", "isPublic": True, "tags": ["folk"]}
    item = api(CREATE_ITEM, {"input": private}, as_="alice")["createItem"]
    api(CREATE_ITEM, {"input": public}, as_="alice")
    note = {"stop": 1.0, "tags": ["whispered-name"]}
    assert api(ANNOTATE, {"track": track, "input": note}, as_="alice")["createAnnotation"]
    assert names(api) == names(api, "bob") == {"folk"}
    assert (
        names(api, "alice") == names(api, "admin") == {"folk", "acquisition-2025", "whispered-name"}
    )
    with Session(engine) as session:
        hidden = session.exec(select(m.Tag.id).where(m.Tag.name == "acquisition-2025")).one()
    assert api("query($id: UUID!) { tag(id: $id) { name } }", {"id": str(hidden)}) == {"tag": None}
    filtered = '{ items(filter: {tags: ["acquisition-2025"]}) { nodes { id } } }'
    assert api(filtered, as_="bob")["items"]["nodes"] == []
    assert api(filtered, as_="alice")["items"]["nodes"] == [{"id": item["id"]}]


def test_tags_nothing_carries_are_removed(api: Api, track: str, engine: Engine) -> None:
    item = api(CREATE_ITEM, {"input": {"title": "a", "tags": ["kept", "dropped"]}}, as_="alice")
    item_id = item["createItem"]["id"]
    api(CREATE_ITEM, {"input": {"title": "b", "tags": ["kept"]}}, as_="alice")
    many = [f"t{i}" for i in range(100)]
    note = api(ANNOTATE, {"track": track, "input": {"stop": 1.0, "tags": many}}, as_="alice")
    assert len(note["createAnnotation"]["tags"]) == 100

    def stored() -> set[str]:
        with Session(engine) as session:
            return set(session.exec(select(m.Tag.name)))

    assert stored() == {"kept", "dropped", *many}
    update = """mutation($id: UUID!, $tags: [String!]) {
      updateItem(id: $id, input: {tags: $tags}) { __typename } }"""
    api(update, {"id": item_id, "tags": ["kept", "new"]}, as_="alice")
    assert stored() == {"kept", "new", *many}
    delete_track = """mutation($id: UUID!) { deleteAnnotationTrack(id: $id) { __typename } }"""
    assert api(delete_track, {"id": track}, as_="alice") == {
        "deleteAnnotationTrack": {"__typename": "Deleted"}
    }
    assert stored() == {"kept", "new"}
    delete_item = """mutation($id: UUID!) { deleteItem(id: $id) { __typename } }"""
    api(delete_item, {"id": item_id}, as_="alice")
    assert stored() == {"kept"}  # still on the other item
