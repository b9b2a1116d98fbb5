"""Keep the providers table in step with the providers the server implements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol
from uuid import UUID

from sqlmodel import Session, select

from timeside_gql.db.models import Provider


class ProviderSpec(Protocol):
    """What the table mirrors of a provider implementation (``storage.providers``)."""

    @property
    def pid(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def domains(self) -> Sequence[str]: ...
    @property
    def source_access(self) -> bool: ...


def sync_providers(session: Session, specs: Iterable[ProviderSpec]) -> list[Provider]:
    """Insert or update one row per implemented provider (at migrate and at server start).

    Rows of other pids (created by administrators, or of providers since removed) stay: items
    still refer to them.
    """
    existing = {p.pid: p for p in session.exec(select(Provider))}
    synced = []
    for spec in specs:
        row = existing.get(spec.pid) or Provider(pid=spec.pid)
        row.name = spec.name
        row.domains = list(spec.domains)
        row.source_access = spec.source_access
        session.add(row)
        synced.append(row)
    session.flush()
    return synced


def provider_id(session: Session, pid: str) -> UUID | None:
    """The row id of the provider ``pid``, if the table has it."""
    return session.exec(select(Provider.id).where(Provider.pid == pid)).first()
