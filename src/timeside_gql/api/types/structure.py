"""``Item.audioAnalysis``: the stored ``audio_analysis`` result as typed fields, over a window.

The shape of Spotify's audio analysis (sections, bars, beats, tatums, segments, and the track's
tempo, key, mode and time signature, each with a confidence), read from the item's result by
``core.structure``. Reading never computes: null until a task ran the ``audio_analysis`` preset
on the item.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from typing import Any

import strawberry
from anyio import to_thread

from timeside_gql.api.types.series import done_results, open_result
from timeside_gql.core import hdf5, structure
from timeside_gql.core.analyzers.tonal import PITCH_CLASSES
from timeside_gql.db import models as m
from timeside_gql.settings import Settings

PID = "audio_analysis"


@strawberry.type(description="A bar, beat or tatum.")
class TimeInterval:
    start: float = strawberry.field(description="Seconds.")
    duration: float = strawberry.field(description="Seconds.")
    confidence: float = strawberry.field(description="0 to 1.")


@strawberry.type(description="Tempo, key, mode and meter, each with a confidence (0 to 1).")
class Musical:
    loudness: float = strawberry.field(description="dBFS.")
    tempo: float = strawberry.field(description="Beats per minute.")
    tempo_confidence: float
    key: int = strawberry.field(description="Pitch class of the tonic: 0 = C … 11 = B.")
    key_name: str = strawberry.field(description='The key as "A", "C#"….')
    key_confidence: float
    mode: int = strawberry.field(description="1 major, 0 minor.")
    mode_confidence: float
    time_signature: int = strawberry.field(description="Beats per bar.")
    time_signature_confidence: float


@strawberry.type(description="A section: a stretch of homogeneous harmony, timbre and rhythm.")
class Section(Musical):
    start: float
    duration: float
    confidence: float
    label: str = strawberry.field(description='Sections of the same kind share it: "A", "B"….')


@strawberry.type(description="The whole track.")
class TrackSummary(Musical):
    duration: float


@strawberry.type(description="A short sound event, from one onset to the next.")
class Segment:
    start: float
    duration: float
    confidence: float
    loudness_start: float = strawberry.field(description="dBFS at the start.")
    loudness_max: float = strawberry.field(description="Loudest dBFS in the segment.")
    loudness_max_time: float = strawberry.field(description="Seconds from start to the loudest.")
    pitches: list[float] = strawberry.field(description="12 chroma values, C first, max 1.")
    timbre: list[float] = strawberry.field(description="12 timbre (MFCC) values, dB.")


@strawberry.type(description="Structure of a track, over the window asked for.")
class AudioAnalysis:
    result_id: strawberry.ID
    track: TrackSummary
    sections: list[Section]
    bars: list[TimeInterval]
    beats: list[TimeInterval]
    tatums: list[TimeInterval]
    segments: list[Segment]


async def item_audio_analysis(
    root: strawberry.Parent[Any], start: float | None = None, stop: float | None = None
) -> AudioAnalysis | None:
    """The newest ``audio_analysis`` result of the item, its elements intersecting
    [start, stop) seconds; null until one is done."""
    from timeside_gql.api.scope import current_scope

    found = await done_results(root.id, PID)
    if not found:
        return None
    result = found[0][0]
    read = partial(read_analysis, result, start, stop, current_scope().settings)
    return await to_thread.run_sync(read)


def read_analysis(
    result: m.Result, start: float | None, stop: float | None, settings: Settings
) -> AudioAnalysis | None:
    with open_result(result, settings) as h5:
        if h5 is None:
            return None
        outputs = {rid: hdf5.read_lazy(h5, rid) for rid in structure.OUTPUT_IDS}
        tree = structure.audio_analysis(outputs, start=start, stop=stop)
    return AudioAnalysis(
        result_id=strawberry.ID(str(result.id)),
        track=TrackSummary(**_musical(tree.track)),
        sections=[Section(**_musical(section)) for section in tree.sections],
        bars=[TimeInterval(**asdict(bar)) for bar in tree.bars],
        beats=[TimeInterval(**asdict(beat)) for beat in tree.beats],
        tatums=[TimeInterval(**asdict(tatum)) for tatum in tree.tatums],
        segments=[_segment(segment) for segment in tree.segments],
    )


def _musical(element: Any) -> dict[str, Any]:
    values = asdict(element)
    values["key_name"] = PITCH_CLASSES[values["key"] % 12]
    return values


def _segment(segment: structure.Segment) -> Segment:
    values = asdict(segment)
    values["pitches"], values["timbre"] = list(segment.pitches), list(segment.timbre)
    return Segment(**values)
