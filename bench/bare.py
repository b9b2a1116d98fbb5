"""The floor of the nested-read benchmarks: a bare Strawberry schema answering the nested
query's shape from memory (no database, no authentication, no extensions), what the engine
alone costs. Used by bench_nested.py (over HTTP) and bench_nested_inprocess.py."""

from __future__ import annotations

import enum
import uuid
from typing import Any

import strawberry
from strawberry.asgi import GraphQL
from strawberry.scalars import JSON


@strawberry.enum
class ResultStatus(enum.Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


@strawberry.type
class Processor:
    id: uuid.UUID
    pid: str
    version: str


@strawberry.type
class Preset:
    id: uuid.UUID
    parameters: JSON
    processor: Processor


@strawberry.type
class Result:
    id: uuid.UUID
    status: ResultStatus
    run_time: float | None
    preset: Preset


@strawberry.type
class Item:
    id: uuid.UUID
    title: str
    audio_duration: float | None
    results: list[Result]


@strawberry.type
class ItemEdge:
    node: Item


@strawberry.type
class ItemConnection:
    edges: list[ItemEdge]


def bare_app(items: list[Item]) -> GraphQL[Any, Any]:
    """``items(first:)`` over ``items``, served by Strawberry's ASGI view."""

    @strawberry.type
    class Query:
        @strawberry.field
        def items(self, first: int | None = None) -> ItemConnection:
            return ItemConnection(edges=[ItemEdge(node=item) for item in items[:first]])

    return GraphQL(strawberry.Schema(query=Query), graphql_ide=None)


def items_of(data: dict[str, Any]) -> list[Item]:
    """The items of a real server's answer to the nested query, as bare objects."""
    return [
        Item(
            id=uuid.UUID(node["id"]),
            title=node["title"],
            audio_duration=node["audioDuration"],
            results=[_result(row) for row in node["results"]],
        )
        for node in (edge["node"] for edge in data["items"]["edges"])
    ]


def _result(row: dict[str, Any]) -> Result:
    preset, processor = row["preset"], row["preset"]["processor"]
    return Result(
        id=uuid.UUID(row["id"]),
        status=ResultStatus(row["status"]),
        run_time=row["runTime"],
        preset=Preset(
            id=uuid.UUID(preset["id"]),
            parameters=preset["parameters"],
            processor=Processor(
                id=uuid.UUID(processor["id"]), pid=processor["pid"], version=processor["version"]
            ),
        ),
    )
