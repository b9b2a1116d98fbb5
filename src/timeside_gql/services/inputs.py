"""The fields a write accepts, one dataclass per object; a field left ``UNSET`` keeps its value.

The GraphQL input types subclass these (adding descriptions), so a mutation hands its input to
the service as it is, and the upload route and the CLI build the same objects. ``UNSET`` is
Strawberry's plain "not given" singleton, the one its inputs default to.

No ``from __future__ import annotations`` here: Strawberry resolves the annotations of these
fields from the subclasses' modules, so they must be real types, not strings.
"""

from dataclasses import dataclass
from uuid import UUID

from strawberry.types.unset import UNSET

from timeside_gql.db.models import RenderType, WebhookEvent

__all__ = [
    "UNSET",
    "AnalysisFields",
    "AnalysisTrackFields",
    "AnnotationFields",
    "AnnotationTrackFields",
    "ExperienceFields",
    "ItemFields",
    "ProviderFields",
    "SelectionFields",
    "TaskFields",
    "WebhookFields",
]


@dataclass(kw_only=True)
class ItemFields:
    title: str | None = UNSET
    description: str | None = UNSET
    artist: str | None = UNSET
    album: str | None = UNSET
    source_url: str | None = UNSET
    external_id: str | None = UNSET
    external_uri: str | None = UNSET
    picture_url: str | None = UNSET
    provider_id: UUID | None = UNSET
    is_public: bool | None = UNSET
    tags: list[str] | None = UNSET


@dataclass(kw_only=True)
class SelectionFields:
    title: str | None = UNSET
    description: str | None = UNSET
    is_public: bool | None = UNSET
    item_ids: list[UUID] | None = UNSET
    child_ids: list[UUID] | None = UNSET


@dataclass(kw_only=True)
class ExperienceFields:
    title: str | None = UNSET
    description: str | None = UNSET
    is_public: bool | None = UNSET
    preset_ids: list[UUID] | None = UNSET


@dataclass(kw_only=True)
class TaskFields:
    experience_id: UUID | None = UNSET
    item_id: UUID | None = UNSET
    selection_id: UUID | None = UNSET
    is_public: bool | None = UNSET


@dataclass(kw_only=True)
class ProviderFields:
    pid: str | None = UNSET
    name: str | None = UNSET
    domains: list[str] | None = UNSET
    source_access: bool | None = UNSET


@dataclass(kw_only=True)
class AnnotationTrackFields:
    title: str | None = UNSET
    description: str | None = UNSET
    overlapping: bool | None = UNSET
    is_public: bool | None = UNSET


@dataclass(kw_only=True)
class AnnotationFields:
    start: float | None = UNSET
    stop: float | None = UNSET
    title: str | None = UNSET
    description: str | None = UNSET
    tags: list[str] | None = UNSET
    result_ids: list[UUID] | None = UNSET


@dataclass(kw_only=True)
class AnalysisFields:
    title: str | None = UNSET
    description: str | None = UNSET
    preset_id: UUID | None = UNSET
    output_id: str | None = UNSET
    render_type: RenderType | None = UNSET
    is_public: bool | None = UNSET


@dataclass(kw_only=True)
class AnalysisTrackFields:
    analysis_id: UUID | None = UNSET
    title: str | None = UNSET
    color: str | None = UNSET
    is_public: bool | None = UNSET


@dataclass(kw_only=True)
class WebhookFields:
    url: str | None = UNSET
    events: list[WebhookEvent] | None = UNSET
    secret: str | None = UNSET
    is_active: bool | None = UNSET
