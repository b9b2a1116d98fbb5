"""Selections: items, nesting, recursive item resolution, cycle refusal."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api

SAVE = """
mutation($id: UUID!, $input: SelectionInput!) {
  updateSelection(id: $id, input: $input) {
    __typename
    ... on Selection { items { title } children { title } }
    ... on Error { message }
  }
}"""


def create(api: Api, **fields: Any) -> str:
    data = api(
        """mutation($input: SelectionInput!) {
          createSelection(input: $input) { ... on Selection { id } } }""",
        {"input": fields},
        as_="alice",
    )
    return data["createSelection"]["id"]


def item(api: Api, title: str) -> str:
    data = api(
        "mutation($t: String!) { createItem(input: {title: $t}) { ... on Item { id } } }",
        {"t": title},
        as_="alice",
    )
    return data["createItem"]["id"]


def test_all_items_are_recursive_and_deduplicated(api: Api) -> None:
    a, b, c = item(api, "a"), item(api, "b"), item(api, "c")
    leaf = create(api, title="leaf", itemIds=[b, c])
    middle = create(api, title="middle", itemIds=[a], childIds=[leaf])
    top = create(api, title="top", itemIds=[a, b], childIds=[middle, leaf])
    data = api(
        """query($id: UUID!) { selection(id: $id) {
          items { title } children { title } allItems { title } } }""",
        {"id": top},
    )["selection"]
    assert sorted(i["title"] for i in data["items"]) == ["a", "b"]
    assert sorted(s["title"] for s in data["children"]) == ["leaf", "middle"]
    assert sorted(i["title"] for i in data["allItems"]) == ["a", "b", "c"]
    filtered = api("query($s: UUID!) { items(filter: {selection: $s}) { totalCount } }", {"s": top})
    assert filtered["items"]["totalCount"] == 3


def test_update_replaces_items_and_children(api: Api) -> None:
    a, b = item(api, "a"), item(api, "b")
    child = create(api, title="child")
    parent = create(api, title="parent", itemIds=[a])
    data = api(SAVE, {"id": parent, "input": {"itemIds": [b], "childIds": [child]}}, as_="alice")
    assert data["updateSelection"] == {
        "__typename": "Selection",
        "items": [{"title": "b"}],
        "children": [{"title": "child"}],
    }
    data = api(SAVE, {"id": parent, "input": {"title": "renamed"}}, as_="alice")
    assert data["updateSelection"]["items"] == [{"title": "b"}]  # omitted: unchanged


def test_cycles_are_refused(api: Api) -> None:
    bottom = create(api, title="bottom")
    middle = create(api, title="middle", childIds=[bottom])
    top = create(api, title="top", childIds=[middle])
    for parent, child in ((bottom, top), (middle, middle)):
        data = api(SAVE, {"id": parent, "input": {"childIds": [child]}}, as_="alice")
        assert data["updateSelection"]["__typename"] == "CycleError"
    unchanged = api("query($id: UUID!) { selection(id: $id) { children { id } } }", {"id": bottom})
    assert unchanged["selection"]["children"] == []


def test_delete_keeps_items(api: Api) -> None:
    a = item(api, "a")
    selection = create(api, title="s", itemIds=[a])
    data = api(
        "mutation($id: UUID!) { deleteSelection(id: $id) { __typename } }",
        {"id": selection},
        as_="alice",
    )
    assert data["deleteSelection"]["__typename"] == "Deleted"
    assert api("query($id: UUID!) { item(id: $id) { title } }", {"id": a})["item"] == {"title": "a"}
