"""Keep the processors table in step with the audio core's registry."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from sqlmodel import Session, select

from timeside_gql.db.models import Processor, ProcessorKind


class ProcessorSpec(Protocol):
    """What the sync reads: a core Processor class satisfies it through its class attributes."""

    @property
    def pid(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def parameters_schema(self) -> Mapping[str, Any]: ...
    @property
    def outputs(self) -> Iterable[Any]: ...


def sync_processors(session: Session, specs: Iterable[ProcessorSpec]) -> list[Processor]:
    """Insert or update one row per (pid, version); rows of versions no longer offered stay,
    because presets and results still refer to them."""
    existing = {(p.pid, p.version): p for p in session.exec(select(Processor))}
    synced = []
    for spec in specs:
        row = existing.get((spec.pid, str(spec.version))) or Processor(
            pid=spec.pid, version=str(spec.version), kind=ProcessorKind(spec.kind)
        )
        row.name = spec.name
        row.kind = ProcessorKind(spec.kind)
        row.description = spec.description or ""
        row.parameters_schema = dict(spec.parameters_schema)
        row.outputs = [_plain(output) for output in spec.outputs]
        session.add(row)
        synced.append(row)
    session.flush()
    return synced


def _plain(output: Any) -> dict[str, Any]:
    """An output spec as a JSON object, whether a dataclass, a pydantic model or a mapping."""
    if dataclasses.is_dataclass(output) and not isinstance(output, type):
        return dataclasses.asdict(output)
    if hasattr(output, "model_dump"):
        return dict(output.model_dump(mode="json"))
    return dict(output)


def sync_from_registry(session: Session) -> list[Processor]:
    """Sync from the audio core's registry (at migrate and at server start)."""
    from timeside_gql.core.registry import all_processors

    return sync_processors(session, all_processors())
