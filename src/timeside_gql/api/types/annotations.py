"""Annotation tracks on items and their time-stamped annotations."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from timeside_gql.api.types.base import Entity, maps, to_many, to_one
from timeside_gql.api.types.catalog import Tag
from timeside_gql.api.types.media_urls import _url
from timeside_gql.api.types.owned import Owned
from timeside_gql.db import models as m

if TYPE_CHECKING:
    from timeside_gql.api.types.items import Item
    from timeside_gql.api.types.tasks import Result

_ITEMS = strawberry.lazy("timeside_gql.api.types.items")
_TASKS = strawberry.lazy("timeside_gql.api.types.tasks")


@strawberry.enum(description="Files annotation tools open (docs/corpora.md).")
class LabelFormat(enum.Enum):
    JAMS = "jams"
    SVL = strawberry.enum_value("svl", description="Sonic Visualiser layer.")
    EAF = strawberry.enum_value("eaf", description="ELAN annotation document.")
    AUDACITY = strawberry.enum_value("txt", description="Audacity label track.")
    CSV = "csv"


def result_export_url(
    root: strawberry.Parent[m.Result],
    info: strawberry.Info,
    format: LabelFormat,
    output: str | None = None,
) -> str | None:
    """Signed URL of an event or segment output as a file annotation tools open (output: which
    one, when the result holds several); null until done."""
    if root.status != m.ResultStatus.DONE:
        return None
    return _url(info, f"/exports/results/{root.id}.{format.value}", output=output)


@maps(m.AnnotationTrack)
@strawberry.type(description="A layer of annotations on one item.")
class AnnotationTrack(Owned):
    title: str
    description: str
    overlapping: bool = strawberry.field(description="Whether annotations may overlap in time.")
    item_id: strawberry.Private[UUID]

    item: Annotated[Item, _ITEMS] = to_one(m.Item, "item_id")

    annotations: list[Annotation] = to_many(
        lambda lo: lo.by_column(
            m.Annotation, "track_id", order_by=[m.Annotation.start, m.Annotation.id]
        ),
        description="Annotations in time order.",
    )

    @strawberry.field(description="Signed URL of the track's annotations as a file.")
    def export_url(self, info: strawberry.Info, format: LabelFormat) -> str:
        return _url(info, f"/exports/annotation-tracks/{self.id}.{format.value}")


@maps(m.Annotation)
@strawberry.type(description="A labelled time range of a track, in seconds.")
class Annotation(Entity):
    start: float
    stop: float
    title: str
    description: str
    track_id: strawberry.Private[UUID]

    track: AnnotationTrack = to_one(m.AnnotationTrack, "track_id")

    tags: list[Tag] = to_many(
        lambda lo: lo.linked(
            m.AnnotationTag, "annotation_id", "tag_id", m.Tag, order_by=[m.Tag.name]
        )
    )

    results: list[Annotated[Result, _TASKS]] = to_many(
        lambda lo: lo.linked(m.AnnotationResult, "annotation_id", "result_id", m.Result),
        description="The results this annotation was made from.",
    )
