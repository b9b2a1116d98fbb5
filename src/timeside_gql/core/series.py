"""Windows of results for players: time-aligned, decimated, read by slice.

A player draws a result over a time window at a few hundred or thousand points, whatever the
result's length. :func:`window` serves one output over ``[start, stop)``:

* **framewise** outputs keep the frames of the window and, past ``max_points``, merge runs of
  consecutive frames into at most ``max_points`` points (pixel-style: point ``p`` of ``P``
  merges frames ``[p*n//P, (p+1)*n//P)``, so every point merges ``n//P`` or ``n//P + 1``
  frames). Features take the **mean** per point (per column for multi-dimensional ones: mfcc,
  chroma, spectrogram rows); waveform peaks take the **min/max envelope**; labels the most
  frequent label. Each point's time is the centre of the span its frames tile: without
  decimation, the frame times of the result (frame centres; bucket centres for the waveform
  analyzer, whose buckets are stamped at their start);
* **event** and **segment** outputs return every event or segment intersecting the window,
  never merged, capped at ``max_points`` with ``truncated`` set;
* **global** outputs return their one value, whatever the window.

Only the rows of the window are read: ``data`` may be an h5py dataset (see
:func:`timeside_gql.core.hdf5.read_lazy`), sliced once. Everything is vectorised (``reduceat``,
``bincount``): no Python loop runs over points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from timeside_gql.core.analyzers.waveform import Waveform
from timeside_gql.core.results import AnalyzerResult

Reduction = Literal["auto", "mean", "minmax"]
REDUCTIONS: tuple[str, ...] = ("auto", "mean", "minmax")
_EPSILON = 1e-6  # frame positions this close to an integer are that integer (float noise)


class Rows(Protocol):
    """What :func:`window` reads data from: a numpy array or an h5py dataset."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    def __getitem__(self, key: Any) -> Any: ...


class SeriesError(ValueError):
    """A window or a point budget that cannot be served (start after stop, no points)."""


@dataclass(frozen=True, slots=True)
class Series:
    """One output over a window; arrays have one row per point.

    ``values`` (value mode, unless min/max) and ``mins``/``maxs`` (min/max reduction) are
    ``(points,)`` for scalar outputs, ``(points, ...)`` otherwise (one column per bin or per
    channel); ``labels`` holds label ids (label mode); ``durations`` the segment durations.
    ``count`` is the number of frames, events or segments in the window before merging or
    capping; ``step`` the mean time between framewise points.
    """

    output: str
    data_mode: str
    time_mode: str
    start: float
    stop: float
    times: np.ndarray
    reduction: str = "none"
    values: np.ndarray | None = None
    mins: np.ndarray | None = None
    maxs: np.ndarray | None = None
    labels: np.ndarray | None = None
    durations: np.ndarray | None = None
    step: float | None = None
    count: int = 0
    truncated: bool = False

    @property
    def points(self) -> int:
        return len(self.times)

    @property
    def dimensions(self) -> int:
        """Numbers per point: 1 for scalar outputs, bins (or channels) otherwise."""
        array = next(a for a in (self.values, self.mins, self.labels, self.times) if a is not None)
        return math.prod(array.shape[1:])


def is_peaks(output_id: str) -> bool:
    """Whether an output holds (min, max) sample peaks: the waveform analyzer's levels."""
    return output_id == Waveform.pid or output_id.startswith(f"{Waveform.pid}.level")


def window(
    *,
    result: AnalyzerResult,
    data: Rows | None = None,
    start: float | None = None,
    stop: float | None = None,
    max_points: int = 1000,
    reduce: Reduction = "auto",
    peaks: bool | None = None,
) -> Series:
    """Serve ``result`` over ``[start, stop)`` seconds in at most ``max_points`` points.

    ``data`` is the value or label array when ``result`` carries only metadata (an h5py
    dataset: only the window's rows are read); by default ``result.data``. ``start`` and
    ``stop`` default to the result's span. ``reduce`` chooses how framewise values merge:
    ``auto`` (mean for features, min/max for waveform peaks), ``mean`` or ``minmax``.
    ``peaks`` says the data holds (min, max) pairs in its last axis, stamped at bucket starts
    (default: for the waveform analyzer's outputs).

    Examples
    --------
    A ramp feature at 100 frames per second, one frame centred every 10 ms:

    >>> import numpy as np
    >>> from timeside_gql.core.results import AnalyzerResult, DataObject, FrameMetadata
    >>> ramp = AnalyzerResult("value", "framewise", data_object=DataObject(
    ...     value=np.arange(100.0), frame_metadata=FrameMetadata(100, 1, 1)))
    >>> s = window(result=ramp, start=0.2, stop=0.25)
    >>> s.times, s.values
    (array([0.2 , 0.21, 0.22, 0.23, 0.24]), array([20., 21., 22., 23., 24.]))
    >>> s = window(result=ramp, max_points=4)
    >>> s.values, s.times
    (array([12., 37., 62., 87.]), array([0.12, 0.37, 0.62, 0.87]))
    >>> window(result=ramp, max_points=2, reduce="minmax").maxs
    array([49., 99.])

    Segments intersecting a window, never merged:

    >>> from timeside_gql.core.results import AudioMetadata
    >>> parts = AnalyzerResult("label", "segment", data_object=DataObject(
    ...     label=[0, 1, 0], time=[0.0, 1.0, 3.0], duration=[1.0, 2.0, 1.0]))
    >>> s = window(result=parts, start=1.5, stop=3.5)
    >>> s.labels, s.times, s.durations
    (array([1, 0]), array([1., 3.]), array([2., 1.]))
    """
    if max_points < 1:
        raise SeriesError(f"max_points must be at least 1, not {max_points}")
    if reduce not in REDUCTIONS:
        raise SeriesError(f"reduce must be one of {REDUCTIONS}, not {reduce!r}")
    rows = result.data if data is None else data
    first, last = _span(result, rows)
    lo = first if start is None else float(start)
    hi = last if stop is None else float(stop)
    if lo > hi:
        raise SeriesError(f"start ({lo}) is after stop ({hi})")
    if result.time_mode == "global":
        return _global(result, rows, lo, hi)
    if result.time_mode == "framewise":
        pairs = is_peaks(result.id) if peaks is None else peaks
        return _framewise(result, rows, lo, hi, max_points, reduce, pairs)
    return _events(result, rows, lo, hi, max_points)


def _made(result: AnalyzerResult, lo: float, hi: float, **fields: Any) -> Series:
    """A series of ``result`` over ``[lo, hi)`` (the window asked, not clipped)."""
    return Series(
        output=result.id,
        data_mode=result.data_mode,
        time_mode=result.time_mode,
        start=lo,
        stop=hi,
        **fields,
    )


def _as_data(result: AnalyzerResult, rows: np.ndarray) -> dict[str, np.ndarray]:
    return {"values" if result.data_mode == "value" else "labels": rows}


def _span(result: AnalyzerResult, rows: Rows) -> tuple[float, float]:
    """The time span a result covers: its audio, or its frames when the duration is unknown."""
    origin = result.audio_metadata.start
    duration = result.audio_metadata.duration
    if duration is None and result.time_mode == "framewise":
        duration = rows.shape[0] * _hop(result)
    if duration is None and result.time_mode != "global":
        ends = result.data_object.time + (
            result.data_object.duration if result.time_mode == "segment" else 0.0
        )
        duration = float(ends.max()) if ends.size else 0.0
    return origin, origin + (duration or 0.0)


def _hop(result: AnalyzerResult) -> float:
    fm = result.data_object.frame_metadata
    if not fm.samplerate or not fm.stepsize:
        raise SeriesError(f"{result.id}: framewise output without frame metadata")
    return fm.stepsize / fm.samplerate


def _global(result: AnalyzerResult, rows: Rows, lo: float, hi: float) -> Series:
    point = np.asarray(rows[()]).reshape(1, -1)
    point = point[:, 0] if point.shape[1] == 1 else point
    return _made(
        result,
        lo,
        hi,
        times=np.array([result.audio_metadata.start]),
        **_as_data(result, point),
        durations=np.array([result.audio_metadata.duration or 0.0]),
        count=1,
    )


def frame_range(
    *, count: int, origin: float, hop: float, start: float, stop: float, stamped_at_start: bool
) -> tuple[int, int]:
    """Indices ``[i, j)`` of the frames in a window.

    Frames stamped at their centre (features) are in when their centre is in
    ``[start, stop)``; buckets stamped at their start (waveform peaks) when they intersect it.

    >>> frame_range(count=100, origin=0.0, hop=0.01, start=0.2, stop=0.25,
    ...             stamped_at_start=False)
    (20, 25)
    >>> frame_range(count=100, origin=0.0, hop=0.01, start=0.205, stop=0.25,
    ...             stamped_at_start=True)
    (20, 25)
    """
    if stop <= start:
        return 0, 0
    a, b = (np.array([start, stop]) - origin) / hop
    a, b = (round(x) if abs(x - round(x)) < _EPSILON else x for x in (a, b))
    first = math.floor(a) if stamped_at_start else math.ceil(a)
    i, j = (min(max(int(x), 0), count) for x in (first, math.ceil(b)))
    return i, max(i, j)


def _framewise(
    result: AnalyzerResult,
    rows: Rows,
    lo: float,
    hi: float,
    max_points: int,
    reduce: str,
    peaks: bool,
) -> Series:
    hop = _hop(result)
    origin = result.audio_metadata.start
    i, j = frame_range(
        count=rows.shape[0], origin=origin, hop=hop, start=lo, stop=hi, stamped_at_start=peaks
    )
    block = np.asarray(rows[i:j])
    n = j - i
    points = min(n, max_points)
    starts = (np.arange(points) * n) // points if points else np.zeros(0, np.int64)
    counts = np.diff(np.append(starts, n))
    # each frame tiles one hop: [t - hop/2, t + hop/2) for centres, [t, t + hop) for buckets
    first_edge = origin + (i - (0.0 if peaks else 0.5)) * hop
    times = first_edge + (starts + counts / 2) * hop
    mode = ("minmax" if peaks else "mean") if reduce == "auto" else reduce
    fields: dict[str, Any] = {"reduction": "none" if n == points else mode}
    if result.data_mode == "label":
        fields |= {"labels": _most_frequent(block, counts), "reduction": "mode"}
    elif mode == "minmax":
        low, high = (block[..., 0], block[..., 1]) if peaks else (block, block)
        fields |= {
            "mins": np.minimum.reduceat(low, starts, axis=0) if points else low,
            "maxs": np.maximum.reduceat(high, starts, axis=0) if points else high,
        }
    else:
        sums = np.add.reduceat(block, starts, axis=0, dtype=np.float64) if points else block
        fields["values"] = sums / counts.reshape(-1, *([1] * (block.ndim - 1)))
    if n == points and "values" in fields:
        fields["values"] = block  # not merged: the stored values, dtype included
    return _made(
        result,
        lo,
        hi,
        times=times,
        step=hop * n / points if points else hop,
        count=n,
        **fields,
    )


def _most_frequent(labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The most frequent label of each run of ``counts`` labels (ties: the smallest id)."""
    if not labels.size:
        return labels
    ids, inverse = np.unique(labels, return_inverse=True)
    owner = np.repeat(np.arange(len(counts)), counts)
    table = np.bincount(owner * len(ids) + inverse.ravel(), minlength=len(counts) * len(ids))
    return ids[table.reshape(len(counts), len(ids)).argmax(axis=1)]


def _events(result: AnalyzerResult, rows: Rows, lo: float, hi: float, max_points: int) -> Series:
    times = result.audio_metadata.start + result.data_object.time
    if result.time_mode == "segment":
        durations = result.data_object.duration
        inside = (times < hi) & ((times + durations > lo) | ((durations == 0) & (times >= lo)))
    else:
        durations = np.zeros_like(times)
        inside = (times >= lo) & (times < hi)
    chosen = np.flatnonzero(inside) if hi > lo else np.zeros(0, np.int64)
    count = len(chosen)
    chosen = chosen[:max_points]
    first = chosen[0] if count else 0
    block = np.asarray(rows[first : chosen[-1] + 1] if count else rows[0:0])[chosen - first]
    return _made(
        result,
        lo,
        hi,
        times=times[chosen],
        **_as_data(result, block),
        durations=durations[chosen] if result.time_mode == "segment" else None,
        count=count,
        truncated=count > max_points,
    )


def waveform(
    *,
    levels: Sequence[tuple[AnalyzerResult, Rows]],
    start: float | None = None,
    stop: float | None = None,
    pixels: int = 1000,
) -> tuple[Series, int]:
    """The min/max envelope of ``[start, stop)`` in at most ``pixels`` columns, from a pyramid.

    ``levels`` are the waveform analyzer's outputs (level 0 first) as (metadata, peaks)
    pairs. The coarsest level with at least one bucket per pixel in the window is read (only
    the window's rows), then merged to ``pixels`` columns; a window too short for that gets
    level 0's buckets as they are. Returns the envelope and the level read.

    >>> import numpy as np
    >>> from timeside_gql.core.results import (
    ...     AnalyzerResult, AudioMetadata, DataObject, FrameMetadata)
    >>> def level(k, peaks):
    ...     return AnalyzerResult("value", "framewise", audio_metadata=AudioMetadata(duration=8.0),
    ...         data_object=DataObject(value=peaks, frame_metadata=FrameMetadata(2, 4**k, 4**k)))
    >>> fine = np.stack([-np.arange(16.0), np.arange(16.0)], axis=1)
    >>> coarse = np.stack([-np.arange(3.0, 16, 4), np.arange(3.0, 16, 4)], axis=1)
    >>> levels = [(level(0, fine), fine), (level(1, coarse), coarse)]
    >>> envelope, used = waveform(levels=levels, pixels=4)
    >>> used, envelope.maxs, envelope.times
    (1, array([ 3.,  7., 11., 15.]), array([1., 3., 5., 7.]))
    >>> waveform(levels=levels, start=0.0, stop=2.0, pixels=4)[0].maxs
    array([0., 1., 2., 3.])
    """
    if pixels < 1:
        raise SeriesError(f"pixels must be at least 1, not {pixels}")
    chosen = 0
    for index, (meta, peaks) in enumerate(levels):
        first, last = _span(meta, peaks)
        i, j = frame_range(
            count=peaks.shape[0],
            origin=meta.audio_metadata.start,
            hop=_hop(meta),
            start=first if start is None else start,
            stop=last if stop is None else stop,
            stamped_at_start=True,
        )
        if j - i >= pixels:
            chosen = index
    meta, peaks = levels[chosen]
    envelope = window(
        result=meta, data=peaks, start=start, stop=stop, max_points=pixels, peaks=True
    )
    return envelope, chosen
