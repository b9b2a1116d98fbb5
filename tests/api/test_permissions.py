"""The permission matrix: a private object is invisible to everyone but its author and admins,
in lists, nested fields, lookups and mutations; only its author or an admin changes it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.conftest import Api
from tests.db import factories as f
from timeside_gql.db import models as m

# kind -> (lookup field, connection field)
KINDS = {
    "item": ("item", "items"),
    "selection": ("selection", "selections"),
    "experience": ("experience", "experiences"),
    "task": ("task", "tasks"),
    "result": ("result", "results"),
    "track": ("annotationTrack", "annotationTracks"),
}


def seed(engine: Engine, alice: Any) -> dict[str, Any]:
    """Alice's objects: each kind once public and once private (a result is private through
    its item). Public containers hold the private objects, to probe nested fields."""
    with Session(engine, expire_on_commit=False) as session:
        ids: dict[str, Any] = {}
        processor = f.processor(session)
        preset = f.preset(session, processor)
        for scope, public in (("public", True), ("private", False)):
            item = f.item(session, f"{scope} item", author_id=alice, is_public=public)
            ids[f"{scope} item"] = item.id
            ids[f"{scope} result"] = f.result(session, item, preset).id
            experience = f.add(
                session, m.Experience(title=scope, author_id=alice, is_public=public)
            )
            ids[f"{scope} experience"] = experience.id
            f.add(
                session,
                m.ExperiencePreset(experience_id=experience.id, preset_id=preset.id, position=0),
            )
            ids[f"{scope} selection"] = f.add(
                session, m.Selection(title=scope, author_id=alice, is_public=public)
            ).id
            ids[f"{scope} task"] = f.add(
                session,
                m.Task(
                    experience_id=experience.id, item_id=item.id, author_id=alice, is_public=public
                ),
            ).id
        public_item = ids["public item"]
        ids["public track"] = f.add(
            session, m.AnnotationTrack(item_id=public_item, author_id=alice, title="public")
        ).id
        ids["private track"] = f.add(
            session,
            m.AnnotationTrack(
                item_id=public_item, author_id=alice, title="private", is_public=False
            ),
        ).id
        # The public selection lists both items and nests the private selection.
        f.add(session, m.SelectionItem(selection_id=ids["public selection"], item_id=public_item))
        f.add(
            session,
            m.SelectionItem(selection_id=ids["public selection"], item_id=ids["private item"]),
        )
        f.add(
            session,
            m.SelectionChild(parent_id=ids["public selection"], child_id=ids["private selection"]),
        )
        # A public task run on the private item, with a job on it.
        ids["public task on private item"] = f.add(
            session,
            m.Task(
                experience_id=ids["public experience"],
                item_id=ids["private item"],
                author_id=alice,
            ),
        ).id
        f.add(
            session, m.Job(task_id=ids["public task on private item"], item_id=ids["private item"])
        )
        session.commit()
    return {key: str(value) for key, value in ids.items()}


@pytest.fixture
def objects(api: Api, engine: Engine) -> dict[str, Any]:
    return seed(engine, api.ids["alice"])


def listed(api: Api, field: str, caller: str | None) -> set[str]:
    data = api(f"{{ {field}(first: 100) {{ nodes {{ id }} }} }}", as_=caller)
    return {node["id"] for node in data[field]["nodes"]}


def looked_up(api: Api, field: str, id: str, caller: str | None) -> bool:
    data = api(f"query($id: UUID!) {{ {field}(id: $id) {{ id }} }}", {"id": id}, as_=caller)
    return data[field] is not None


CALLERS = {None: False, "bob": False, "alice": True, "admin": True}  # caller -> sees private


@pytest.mark.parametrize("kind", KINDS)
def test_lists_and_lookups(api: Api, objects: dict[str, Any], kind: str) -> None:
    lookup, connection = KINDS[kind]
    public, private = objects[f"public {kind}"], objects[f"private {kind}"]
    for caller, sees_private in CALLERS.items():
        ids = listed(api, connection, caller)
        assert public in ids, caller
        assert (private in ids) is sees_private, caller
        assert looked_up(api, lookup, public, caller), caller
        assert looked_up(api, lookup, private, caller) is sees_private, caller


NESTED = """
query($selection: UUID!, $item: UUID!, $task: UUID!) {
  selection(id: $selection) { items { id } allItems { id } children { id } }
  item(id: $item) { annotationTracks { id } }
  task(id: $task) { item { id } jobs { item { id } } }
}"""


@pytest.mark.parametrize(
    ("caller", "sees_private"), [(None, False), ("bob", False), ("alice", True)]
)
def test_nested_fields(
    api: Api, objects: dict[str, Any], caller: str | None, sees_private: bool
) -> None:
    variables = {
        "selection": objects["public selection"],
        "item": objects["public item"],
        "task": objects["public task on private item"],
    }
    data = api(NESTED, variables, as_=caller)
    private_item = {"id": objects["private item"]}
    assert (private_item in data["selection"]["items"]) is sees_private
    assert (private_item in data["selection"]["allItems"]) is sees_private
    assert ({"id": objects["private selection"]} in data["selection"]["children"]) is sees_private
    tracks = data["item"]["annotationTracks"]
    assert ({"id": objects["private track"]} in tracks) is sees_private
    assert (data["task"]["item"] == private_item) is sees_private
    assert (data["task"]["jobs"][0]["item"] == private_item) is sees_private


UPDATES = {
    "item": ("updateItem", "ItemInput", {"title": "mine now"}),
    "selection": ("updateSelection", "SelectionInput", {"title": "mine now"}),
    "experience": ("updateExperience", "ExperienceInput", {"title": "mine now"}),
    "task": ("updateTask", "TaskInput", {"isPublic": True}),
    "track": ("updateAnnotationTrack", "AnnotationTrackInput", {"title": "mine now"}),
}
DELETES = {
    "item": "deleteItem",
    "selection": "deleteSelection",
    "experience": "deleteExperience",
    "task": "deleteTask",
    "result": "deleteResult",
    "track": "deleteAnnotationTrack",
}


def update(api: Api, kind: str, id: str, caller: str) -> str:
    field, input_type, values = UPDATES[kind]
    query = f"""mutation($id: UUID!, $input: {input_type}!) {{
      {field}(id: $id, input: $input) {{ __typename }} }}"""
    return api(query, {"id": id, "input": values}, as_=caller)[field]["__typename"]


def delete(api: Api, kind: str, id: str, caller: str) -> str:
    field = DELETES[kind]
    query = f"mutation($id: UUID!) {{ {field}(id: $id) {{ __typename }} }}"
    return api(query, {"id": id}, as_=caller)[field]["__typename"]


@pytest.mark.parametrize("kind", UPDATES)
def test_others_cannot_update(api: Api, objects: dict[str, Any], kind: str) -> None:
    assert update(api, kind, objects[f"private {kind}"], "bob") == "NotFoundError"
    assert update(api, kind, objects[f"public {kind}"], "bob") == "PermissionDenied"
    assert update(api, kind, objects[f"private {kind}"], "alice") != "NotFoundError"


@pytest.mark.parametrize("kind", DELETES)
def test_others_cannot_delete(api: Api, objects: dict[str, Any], kind: str) -> None:
    private, public = objects[f"private {kind}"], objects[f"public {kind}"]
    assert delete(api, kind, private, "bob") == "NotFoundError"
    assert delete(api, kind, public, "bob") == "PermissionDenied"
    assert looked_up(api, KINDS[kind][0], private, "alice")
    assert looked_up(api, KINDS[kind][0], public, "alice")


def test_admin_changes_anything(api: Api, objects: dict[str, Any]) -> None:
    assert update(api, "item", objects["private item"], "admin") == "Item"
    assert delete(api, "track", objects["private track"], "admin") == "Deleted"


def test_private_objects_cannot_be_referenced(api: Api, objects: dict[str, Any]) -> None:
    selection = api(
        """mutation($items: [UUID!]) {
          createSelection(input: {title: "b", itemIds: $items}) {
            __typename ... on NotFoundError { id } } }""",
        {"items": [objects["public item"], objects["private item"]]},
        as_="bob",
    )["createSelection"]
    assert selection == {"__typename": "NotFoundError", "id": objects["private item"]}
    task = api(
        """mutation($experience: UUID!, $item: UUID!) {
          createTask(input: {experienceId: $experience, itemId: $item}) { __typename } }""",
        {"experience": objects["private experience"], "item": objects["public item"]},
        as_="bob",
    )["createTask"]
    assert task == {"__typename": "NotFoundError"}
    track = api(
        """mutation($item: UUID!) {
          createAnnotationTrack(itemId: $item, input: {title: "b"}) { __typename } }""",
        {"item": objects["private item"]},
        as_="bob",
    )["createAnnotationTrack"]
    assert track == {"__typename": "NotFoundError"}


def test_anonymous_cannot_write(api: Api) -> None:
    data = api(
        'mutation { createItem(input: {title: "x"}) { __typename ... on Error { message } } }'
    )
    assert data["createItem"] == {
        "__typename": "PermissionDenied",
        "message": "log in to change data",
    }
