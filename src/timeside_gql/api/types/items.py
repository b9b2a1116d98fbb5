"""Items (audio with its metadata) and selections (nested sets of items)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from timeside_gql.api.types import media_urls
from timeside_gql.api.types.base import maps, to_many, to_one
from timeside_gql.api.types.catalog import Provider, Tag
from timeside_gql.api.types.enums import IngestStatus
from timeside_gql.api.types.owned import Owned
from timeside_gql.api.types.series import item_waveform
from timeside_gql.api.types.similar import item_similar
from timeside_gql.api.types.structure import item_audio_analysis
from timeside_gql.db import models as m

if TYPE_CHECKING:
    from timeside_gql.api.types.analyses import AnalysisTrack
    from timeside_gql.api.types.annotations import AnnotationTrack
    from timeside_gql.api.types.tasks import Result, Task

_TASKS = strawberry.lazy("timeside_gql.api.types.tasks")
_ANNOTATIONS = strawberry.lazy("timeside_gql.api.types.annotations")
_ANALYSES = strawberry.lazy("timeside_gql.api.types.analyses")


@maps(m.Item)
@strawberry.type(description="A piece of audio: a file, a URL or a provider's track.")
class Item(Owned):
    title: str
    description: str
    artist: str
    album: str
    source_file: str | None = strawberry.field(description="Path relative to the data dir.")
    source_url: str | None
    external_id: str | None
    external_uri: str | None
    picture_url: str | None
    sha1: str | None
    mime_type: str | None
    audio_duration: float | None = strawberry.field(description="Seconds.")
    samplerate: int | None
    channels: int | None
    ingest_status: IngestStatus = strawberry.field(
        description="Where the ingest of the source stands (hash, probe, waveform); NONE: no "
        "source yet."
    )
    ingest_error: str | None = strawberry.field(description="Why the last ingest failed.")
    provider_id: strawberry.Private[UUID | None]
    waveform = strawberry.field(
        resolver=item_waveform,
        description="Min/max peaks over [start, stop) seconds in at most `pixels` columns, "
        "from the item's waveform result; null until it is done.",
    )
    audio_analysis = strawberry.field(
        resolver=item_audio_analysis,
        description="Structure (sections, bars, beats, tatums, segments, track tempo, key, "
        "mode, meter) over [start, stop) seconds, from the item's `audio_analysis` result; "
        "null until it is done.",
    )
    similar = strawberry.field(
        resolver=item_similar,
        description="Items you may see, nearest first by descriptor distance (`by` a part); "
        "null until the item's `similarity_descriptors` result is done.",
    )
    stream_url = media_urls.field(media_urls.stream_url)
    audio_url = media_urls.field(media_urls.audio_url)

    provider: Provider | None = to_one(m.Provider, "provider_id")

    tags: list[Tag] = to_many(
        lambda lo: lo.linked(m.ItemTag, "item_id", "tag_id", m.Tag, order_by=[m.Tag.name])
    )

    results: list[Annotated[Result, _TASKS]] = to_many(
        lambda lo: lo.by_column(m.Result, "item_id"),
        description="Results computed on this item, newest first.",
    )

    tasks: list[Annotated[Task, _TASKS]] = to_many(
        lambda lo: lo.by_column(m.Task, "item_id"),
        description="Tasks run on this item directly (not through a selection).",
    )

    selections: list[Selection] = to_many(
        lambda lo: lo.linked(m.SelectionItem, "item_id", "selection_id", m.Selection),
        description="Selections that list this item directly.",
    )

    annotation_tracks: list[Annotated[AnnotationTrack, _ANNOTATIONS]] = to_many(
        lambda lo: lo.by_column(m.AnnotationTrack, "item_id")
    )

    analysis_tracks: list[Annotated[AnalysisTrack, _ANALYSES]] = to_many(
        lambda lo: lo.by_column(m.AnalysisTrack, "item_id"),
        description="Analyses shown on this item (players draw these).",
    )


@maps(m.Selection)
@strawberry.type(description="A set of items and of other selections, nested without cycles.")
class Selection(Owned):
    title: str
    description: str

    items: list[Item] = to_many(
        lambda lo: lo.linked(m.SelectionItem, "selection_id", "item_id", m.Item),
        description="Items listed directly in this selection.",
    )

    children: list[Selection] = to_many(
        lambda lo: lo.linked(m.SelectionChild, "parent_id", "child_id", m.Selection),
        description="Selections nested directly in this one.",
    )

    parents: list[Selection] = to_many(
        lambda lo: lo.linked(m.SelectionChild, "child_id", "parent_id", m.Selection),
        description="Selections this one is nested in.",
    )

    all_items: list[Item] = to_many(
        lambda lo: lo.selection_items(),
        description="Items of this selection and of all nested ones, each once, newest first.",
    )
