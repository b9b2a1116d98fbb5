"""The database itself refuses duplicates and impossible values, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session

from tests.db import factories
from timeside_gql.db.models import (
    Annotation,
    AnnotationTrack,
    Job,
    Preset,
    Processor,
    ProcessorKind,
    Provider,
    Result,
    Tag,
    Task,
    User,
)


def refused(session: Session, make: Callable[[], Any]) -> None:
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(make())
        session.flush()


def test_unique_natural_keys(session: Session) -> None:
    factories.user(session, "ada")
    refused(session, lambda: User(username="ada", password_hash="x"))
    session.add(Provider(pid="youtube", domains=["www.youtube.com", "youtu.be"]))
    session.flush()
    refused(session, lambda: Provider(pid="youtube"))
    session.add(Tag(name="voice"))
    session.flush()
    refused(session, lambda: Tag(name="voice"))


def test_processor_versions_and_presets_are_unique(session: Session) -> None:
    proc = factories.processor(session, "level", "1.0")
    factories.processor(session, "level", "2.0")  # another version is another row
    refused(session, lambda: Processor(pid="level", version="1.0", kind=ProcessorKind.GRAPHER))
    first = factories.preset(session, proc, channel=0)
    refused(
        session,
        lambda: Preset(processor_id=proc.id, parameters={}, parameters_hash=first.parameters_hash),
    )


def test_one_result_per_item_and_preset(session: Session) -> None:
    item, proc = factories.item(session), factories.processor(session)
    pre = factories.preset(session, proc)
    factories.result(session, item, pre)
    refused(session, lambda: Result(item_id=item.id, preset_id=pre.id))


def test_one_job_per_task_and_item(session: Session) -> None:
    item = factories.item(session)
    task = factories.task(session, factories.experience(session), item_id=item.id)
    factories.add(session, Job(task_id=task.id, item_id=item.id))
    refused(session, lambda: Job(task_id=task.id, item_id=item.id))
    refused(session, lambda: Job(task_id=task.id, item_id=factories.item(session).id, progress=1.5))


def test_a_task_needs_a_target(session: Session) -> None:
    exp = factories.experience(session)
    refused(session, lambda: Task(experience_id=exp.id))


@pytest.mark.parametrize(("start", "stop"), [(2.0, 1.0), (-1.0, 1.0)])
def test_annotation_ranges_are_checked(session: Session, start: float, stop: float) -> None:
    track = factories.add(session, AnnotationTrack(item_id=factories.item(session).id))
    factories.add(session, Annotation(track_id=track.id, start=1.0, stop=1.0))
    refused(session, lambda: Annotation(track_id=track.id, start=start, stop=stop))


def test_enum_columns_refuse_unknown_states(session: Session) -> None:
    exp, item = factories.experience(session), factories.item(session)
    with pytest.raises(StatementError), session.begin_nested():
        session.add(Task(experience_id=exp.id, item_id=item.id, status="exploded"))  # type: ignore[arg-type]
        session.flush()
    factories.task(session, exp, item_id=item.id)
    with pytest.raises(IntegrityError), session.begin_nested():  # the CHECK, for raw SQL too
        session.execute(sa.text("UPDATE tasks SET status = 'exploded'"))


def test_foreign_keys_are_enforced(session: Session) -> None:
    refused(session, lambda: AnnotationTrack(item_id=uuid.uuid4()))
