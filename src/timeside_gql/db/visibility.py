"""Who sees what, as SQL clauses, so API lists, loaders, lookups, media routes and the task
fan-out share one rule.

Shareable objects (items, selections, experiences, tasks, annotation tracks, analyses, analysis
tracks) are visible when public, to their author and to admins. Derived objects follow the object
they hang off: a result or an annotation track is visible with its item, an annotation with its
track, a job with its task, an analysis track with its item and its analysis. A tag is visible
through what carries it: a visible item or a visible annotation (its name may say what a private
item is); one that nothing carries is seen by admins only. Webhooks are private: visible to their
user and to admins, their deliveries with them. Providers, processors and presets are catalogue
data, visible to all readers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from timeside_gql.db import models as m


@dataclass(frozen=True, slots=True)
class Viewer:
    """The caller of one request, reduced to what the rules need."""

    user_id: UUID | None = None
    is_admin: bool = False

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None

    @classmethod
    def of(cls, user: m.User | None) -> Viewer:
        return cls() if user is None else cls(user_id=user.id, is_admin=user.is_admin)


ANONYMOUS = Viewer()
#: The instance itself (the CLI acting without a user): sees everything, authors nothing.
SYSTEM = Viewer(is_admin=True)


def _shareable(model: type[m.Shareable], viewer: Viewer) -> ColumnElement[bool]:
    public = col(model.is_public) == sa.true()
    if viewer.is_anonymous:
        return public
    return sa.or_(public, col(model.author_id) == viewer.user_id)


def _own_webhook(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_anonymous:
        return sa.false()
    return col(m.Webhook.user_id) == viewer.user_id


def _visible_ids(model: type[Any], viewer: Viewer) -> sa.Select[Any]:
    return sa.select(model.id).where(visible(model, viewer))


_RULES: dict[type[Any], Callable[[Viewer], ColumnElement[bool]]] = {
    m.Item: lambda v: _shareable(m.Item, v),
    m.Selection: lambda v: _shareable(m.Selection, v),
    m.Experience: lambda v: _shareable(m.Experience, v),
    m.Task: lambda v: _shareable(m.Task, v),
    m.AnnotationTrack: lambda v: sa.and_(
        _shareable(m.AnnotationTrack, v),
        col(m.AnnotationTrack.item_id).in_(_visible_ids(m.Item, v)),
    ),
    m.Annotation: lambda v: col(m.Annotation.track_id).in_(_visible_ids(m.AnnotationTrack, v)),
    m.Analysis: lambda v: _shareable(m.Analysis, v),
    m.AnalysisTrack: lambda v: sa.and_(
        _shareable(m.AnalysisTrack, v),
        col(m.AnalysisTrack.item_id).in_(_visible_ids(m.Item, v)),
        col(m.AnalysisTrack.analysis_id).in_(_visible_ids(m.Analysis, v)),
    ),
    m.Result: lambda v: col(m.Result.item_id).in_(_visible_ids(m.Item, v)),
    m.Job: lambda v: col(m.Job.task_id).in_(_visible_ids(m.Task, v)),
    m.Tag: lambda v: sa.or_(
        col(m.Tag.id).in_(
            sa.select(col(m.ItemTag.tag_id)).where(
                col(m.ItemTag.item_id).in_(_visible_ids(m.Item, v))
            )
        ),
        col(m.Tag.id).in_(
            sa.select(col(m.AnnotationTag.tag_id)).where(
                col(m.AnnotationTag.annotation_id).in_(_visible_ids(m.Annotation, v))
            )
        ),
    ),
    m.Webhook: _own_webhook,
    m.WebhookDelivery: lambda v: col(m.WebhookDelivery.webhook_id).in_(_visible_ids(m.Webhook, v)),
}


def visible(model: type[Any], viewer: Viewer) -> ColumnElement[bool]:
    """WHERE clause keeping the rows of ``model`` that ``viewer`` may read."""
    rule = _RULES.get(model)
    if rule is None or viewer.is_admin:
        return sa.true()
    return rule(viewer)
