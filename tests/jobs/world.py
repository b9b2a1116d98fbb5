"""A small analysis world for the execution tests: synthesized items in nested selections, an
experience of real presets (plus one that fails), and a task over them.

Sines of known amplitude give known answers: peak = 20·log10(amplitude) dBFS, RMS 3.01 dB lower.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from timeside_gql.core import samples
from timeside_gql.core.decode import file_sha1
from timeside_gql.core.params import parameters_hash
from timeside_gql.core.registry import all_processors
from timeside_gql.db.engine import session_scope
from timeside_gql.db.experiences import set_presets
from timeside_gql.db.models import (
    Experience,
    Item,
    Job,
    Preset,
    Processor,
    Result,
    Selection,
    SelectionChild,
    Task,
    User,
)
from timeside_gql.db.presets import preset_for
from timeside_gql.db.processors import sync_processors

SAMPLERATE = 22050
AMPLITUDES = (0.5, 0.25, 0.125)
#: A preset whose stored parameters the processor refuses: its result fails, the others run.
BAD_PARAMETERS = {"no_such_parameter": 1}


def expected_peak_db(amplitude: float) -> float:
    return 20 * math.log10(amplitude)


@dataclass
class World:
    owner_id: uuid.UUID
    item_ids: list[uuid.UUID]
    amplitudes: dict[uuid.UUID, float]
    selection_id: uuid.UUID
    experience_id: uuid.UUID
    task_id: uuid.UUID
    preset_ids: dict[str, uuid.UUID] = field(default_factory=dict)


def _preset(session: Session, pid: str, params: dict[str, Any], *, validate: bool = True) -> Preset:
    processor = session.exec(select(Processor).where(Processor.pid == pid)).one()
    if validate:
        return preset_for(session, processor, params)
    parameters, digest = params, parameters_hash(params)
    existing = session.exec(
        select(Preset).where(Preset.processor_id == processor.id, Preset.parameters_hash == digest)
    ).first()
    if existing is not None:  # presets are shared: one row per (processor, parameters)
        return existing
    preset = Preset(processor_id=processor.id, parameters=parameters, parameters_hash=digest)
    session.add(preset)
    session.flush()
    return preset


def build_world(
    engine: Engine,
    data_dir: Path,
    *,
    seconds: float = 1.0,
    amplitudes: tuple[float, ...] = AMPLITUDES,
    failing: bool = True,
    pids: tuple[str, ...] = ("level", "mean_dc_shift", "waveform_simple"),
) -> World:
    """Items in a selection nested twice (one item listed in both levels: it runs once)."""
    media = data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    with session_scope(engine) as session:
        owner = User(username=f"owner-{uuid.uuid4().hex[:8]}", password_hash="x")
        session.add(owner)
        sync_processors(session, all_processors())
        items = []
        for n, amplitude in enumerate(amplitudes):
            name = f"sine-{uuid.uuid4().hex[:8]}-{n}.wav"
            path = samples.write(
                media / name, samples.sine(440.0, seconds, SAMPLERATE, amplitude), SAMPLERATE
            )
            item = Item(
                title=name,
                source_file=f"media/{name}",
                sha1=file_sha1(path),
                author_id=owner.id,
                is_public=False,
            )
            session.add(item)
            items.append(item)
        session.flush()
        inner = Selection(title="inner", items=items[1:], author_id=owner.id)
        outer = Selection(title="outer", items=items[:2], author_id=owner.id)
        session.add_all([inner, outer])
        session.flush()
        session.add(SelectionChild(parent_id=outer.id, child_id=inner.id))
        presets = {pid: _preset(session, pid, {}) for pid in pids}
        if failing:
            presets["bad"] = _preset(session, "level", BAD_PARAMETERS, validate=False)
        experience = Experience(title="world", author_id=owner.id, is_public=False)
        session.add(experience)
        session.flush()
        set_presets(session, experience, [p.id for p in presets.values()])
        task = Task(
            experience_id=experience.id,
            selection_id=outer.id,
            author_id=owner.id,
            is_public=False,
        )
        session.add(task)
        session.flush()
        return World(
            owner_id=owner.id,
            item_ids=[item.id for item in items],
            amplitudes={item.id: a for item, a in zip(items, amplitudes, strict=True)},
            selection_id=outer.id,
            experience_id=experience.id,
            task_id=task.id,
            preset_ids={name: preset.id for name, preset in presets.items()},
        )


def snapshot(engine: Engine, task_id: uuid.UUID) -> tuple[Task, list[Job], list[Result]]:
    with session_scope(engine) as session:
        task = session.get(Task, task_id)
        assert task is not None
        jobs = list(session.exec(select(Job).where(Job.task_id == task_id)))
        item_ids = [job.item_id for job in jobs]
        results = list(session.exec(select(Result).where(Result.item_id.in_(item_ids))))  # type: ignore[union-attr]
        return task, jobs, results
