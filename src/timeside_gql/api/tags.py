"""Filtering by tag names, shared by the item and annotation filters."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from timeside_gql.db import models as m


def has_tags(owner_id: Any, link: type[Any], column: str, names: list[str]) -> list[Any]:
    """One clause per distinct name: rows of ``owner_id`` carrying every one of these tags."""
    wanted = dict.fromkeys(name.strip() for name in names if name.strip())
    return [
        col(owner_id).in_(
            select(getattr(link, column))
            .join(m.Tag, col(m.Tag.id) == col(link.tag_id))
            .where(m.Tag.name == name)
        )
        for name in wanted
    ]
