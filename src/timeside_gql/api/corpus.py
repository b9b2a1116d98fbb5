"""Corpus queries: annotations across items and selections, the analysis catalogue and tracks.

Every list is a connection like the others (newest first, keyset cursors) and every row passes
the visibility rules: an annotation of a private track of someone else is never counted.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import strawberry
from sqlmodel import col, select

from timeside_gql.api.pagination import Connection
from timeside_gql.api.queries import ItemFilter, _list, _lookup, read
from timeside_gql.api.tags import has_tags
from timeside_gql.api.types.analyses import Analysis, AnalysisTrack
from timeside_gql.api.types.annotations import Annotation
from timeside_gql.db import models as m


@strawberry.input(description="Annotations matching every given criterion.")
class AnnotationFilter:
    items: ItemFilter | None = strawberry.field(
        default=None, description="Annotations of the items this filter selects."
    )
    track: UUID | None = None
    tags: list[str] | None = strawberry.field(
        default=None, description="Annotations carrying every one of these tag names."
    )
    start: float | None = strawberry.field(
        default=None, description="Seconds: annotations ending at or after this time."
    )
    stop: float | None = strawberry.field(
        default=None, description="Seconds: annotations starting at or before this time."
    )

    def where(self) -> list[Any]:
        clauses: list[Any] = []
        if self.items is not None:
            items = select(m.Item.id).where(*self.items.where())
            tracks = select(m.AnnotationTrack.id).where(col(m.AnnotationTrack.item_id).in_(items))
            clauses.append(col(m.Annotation.track_id).in_(tracks))
        if self.track is not None:
            clauses.append(m.Annotation.track_id == self.track)
        if self.start is not None:
            clauses.append(col(m.Annotation.stop) >= self.start)
        if self.stop is not None:
            clauses.append(col(m.Annotation.start) <= self.stop)
        clauses.extend(has_tags(m.Annotation.id, m.AnnotationTag, "annotation_id", self.tags or []))
        return clauses


@strawberry.type
class CorpusQueries:
    @read
    async def annotations(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: AnnotationFilter | None = None,
    ) -> Connection[Annotation]:
        return await _list(m.Annotation, filter.where() if filter else [], first, after, info)

    @read
    async def analysis(self, id: UUID, info: strawberry.Info) -> Analysis | None:
        return await _lookup(m.Analysis, id, info)

    @read
    async def analyses(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        preset: UUID | None = None,
    ) -> Connection[Analysis]:
        where = [m.Analysis.preset_id == preset] if preset is not None else []
        return await _list(m.Analysis, where, first, after, info)

    @read
    async def analysis_track(self, id: UUID, info: strawberry.Info) -> AnalysisTrack | None:
        return await _lookup(m.AnalysisTrack, id, info)

    @read
    async def analysis_tracks(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        item: UUID | None = None,
        analysis: UUID | None = None,
    ) -> Connection[AnalysisTrack]:
        where: list[Any] = [m.AnalysisTrack.item_id == item] if item is not None else []
        if analysis is not None:
            where.append(m.AnalysisTrack.analysis_id == analysis)
        return await _list(m.AnalysisTrack, where, first, after, info)
