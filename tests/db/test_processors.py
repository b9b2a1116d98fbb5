"""Processor rows follow the registry's specs, one per (pid, version)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from timeside_gql.db.models import Processor, ProcessorKind
from timeside_gql.db.processors import sync_processors


@dataclass
class Output:
    id: str
    unit: str


@dataclass
class Spec:
    pid: str
    version: str
    kind: str = "analyzer"
    name: str = "Level"
    description: str = "RMS and peak level"
    parameters_schema: dict[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    outputs: list[Any] = field(default_factory=lambda: [Output("level.rms", "dBFS")])


def test_sync_inserts_then_updates_and_keeps_old_versions(session: Session) -> None:
    sync_processors(session, [Spec("level", "1.0"), Spec("waveform", "1.0", kind="grapher")])
    sync_processors(session, [Spec("level", "1.0", name="Level meter"), Spec("level", "2.0")])

    rows = session.exec(select(Processor).order_by(Processor.pid, Processor.version)).all()
    assert [(p.pid, p.version, p.name) for p in rows] == [
        ("level", "1.0", "Level meter"),
        ("level", "2.0", "Level"),
        ("waveform", "1.0", "Level"),
    ]
    assert rows[2].kind is ProcessorKind.GRAPHER
    assert rows[0].outputs == [{"id": "level.rms", "unit": "dBFS"}]
    assert rows[0].parameters_schema == {"type": "object", "properties": {}}


def test_sync_accepts_mappings_as_outputs(session: Session) -> None:
    spec = Spec("pitch", "0.1", outputs=[{"id": "pitch.f0", "unit": "Hz"}])
    (row,) = sync_processors(session, [spec])
    assert row.outputs == [{"id": "pitch.f0", "unit": "Hz"}]
