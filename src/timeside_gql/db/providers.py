"""Keep the providers table in step with the providers the server implements."""

from __future__ import annotations

from sqlmodel import Session, select

from timeside_gql.db.models import Provider


def sync_providers(session: Session) -> list[Provider]:
    """Insert or update one row per implemented provider (at migrate and at server start).

    Rows of other pids (created by administrators, or of providers since removed) stay: items
    still refer to them.
    """
    from timeside_gql.media.providers import all_providers

    existing = {p.pid: p for p in session.exec(select(Provider))}
    synced = []
    for spec in all_providers():
        row = existing.get(spec.pid) or Provider(pid=spec.pid)
        row.name = spec.name
        row.domains = list(spec.domains)
        row.source_access = spec.source_access
        session.add(row)
        synced.append(row)
    session.flush()
    return synced
