"""Items through GraphQL: create, read, filter, update, delete, and input validation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.conftest import Api
from tests.db import factories as f
from timeside_gql.db import models as m

CREATE = """
mutation($input: ItemInput!) {
  createItem(input: $input) {
    __typename
    ... on Item { id title artist isPublic author { username } tags { name } }
    ... on Error { message }
    ... on ValidationError { field }
  }
}"""

UPDATE = """
mutation($id: UUID!, $input: ItemInput!) {
  updateItem(id: $id, input: $input) {
    __typename
    ... on Item { id title album tags { name } }
    ... on Error { message }
  }
}"""

DELETE = """
mutation($id: UUID!) {
  deleteItem(id: $id) { __typename ... on Deleted { id } ... on Error { message } }
}"""


def test_item_crud(api: Api) -> None:
    created = api(
        CREATE, {"input": {"title": "Bolero", "artist": "Ravel", "tags": ["b", "a"]}}, as_="alice"
    )
    item = created["createItem"]
    assert item["__typename"] == "Item"
    assert item["author"] == {"username": "alice"}
    assert item["isPublic"] is True
    assert [t["name"] for t in item["tags"]] == ["a", "b"]

    fetched = api("query($id: UUID!) { item(id: $id) { title artist } }", {"id": item["id"]})
    assert fetched["item"] == {"title": "Bolero", "artist": "Ravel"}

    updated = api(
        UPDATE, {"id": item["id"], "input": {"album": "Orchestral", "tags": []}}, as_="alice"
    )
    assert updated["updateItem"] == {
        "__typename": "Item",
        "id": item["id"],
        "title": "Bolero",
        "album": "Orchestral",
        "tags": [],
    }

    removed = api(DELETE, {"id": item["id"]}, as_="alice")
    assert removed["deleteItem"] == {"__typename": "Deleted", "id": item["id"]}
    assert api("query($id: UUID!) { item(id: $id) { id } }", {"id": item["id"]})["item"] is None


@pytest.fixture
def catalogue(engine: Engine) -> None:
    with Session(engine) as session:
        youtube = f.add(session, m.Provider(pid="youtube", name="YouTube"))
        f.item(session, "Bolero", artist="Ravel", album="Orchestral works", sha1="a" * 40)
        f.item(
            session, "Clair de lune", artist="Debussy", external_id="xyz", provider_id=youtube.id
        )
        f.item(session, "100% Ravel_", artist="Various")
        session.commit()


@pytest.mark.parametrize(
    ("filter", "titles"),
    [
        ({"search": "ravel"}, {"Bolero", "100% Ravel_"}),
        ({"search": "ORCHESTRAL"}, {"Bolero"}),
        ({"search": "100%"}, {"100% Ravel_"}),
        ({"search": "l_"}, {"100% Ravel_"}),  # LIKE wildcards are literal
        ({"providerPid": "youtube"}, {"Clair de lune"}),
        ({"externalId": "xyz"}, {"Clair de lune"}),
        ({"sha1": "a" * 40}, {"Bolero"}),
        ({"search": "ravel", "sha1": "a" * 40}, {"Bolero"}),
        ({"providerPid": "deezer"}, set()),
    ],
)
def test_item_filters(api: Api, catalogue: None, filter: dict[str, str], titles: set[str]) -> None:
    data = api(
        "query($f: ItemFilter) { items(filter: $f) { totalCount nodes { title } } }", {"f": filter}
    )
    assert {node["title"] for node in data["items"]["nodes"]} == titles
    assert data["items"]["totalCount"] == len(titles)


PAGE = """
query($first: Int, $after: String) {
  items(first: $first, after: $after) {
    totalCount edges { cursor node { title } } pageInfo { hasNextPage endCursor }
  }
}"""


def test_pages_walk_every_item_once_newest_first(api: Api, engine: Engine) -> None:
    with Session(engine) as session:
        for index in range(7):
            f.item(session, f"item {index}")
        session.commit()
    seen, after = [], None
    while True:
        page = api(PAGE, {"first": 3, "after": after})["items"]
        seen += [edge["node"]["title"] for edge in page["edges"]]
        assert page["totalCount"] == 7
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert seen == [f"item {index}" for index in reversed(range(7))]


def test_page_size_is_bounded(api: Api) -> None:
    refused = api.raw(PAGE, {"first": 101})
    assert refused["errors"][0]["message"] == "`first` must be between 0 and 100"
    assert api(PAGE, {"first": 0})["items"]["edges"] == []


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"title": None}, "title"),
        ({"sourceUrl": "file:///etc/passwd"}, "sourceUrl"),
        ({"pictureUrl": "not a url"}, "pictureUrl"),
        ({"isPublic": None}, "isPublic"),
    ],
)
def test_invalid_item_input(api: Api, input: dict[str, Any], field: str) -> None:
    refused = api(CREATE, {"input": input}, as_="alice")["createItem"]
    assert refused["__typename"] == "ValidationError"
    assert refused["field"] == field


def test_unknown_provider(api: Api) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    refused = api(CREATE, {"input": {"providerId": missing}}, as_="alice")["createItem"]
    assert refused == {"__typename": "NotFoundError", "message": f"Provider {missing} not found"}
