"""The analysis catalogue players list, and analyses shown on items.

Reading a track only reads: its status comes from the Result of (item, analysis preset), and
nothing is computed until the ``computeAnalysisTracks`` mutation asks for it (TimeSide's
serializer queued processing on every GET).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from timeside_gql.api.types.base import as_type, loaders, maps, to_one
from timeside_gql.api.types.catalog import Preset
from timeside_gql.api.types.media_urls import visual_url
from timeside_gql.api.types.owned import Owned
from timeside_gql.api.types.series import Series, SeriesArgs, SeriesReduction, resolve_series
from timeside_gql.db import models as m

if TYPE_CHECKING:
    from timeside_gql.api.types.items import Item
    from timeside_gql.api.types.tasks import Result

_ITEMS = strawberry.lazy("timeside_gql.api.types.items")
_TASKS = strawberry.lazy("timeside_gql.api.types.tasks")

strawberry.enum(m.RenderType)  # marked in place: the column and the API share one enum


@strawberry.enum(description="Where the data of an analysis track stands.")
class AnalysisTrackStatus(enum.Enum):
    NONE = "none"  # never asked for: run computeAnalysisTracks
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@maps(m.Analysis)
@strawberry.type(description="One output of a preset, as players draw it.")
class Analysis(Owned):
    title: str
    description: str
    output_id: str | None = strawberry.field(
        description="The result id among the processor's outputs; null: the grapher's picture."
    )
    render_type: m.RenderType
    preset_id: strawberry.Private[UUID]

    preset: Preset = to_one(m.Preset, "preset_id")


@maps(m.AnalysisTrack)
@strawberry.type(description="An analysis shown on one item.")
class AnalysisTrack(Owned):
    title: str
    color: str = strawberry.field(description='"#rrggbb", or empty for the player\'s choice.')
    analysis_id: strawberry.Private[UUID]
    item_id: strawberry.Private[UUID]

    analysis: Analysis | None = to_one(m.Analysis, "analysis_id")

    item: Annotated[Item, _ITEMS] = to_one(m.Item, "item_id")

    @strawberry.field(description="The result of the analysis preset on the item, if any.")
    async def result(self) -> Annotated[Result, _TASKS] | None:
        return as_type((await track_result(self))[1])

    @strawberry.field(description="NONE until computeAnalysisTracks runs it; reading never does.")
    async def status(self) -> AnalysisTrackStatus:
        result = (await track_result(self))[1]
        return AnalysisTrackStatus.NONE if result is None else AnalysisTrackStatus(result.status)

    @strawberry.field(
        description="The analysis output over [start, stop] seconds in at most maxPoints "
        "points, once the result is done; null before, and for a grapher's picture."
    )
    async def series(
        self,
        info: strawberry.Info,
        start: float | None = None,
        stop: float | None = None,
        max_points: int = 1000,
        reduce: SeriesReduction = SeriesReduction.AUTO,
    ) -> Series | None:
        analysis, result = await track_result(self)
        if analysis is None or result is None or analysis.output_id is None:
            return None
        args = SeriesArgs(analysis.output_id, start, stop, max_points, reduce)
        return await resolve_series(result, args, info.context.settings)

    @strawberry.field(
        description="Signed URL of a PNG of the track over [start, stop] seconds (the output "
        "drawn, or the grapher's picture cropped and scaled), once the result is done."
    )
    async def visual_url(
        self,
        info: strawberry.Info,
        start: float | None = None,
        stop: float | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> str | None:
        analysis, result = await track_result(self)
        if analysis is None or result is None:
            return None
        return visual_url(result, info, start, stop, width, height, output=analysis.output_id)


async def track_result(track: AnalysisTrack) -> tuple[m.Analysis | None, m.Result | None]:
    """Batched: one query for the analyses, one for the results of every item in the page."""
    analysis = await loaders().by_id(m.Analysis).load(track.analysis_id)
    if analysis is None:
        return None, None
    results = await loaders().by_column(m.Result, "item_id").load(track.item_id)
    return analysis, next((r for r in results if r.preset_id == analysis.preset_id), None)
