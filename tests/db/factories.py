"""Small builders of valid rows, flushed so their ids and constraints are live."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from timeside_gql.core.params import parameters_hash
from timeside_gql.db.auth import issue_token
from timeside_gql.db.models import (
    Experience,
    Item,
    Preset,
    Processor,
    ProcessorKind,
    Result,
    Selection,
    Task,
    User,
)

T = TypeVar("T", bound=SQLModel)


def add(session: Session, row: T) -> T:
    session.add(row)
    session.flush()
    return row


def user(session: Session, username: str = "ada", **fields: Any) -> User:
    return add(session, User(username=username, password_hash="not-a-hash", **fields))


def token(engine: Engine, user_id: uuid.UUID | None = None, *, username: str = "ada") -> str:
    """The secret of a new API token (committed, for a live server): of the user ``user_id``,
    or of a new user ``username``."""
    with Session(engine) as session:
        owner = session.get(User, user_id) if user_id else user(session, username)
        assert owner is not None
        secret = issue_token(session, owner, name="test")[1]
        session.commit()
    return secret


def item(session: Session, title: str = "item", **fields: Any) -> Item:
    return add(session, Item(title=title, **fields))


def selection(session: Session, title: str = "selection", items: Sequence[Item] = ()) -> Selection:
    return add(session, Selection(title=title, items=list(items)))


def processor(session: Session, pid: str = "level", version: str = "1.0") -> Processor:
    return add(session, Processor(pid=pid, version=version, kind=ProcessorKind.ANALYZER))


def preset(session: Session, proc: Processor, **parameters: Any) -> Preset:
    """A row as stored, parameters unchecked (the processor may be made up)."""
    digest = parameters_hash(parameters)
    return add(session, Preset(processor_id=proc.id, parameters=parameters, parameters_hash=digest))


def experience(session: Session, title: str = "experience") -> Experience:
    return add(session, Experience(title=title))


def task(session: Session, exp: Experience, **target: Any) -> Task:
    return add(session, Task(experience_id=exp.id, **target))


def result(session: Session, it: Item, pre: Preset, **fields: Any) -> Result:
    return add(session, Result(item_id=it.id, preset_id=pre.id, **fields))
