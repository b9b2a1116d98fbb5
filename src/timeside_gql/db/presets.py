"""One preset per (processor, canonical parameters): found, or created race-free."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from timeside_gql.core.params import ParameterError, ensure_parameters
from timeside_gql.core.registry import UnknownProcessor, get_processor
from timeside_gql.db.models import Preset, Processor
from timeside_gql.db.processors import sync_from_registry


def preset_for(
    session: Session, processor: Processor, parameters: Any, *, author_id: UUID | None = None
) -> Preset:
    """The preset of these settings (defaults filled): the stored one when it exists.

    ``parameters`` are raw settings or core ``Parameters``; they are validated by the core
    against the installed processor's schema (the one jobs run), and the row stores its
    canonical values and hash. Raises core ``ParameterError`` when they do not fit, or when
    this installation has no processor ``processor.pid``.
    """
    try:
        canonical = ensure_parameters(processor.pid, parameters)
    except UnknownProcessor as error:
        raise ParameterError(f"{error.args[0]}: it is not installed") from error
    existing = _find(session, processor.id, canonical.hash)
    if existing is not None:
        return existing
    preset = Preset(
        processor_id=processor.id,
        parameters=canonical.to_dict(),
        parameters_hash=canonical.hash,
        author_id=author_id,
    )
    try:
        with session.begin_nested():
            session.add(preset)
    except IntegrityError:  # created meanwhile by a concurrent transaction
        return _find(session, processor.id, canonical.hash)  # type: ignore[return-value]
    return preset


def _find(session: Session, processor_id: UUID, digest: str) -> Preset | None:
    query = select(Preset).where(
        Preset.processor_id == processor_id, Preset.parameters_hash == digest
    )
    return session.exec(query).first()


def default_preset(session: Session, pid: str) -> Preset:
    """The shared preset of the installed version of ``pid`` with default parameters (what the
    server computes on its own: the waveform at ingest, whole-file transcodes)."""
    version = str(get_processor(pid).version)
    query = select(Processor).where(Processor.pid == pid, Processor.version == version)
    processor = session.exec(query).first()
    if processor is None:  # the registry was not synced since this version was installed
        try:
            with session.begin_nested():
                sync_from_registry(session)
        except IntegrityError:  # synced meanwhile by a concurrent transaction
            pass
        processor = session.exec(query).one()
    return preset_for(session, processor, {})
