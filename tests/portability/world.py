"""A populated instance for dump/load tests: real audio files and real results from the core
pipeline (HDF5 and PNG files), nested selections, presets, an experience, tasks and jobs,
annotation tracks linked to results, tags, an analysis catalogue, a user with a token.

Layout (the subset of ``outer`` is what test_selection expects):

    top ⊃ outer ⊃ inner          other (outside the subset)
    outer: a, b   inner: b, c    other: a, d
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from tests.services import need_postgres
from timeside_gql.core import pipeline, samples
from timeside_gql.core.decode import file_sha1
from timeside_gql.core.registry import all_processors
from timeside_gql.db.auth import issue_token
from timeside_gql.db.engine import create_engine, session_scope
from timeside_gql.db.experiences import set_presets
from timeside_gql.db.migrate import upgrade
from timeside_gql.db.models import (
    Analysis,
    AnalysisTrack,
    Annotation,
    AnnotationResult,
    AnnotationTag,
    AnnotationTrack,
    Experience,
    IngestStatus,
    Item,
    ItemDescriptor,
    ItemTag,
    Job,
    JobStatus,
    Preset,
    Processor,
    Provider,
    Result,
    Selection,
    SelectionChild,
    Tag,
    Task,
    TaskStatus,
    User,
)
from timeside_gql.db.presets import preset_for
from timeside_gql.db.processors import sync_processors
from timeside_gql.jobs.execution import preset_run
from timeside_gql.jobs.results import claim_results, store_outcome
from timeside_gql.portability.closure import INSTANCE_TABLES

SAMPLERATE = 22050
PIDS = ("level", "mean_dc_shift", "waveform_simple")


@dataclass
class Instance:
    """A database and its data dir: one timeside-gql deployment."""

    url: str
    engine: Engine
    data_dir: Path
    ids: dict[str, uuid.UUID] = field(default_factory=dict)

    def dispose(self) -> None:
        self.engine.dispose()


def sqlite_instance(root: Path) -> Instance:
    url = f"sqlite:///{root / 'timeside.db'}"
    upgrade(url)
    return Instance(url, create_engine(url), root / "data")


def postgres_instance(server: Any, root: Path) -> Instance:
    need_postgres()
    url = server.create()
    upgrade(url)
    return Instance(url, create_engine(url), root / "data")


def make_instance(backend: str, root: Path, server: Any = None) -> Instance:
    root.mkdir(parents=True, exist_ok=True)
    return sqlite_instance(root) if backend == "sqlite" else postgres_instance(server, root)


# ---------------------------------------------------------------------------------------------
# Content


def preset(session: Session, pid: str, params: dict[str, Any] | None = None) -> Preset:
    processor = session.exec(select(Processor).where(Processor.pid == pid)).one()
    row = preset_for(session, processor, params)
    session.flush()
    return row


def audio_item(
    session: Session, data_dir: Path, name: str, amplitude: float, **fields: Any
) -> Item:
    path = data_dir / "media" / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    samples.write(path, samples.sine(440.0, 1.0, SAMPLERATE, amplitude), SAMPLERATE)
    item = Item(
        title=name,
        source_file=f"media/{name}.wav",
        sha1=file_sha1(path),
        mime_type="audio/x-wav",
        audio_duration=1.0,
        samplerate=SAMPLERATE,
        channels=1,
        ingest_status=IngestStatus.DONE,
        **fields,
    )
    session.add(item)
    session.flush()
    return item


def populate(instance: Instance) -> dict[str, uuid.UUID]:
    data_dir = instance.data_dir
    with session_scope(instance.engine) as s:
        owner = User(username="owner", password_hash="x", is_admin=True)
        s.add(owner)
        s.flush()
        issue_token(s, owner, name="laptop")
        sync_processors(s, all_processors())
        youtube = Provider(
            pid="youtube", name="YouTube", domains=["youtube.com"], source_access=True
        )
        s.add(youtube)
        s.flush()
        mine = {"author_id": owner.id}
        a = audio_item(s, data_dir, "a", 0.5, description="première", **mine)
        b = audio_item(s, data_dir, "b", 0.25, is_public=False, **mine)
        c = audio_item(
            s, data_dir, "c", 0.125, provider_id=youtube.id, external_id="dQw4w9WgXcQ", **mine
        )
        d = audio_item(s, data_dir, "d", 0.1)
        inner = Selection(title="inner", items=[b, c], **mine)
        outer = Selection(title="outer", items=[a, b], **mine)
        top = Selection(title="top")
        other = Selection(title="other", items=[a, d])
        s.add_all([inner, outer, top, other])
        s.flush()
        s.add_all(
            [
                SelectionChild(parent_id=outer.id, child_id=inner.id),
                SelectionChild(parent_id=top.id, child_id=outer.id),
            ]
        )
        presets = [preset(s, pid) for pid in PIDS]
        unused = preset(s, "waveform_simple", {"width": 64})  # in no experience, no result
        experience = Experience(title="loudness", **mine)
        lonely = Experience(title="unused")
        s.add_all([experience, lonely])
        s.flush()
        set_presets(s, experience, [p.id for p in presets])
        task = Task(
            experience_id=experience.id,
            selection_id=outer.id,
            status=TaskStatus.DONE,
            items_total=3,
            items_done=3,
            **mine,
        )
        task_d = Task(experience_id=experience.id, item_id=d.id, status=TaskStatus.DRAFT)
        task_top = Task(experience_id=experience.id, selection_id=top.id)
        s.add_all([task, task_d, task_top])
        s.flush()
        s.add_all(
            Job(task_id=task.id, item_id=i.id, status=JobStatus.DONE, progress=1.0, attempts=1)
            for i in (a, b, c)
        )
        piano, drums = Tag(name="piano"), Tag(name="drums")
        s.add_all([piano, drums])
        s.flush()
        s.add_all([ItemTag(item_id=a.id, tag_id=piano.id), ItemTag(item_id=d.id, tag_id=drums.id)])
        track = AnnotationTrack(item_id=a.id, title="beats", **mine)
        track_d = AnnotationTrack(item_id=d.id, title="d beats")
        s.add_all([track, track_d])
        s.flush()
        onset = Annotation(track_id=track.id, start=0.25, stop=0.5, title="onset")
        s.add_all([onset, Annotation(track_id=track.id, start=0.5, stop=1.0, description="x")])
        s.add(Annotation(track_id=track_d.id, start=0.0, stop=0.1))
        s.flush()
        s.add(AnnotationTag(annotation_id=onset.id, tag_id=piano.id))
        analysis = Analysis(title="level", preset_id=presets[0].id, output_id="level.max")
        s.add(analysis)
        s.flush()
        s.add(AnalysisTrack(analysis_id=analysis.id, item_id=a.id, color="#ff0000"))
        ids = {
            "owner": owner.id,
            "a": a.id,
            "b": b.id,
            "c": c.id,
            "d": d.id,
            "inner": inner.id,
            "outer": outer.id,
            "top": top.id,
            "other": other.id,
            "experience": experience.id,
            "lonely": lonely.id,
            "unused": unused.id,
            "task": task.id,
            "task_d": task_d.id,
            "piano": piano.id,
            "drums": drums.id,
            "track": track.id,
            "onset": onset.id,
            "youtube": youtube.id,
            "analysis": analysis.id,
        }
        preset_ids = [p.id for p in presets]
    for name in ("a", "b", "c", "d"):
        compute(instance, ids[name], preset_ids)
    with session_scope(instance.engine) as s:
        level_a = s.exec(
            select(Result).where(Result.item_id == ids["a"], Result.preset_id == preset_ids[0])
        ).one()
        s.add(AnnotationResult(annotation_id=ids["onset"], result_id=level_a.id))
        vector = [0.5, -0.25, 0.125]  # a descriptor travels with its item and result
        s.add(
            ItemDescriptor(
                item_id=ids["a"],
                result_id=level_a.id,
                version="1.0",
                vector=vector,
                tempo=120.0,
                key=9,
            )
        )
        ids["level_a"] = level_a.id
    instance.ids = ids
    return ids


def compute(instance: Instance, item_id: uuid.UUID, preset_ids: list[uuid.UUID]) -> None:
    """Real results of the core pipeline, stored as the workers store them."""
    data_dir = instance.data_dir
    with session_scope(instance.engine) as s:
        item = s.get(Item, item_id)
        runs = [preset_run(s.get_one(Preset, preset_id), item.sha1) for preset_id in preset_ids]
        claimed = claim_results(s, item_id, runs, data_dir=data_dir)
        source = data_dir / item.source_file
    with tempfile.TemporaryDirectory(dir=data_dir) as work:
        outcomes = pipeline.run(
            source, [(r.pid, r.parameters) for r, _ in claimed.to_compute], workdir=work
        )
    with session_scope(instance.engine) as s:
        for (_, row), outcome in zip(claimed.to_compute, outcomes, strict=True):
            store_outcome(s, row, outcome, data_dir=data_dir)


# ---------------------------------------------------------------------------------------------
# Comparing instances


def rows(instance: Instance, table: str) -> list[dict[str, Any]]:
    metadata_table = SQLModel.metadata.tables[table]
    with instance.engine.connect() as connection:
        found = connection.execute(sa.select(metadata_table)).mappings().all()
    return sorted(
        (dict(r) for r in found), key=lambda r: [str(r[c.name]) for c in metadata_table.primary_key]
    )


def tables(instance: Instance, names: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    dumped = [name for name in SQLModel.metadata.tables if name not in INSTANCE_TABLES]
    return {name: rows(instance, name) for name in names or dumped}


def counts(instance: Instance) -> dict[str, int]:
    return {name: len(found) for name, found in tables(instance).items()}


def files(instance: Instance) -> dict[str, str]:
    """Every file of the data dir by relative path, with its sha1."""
    root = instance.data_dir
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
