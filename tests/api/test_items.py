"""Items through GraphQL: create, read, filter, update, delete, and input validation."""

from __future__ import annotations

from tests.api.conftest import Api

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
