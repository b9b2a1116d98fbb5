"""The stored ``audio_analysis`` outputs read back as a typed tree, over a time window.

The analyzer (core/analyzers/structure.py) stores sections, bars, beats, tatums and
segments as segment results; :func:`audio_analysis` reads those intersecting
``[start, stop)`` (only their rows when given h5py datasets, through
:func:`timeside_gql.core.series.window`) and the track summary::

    with h5py.File(path, "r") as h5:
        tree = audio_analysis({rid: hdf5.read_lazy(h5, rid) for rid in OUTPUT_IDS}, start=30)
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import numpy as np

from timeside_gql.core.analyzers.structure import (
    N_TIMBRE,
    SECTION_FIELDS,
    SEGMENT_FIELDS,
    TRACK_FIELDS,
)
from timeside_gql.core.hdf5 import LazyResult
from timeside_gql.core.results import AnalyzerResult
from timeside_gql.core.series import window

PREFIX = "audio_analysis"
OUTPUT_IDS = tuple(
    f"{PREFIX}.{name}"
    for name in ("track", "sections", "sections.features", "bars", "beats", "tatums", "segments")
)


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """A bar, beat or tatum: start and duration in seconds, confidence in [0, 1]."""

    start: float
    duration: float
    confidence: float


@dataclass(frozen=True, slots=True)
class Section:
    start: float
    duration: float
    confidence: float
    label: str  # sections of the same kind share a label ("A", "B", ...)
    loudness: float  # dBFS
    tempo: float  # BPM
    tempo_confidence: float
    key: int  # pitch class, C = 0
    key_confidence: float
    mode: int  # 1 major, 0 minor
    mode_confidence: float
    time_signature: int  # beats per bar
    time_signature_confidence: float


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    duration: float
    confidence: float
    loudness_start: float  # dBFS
    loudness_max: float  # dBFS
    loudness_max_time: float  # seconds after start
    pitches: tuple[float, ...]  # 12 chroma values, C first, max 1
    timbre: tuple[float, ...]  # 12 MFCC values in dB


@dataclass(frozen=True, slots=True)
class Track:
    duration: float
    loudness: float
    tempo: float
    tempo_confidence: float
    key: int
    key_confidence: float
    mode: int
    mode_confidence: float
    time_signature: int
    time_signature_confidence: float


@dataclass(frozen=True, slots=True)
class AudioAnalysis:
    track: Track
    sections: tuple[Section, ...]
    bars: tuple[TimeInterval, ...]
    beats: tuple[TimeInterval, ...]
    tatums: tuple[TimeInterval, ...]
    segments: tuple[Segment, ...]


Stored = AnalyzerResult | LazyResult
T = TypeVar("T")


def audio_analysis(
    outputs: Mapping[str, Stored], *, start: float | None = None, stop: float | None = None
) -> AudioAnalysis:
    """The elements of the analysis intersecting ``[start, stop)`` (default: all).

    ``outputs`` maps every id of :data:`OUTPUT_IDS` to its result, loaded or lazy.
    """
    missing = [rid for rid in OUTPUT_IDS if rid not in outputs]
    if missing:
        raise KeyError(f"audio analysis outputs missing: {', '.join(missing)}")

    def rows(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, AnalyzerResult]:
        meta, data = _split(outputs[f"{PREFIX}.{name}"])
        s = window(result=meta, data=data, start=start, stop=stop, max_points=sys.maxsize)
        values = s.values if s.values is not None else s.labels
        assert values is not None and s.durations is not None
        return s.times, s.durations, values, meta

    def intervals(name: str) -> tuple[TimeInterval, ...]:
        times, durations, confidence, _ = rows(name)
        return tuple(
            TimeInterval(float(t), float(d), float(c))
            for t, d, c in zip(times, durations, confidence, strict=True)
        )

    return AudioAnalysis(
        track=_track(outputs[f"{PREFIX}.track"]),
        sections=_sections(rows("sections"), rows("sections.features")),
        bars=intervals("bars"),
        beats=intervals("beats"),
        tatums=intervals("tatums"),
        segments=_segments(*rows("segments")[:3]),
    )


def _split(stored: Stored) -> tuple[AnalyzerResult, np.ndarray | None]:
    return (stored.meta, stored.data) if isinstance(stored, LazyResult) else (stored, None)


def _track(stored: Stored) -> Track:
    meta, data = _split(stored)
    values = np.asarray(meta.data if data is None else data[()], np.float64)
    return _typed(Track, **dict(zip(TRACK_FIELDS, values.tolist(), strict=True)))


def _sections(labelled: tuple, featured: tuple) -> tuple[Section, ...]:
    times, durations, labels, meta = labelled
    names = meta.data_object.label_metadata.label
    features = featured[2]
    return tuple(
        _typed(
            Section,
            start=float(t),
            duration=float(d),
            label=names.get(int(label), str(label)),
            **dict(zip(SECTION_FIELDS, np.asarray(row, np.float64).tolist(), strict=True)),
        )
        for t, d, label, row in zip(times, durations, labels, features, strict=True)
    )


def _typed(cls: type[T], **values: Any) -> T:
    """``cls(**values)`` with the fields annotated ``int`` (key, mode, ...) made ints."""
    kinds = {f.name: f.type for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: int(v) if kinds[k] == "int" else v for k, v in values.items()})


def _segments(times: np.ndarray, durations: np.ndarray, values: np.ndarray) -> tuple[Segment, ...]:
    values = np.asarray(values, np.float64).reshape(-1, len(SEGMENT_FIELDS))
    pitches, timbre = values[:, 4:16], values[:, 16 : 16 + N_TIMBRE]
    return tuple(
        Segment(
            start=float(t),
            duration=float(d),
            confidence=float(row[0]),
            loudness_start=float(row[1]),
            loudness_max=float(row[2]),
            loudness_max_time=float(row[3]),
            pitches=tuple(p.tolist()),
            timbre=tuple(c.tolist()),
        )
        for t, d, row, p, c in zip(times, durations, values, pitches, timbre, strict=True)
    )
