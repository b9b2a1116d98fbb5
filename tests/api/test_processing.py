"""Presets (validated, canonical, stored once), experiences (ordered presets), tasks, results."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.conftest import Api
from tests.db import factories as f
from timeside_gql.core.params import schema
from timeside_gql.core.processor import Processor
from timeside_gql.core.registry import unregister
from timeside_gql.db import models as m

PRESET = """
mutation($processor: UUID!, $parameters: JSON) {
  createPreset(processorId: $processor, parameters: $parameters) {
    __typename
    ... on Preset { id parameters parametersHash processor { pid } }
    ... on ValidationError { field message }
  }
}"""


@dataclass(frozen=True)
class _BlocksParams:
    blocksize: int
    mode: Literal["rms", "peak"]


@pytest.fixture
def processor(engine: Engine) -> Iterator[str]:
    """An installed processor (presets are validated against the code's schema) and its row."""

    class Blocks(Processor[_BlocksParams]):
        pid = "blocks"
        parameters_schema = schema(
            {
                "blocksize": {"type": "integer", "minimum": 16, "default": 1024},
                "mode": {"enum": ["rms", "peak"], "default": "rms"},
            }
        )

    try:
        with Session(engine) as session:
            row = f.add(
                session,
                m.Processor(
                    pid=Blocks.pid,
                    version=Blocks.version,
                    kind=m.ProcessorKind.ANALYZER,
                    parameters_schema=Blocks.parameters_schema,
                ),
            )
            session.commit()
            row_id = str(row.id)
        yield row_id
    finally:
        unregister(Blocks.pid)


def preset(api: Api, processor: str, parameters: dict[str, Any] | None) -> dict[str, Any]:
    variables = {"processor": processor, "parameters": parameters}
    return api(PRESET, variables, as_="alice")["createPreset"]


def test_preset_parameters_are_canonical_and_stored_once(api: Api, processor: str) -> None:
    first = preset(api, processor, {"mode": "peak"})
    assert first["parameters"] == {"blocksize": 1024, "mode": "peak"}
    assert first["processor"] == {"pid": "blocks"}
    same = preset(api, processor, {"blocksize": 1024, "mode": "peak"})
    assert same["id"] == first["id"]
    assert same["parametersHash"] == first["parametersHash"]
    other = preset(api, processor, None)
    assert other["parameters"] == {"blocksize": 1024, "mode": "rms"}
    assert other["id"] != first["id"]
    count = api("query($p: UUID!) { presets(processor: $p) { totalCount } }", {"p": processor})
    assert count["presets"]["totalCount"] == 2


@pytest.mark.parametrize(
    ("parameters", "complaint"),
    [
        ({"blocksize": 8}, "blocksize"),
        ({"mode": "loud"}, "mode"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_preset_parameters(
    api: Api, processor: str, parameters: dict[str, Any], complaint: str
) -> None:
    refused = preset(api, processor, parameters)
    assert refused["__typename"] == "ValidationError"
    assert refused["field"] == "parameters"
    assert complaint in refused["message"]


def test_unknown_processor(api: Api) -> None:
    refused = preset(api, "00000000-0000-0000-0000-000000000000", {})
    assert refused["__typename"] == "NotFoundError"


EXPERIENCE = """
mutation($input: ExperienceInput!) {
  createExperience(input: $input) {
    __typename
    ... on Experience { id presets { parameters } }
    ... on ValidationError { field }
  }
}"""


def test_experience_presets_keep_their_order(api: Api, processor: str) -> None:
    big = preset(api, processor, {"blocksize": 4096})["id"]
    small = preset(api, processor, {"blocksize": 64})["id"]
    created = api(EXPERIENCE, {"input": {"title": "e", "presetIds": [small, big]}}, as_="alice")
    sizes = [p["parameters"]["blocksize"] for p in created["createExperience"]["presets"]]
    assert sizes == [64, 4096]
    reordered = api(
        """mutation($id: UUID!, $presets: [UUID!]) {
          updateExperience(id: $id, input: {presetIds: $presets}) {
            ... on Experience { presets { parameters } } } }""",
        {"id": created["createExperience"]["id"], "presets": [big, small]},
        as_="alice",
    )
    sizes = [p["parameters"]["blocksize"] for p in reordered["updateExperience"]["presets"]]
    assert sizes == [4096, 64]
    twice = api(EXPERIENCE, {"input": {"presetIds": [big, big]}}, as_="alice")
    assert twice["createExperience"] == {"__typename": "ValidationError", "field": "presetIds"}


TASK = """
mutation($input: TaskInput!) {
  createTask(input: $input) {
    __typename
    ... on Task { id status item { title } experience { title } }
    ... on Error { message }
  }
}"""


def test_task_lifecycle_and_results(api: Api, engine: Engine, processor: str) -> None:
    level = preset(api, processor, {})["id"]
    experience = api(EXPERIENCE, {"input": {"title": "e", "presetIds": [level]}}, as_="alice")
    experience_id = experience["createExperience"]["id"]
    item = api('mutation { createItem(input: {title: "i"}) { ... on Item { id } } }', as_="alice")
    item_id = item["createItem"]["id"]

    untargeted = api(TASK, {"input": {"experienceId": experience_id}}, as_="alice")
    assert untargeted["createTask"]["__typename"] == "ValidationError"
    created = api(TASK, {"input": {"experienceId": experience_id, "itemId": item_id}}, as_="alice")
    task = created["createTask"]
    assert task["status"] == "DRAFT"
    assert task["item"] == {"title": "i"}

    # What the job layer would write: a job for the item and its result.
    with Session(engine) as session:
        ids = {"item_id": UUID(item_id)}
        session.add(m.Job(task_id=UUID(task["id"]), status=m.JobStatus.DONE, **ids))
        done = m.ResultStatus.DONE
        session.add(m.Result(preset_id=UUID(level), status=done, run_time=0.5, **ids))
        session.commit()
    data = api(
        """query($id: UUID!) { task(id: $id) {
          jobs { status item { title } } results { status runTime preset { id } } } }""",
        {"id": task["id"]},
    )
    assert data["task"]["jobs"] == [{"status": "DONE", "item": {"title": "i"}}]
    assert data["task"]["results"] == [{"status": "DONE", "runTime": 0.5, "preset": {"id": level}}]
    by_processor = api(
        """{ results(filter: {processorPid: "blocks", status: DONE}) {
          nodes { item { title } } } }"""
    )
    assert by_processor["results"]["nodes"] == [{"item": {"title": "i"}}]
    assert api('{ results(filter: {processorPid: "other"}) { totalCount } }')["results"] == {
        "totalCount": 0
    }

    blocked = api(
        """mutation($id: UUID!) { deleteExperience(id: $id) {
          __typename ... on Error { message } } }""",
        {"id": experience_id},
        as_="alice",
    )
    assert blocked["deleteExperience"]["__typename"] == "ConflictError"
    removed = api(
        "mutation($id: UUID!) { deleteTask(id: $id) { __typename } }",
        {"id": task["id"]},
        as_="alice",
    )
    assert removed["deleteTask"] == {"__typename": "Deleted"}


def test_only_drafts_change_targets(api: Api, engine: Engine, processor: str) -> None:
    level = preset(api, processor, {})["id"]
    experience = api(EXPERIENCE, {"input": {"presetIds": [level]}}, as_="alice")
    experience_id = experience["createExperience"]["id"]
    items = [
        api('mutation { createItem(input: {title: "i"}) { ... on Item { id } } }', as_="alice")[
            "createItem"
        ]["id"]
        for _ in range(2)
    ]
    created = api(TASK, {"input": {"experienceId": experience_id, "itemId": items[0]}}, as_="alice")
    task_id = created["createTask"]["id"]
    retarget = """mutation($id: UUID!, $item: UUID!) {
      updateTask(id: $id, input: {itemId: $item}) {
        __typename ... on Task { item { id } } } }"""
    moved = api(retarget, {"id": task_id, "item": items[1]}, as_="alice")["updateTask"]
    assert moved == {"__typename": "Task", "item": {"id": items[1]}}

    with Session(engine) as session:
        task = session.get(m.Task, UUID(task_id))
        assert task is not None
        task.status = m.TaskStatus.RUNNING
        session.commit()
    refused = api(retarget, {"id": task_id, "item": items[0]}, as_="alice")["updateTask"]
    assert refused == {"__typename": "ConflictError"}
    delete = "mutation($id: UUID!) { deleteTask(id: $id) { __typename } }"
    assert api(delete, {"id": task_id}, as_="alice")["deleteTask"] == {
        "__typename": "ConflictError"
    }
    private = """mutation($id: UUID!) { updateTask(id: $id, input: {isPublic: false}) {
      ... on Task { isPublic } } }"""
    assert api(private, {"id": task_id}, as_="alice")["updateTask"] == {"isPublic": False}
