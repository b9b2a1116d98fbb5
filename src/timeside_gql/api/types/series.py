"""Data for players: a result's outputs, global values, windows of series, item waveforms.

The readers are plain functions of (stored result, arguments, settings), so every type that
serves results (``Result.series``, ``AnalysisTrack.series``) shares them. Reading never starts
processing: a result that is not done gives null, and its ``status`` says why. Files are read
in a worker thread and only the rows of the window are read (``core.series``,
``core.hdf5.read_lazy``); rows come from the operation's loaders, so a list of items with
their waveforms costs a fixed number of SELECTs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Any, NewType, Protocol, TypeVar
from uuid import UUID

import h5py
import numpy as np
import strawberry
from anyio import to_thread
from strawberry.scalars import JSON

from timeside_gql.api.errors import ClientError
from timeside_gql.api.scope import current_scope
from timeside_gql.api.types.base import loaders
from timeside_gql.core import hdf5
from timeside_gql.core import series as core
from timeside_gql.core.analyzers.waveform import Waveform as WaveformAnalyzer
from timeside_gql.core.results import AnalyzerResult
from timeside_gql.db import models as m
from timeside_gql.settings import Settings
from timeside_gql.storage.files import result_path

T = TypeVar("T")

Numbers = NewType("Numbers", list)


def _same(value: Any) -> Any:
    return value


#: In the schema's ``scalar_map``: arrays that a [Float] list would serialise one number at a
#: time (several times slower on the thousands of values a player asks for).
NUMBERS_SCALAR = strawberry.scalar(
    name="Numbers",
    description="A JSON array of numbers, null where a value is not a number.",
    serialize=_same,
    parse_value=_same,
)


class StoredResult(Protocol):
    """What the readers need of a result: a ``Result`` row or its GraphQL object."""

    id: UUID
    status: m.ResultStatus
    hdf5_path: str | None


@strawberry.enum(description="How a framewise output merges frames into fewer points.")
class SeriesReduction(Enum):
    AUTO = "auto"  # mean for features, min/max for waveform peaks
    MEAN = "mean"
    MIN_MAX = "minmax"


@strawberry.type(description="A label id of an output and what it stands for.")
class LabelName:
    id: int
    name: str
    description: str


@strawberry.type(description="One output stored in a result, and its value when it is global.")
class ResultOutput:
    id: str
    name: str
    unit: str
    description: str
    data_mode: str = strawberry.field(description="`value` or `label`.")
    time_mode: str = strawberry.field(description="`global`, `framewise`, `event` or `segment`.")
    count: int = strawberry.field(description="Frames, events or segments (1 when global).")
    dimensions: int = strawberry.field(description="Numbers per frame (bins, channels), or 1.")
    samplerate: float | None = strawberry.field(description="Frame rate base (framewise).")
    blocksize: int | None = strawberry.field(description="Frame length in samples.")
    stepsize: int | None = strawberry.field(description="Samples between frame starts.")
    y_values: list[float] | None = strawberry.field(
        description="What each dimension stands for, e.g. bin frequencies in Hz."
    )
    labels: list[LabelName]
    value: JSON | None = strawberry.field(
        description="Global outputs: a number, a list of numbers, or label names."
    )


@strawberry.type(
    description="An output over a time window, in at most `maxPoints` time-aligned points. "
    "Framewise outputs merge runs of frames per point (mean, min/max, or most frequent label); "
    "events and segments intersecting the window come as they are, capped at `maxPoints`."
)
class Series:
    output: str
    unit: str
    data_mode: str
    time_mode: str
    start: float = strawberry.field(description="The window served, in seconds.")
    stop: float
    count: int = strawberry.field(
        description="Frames, events or segments in the window before merging or capping."
    )
    truncated: bool = strawberry.field(description="Events or segments were left out.")
    reduction: str = strawberry.field(description="`none`, `mean`, `minmax` or `mode`.")
    step: float | None = strawberry.field(description="Mean seconds between framewise points.")
    dimensions: int = strawberry.field(description="Numbers per point in `values`, `min`, `max`.")
    times: Numbers = strawberry.field(
        description="Seconds: the centre of each point's frames; event and segment starts."
    )
    durations: Numbers | None = strawberry.field(description="Segment durations.")
    values: Numbers | None = strawberry.field(
        description="`dimensions` numbers per point, row after row; null where not a number."
    )
    min: Numbers | None
    max: Numbers | None
    labels: list[int] | None = strawberry.field(description="Label id of each point.")
    label_names: list[LabelName]


@strawberry.type(description="Min and max of one channel per column.")
class WaveformChannel:
    min: Numbers
    max: Numbers


@strawberry.type(
    description="Min/max peaks of an item in at most `pixels` columns, read from the stored "
    "multi-resolution waveform result: column i covers times[i] ± step/2."
)
class Waveform:
    result_id: UUID
    start: float
    stop: float
    step: float = strawberry.field(description="Mean seconds per column.")
    level: int = strawberry.field(description="Pyramid level read (0: finest).")
    samples_per_peak: int = strawberry.field(description="Samples per bucket at that level.")
    times: Numbers
    min: Numbers = strawberry.field(description="Over every channel (or the mono downmix).")
    max: Numbers
    channels: list[WaveformChannel] = strawberry.field(
        description="Per channel when the result kept channels; else the downmix alone."
    )


# ---------------------------------------------------------------------------------------------
# Arguments


@dataclass(frozen=True, slots=True)
class SeriesArgs:
    output: str | None = None
    start: float | None = None
    stop: float | None = None
    max_points: int = 1000
    reduce: SeriesReduction = SeriesReduction.AUTO


@dataclass(frozen=True, slots=True)
class WaveformArgs:
    start: float | None = None
    stop: float | None = None
    pixels: int = 1000


#: Bound of a window's start and stop: far past any audio, and its span times any samplerate
#: stays an exact integer (1e308 - -1e308 overflowed to infinity).
MAX_SECONDS = 1e9


def _check_window(
    start: float | None, stop: float | None, points: int, name: str, cap: int
) -> None:
    """Refuse what no result could serve, before any file is opened."""
    if not 1 <= points <= cap:
        raise ClientError(f"{name} must be between 1 and {cap}, not {points}")
    for bound in (start, stop):
        if bound is not None and not abs(bound) <= MAX_SECONDS:  # NaN fails too
            raise ClientError(
                f"start and stop must be numbers of seconds within ±{MAX_SECONDS:g}, not {bound}"
            )
    if start is not None and stop is not None and start > stop:
        raise ClientError(f"start ({start}) is after stop ({stop})")


# ---------------------------------------------------------------------------------------------
# Readers: plain functions (stored result, arguments, settings), run in a worker thread


@contextmanager
def open_result(result: StoredResult, settings: Settings) -> Iterator[h5py.File | None]:
    """The result's HDF5 file, or None while it is not done (reading never computes)."""
    if result.status != m.ResultStatus.DONE or not result.hdf5_path:
        yield None
        return
    try:
        h5 = h5py.File(result_path(Path(settings.data_dir), result.hdf5_path), "r")
    except FileNotFoundError:
        raise ClientError(f"the file of result {result.id} is missing", code="NOT_FOUND") from None
    with h5:
        yield h5


def _output(h5: h5py.File, output: str | None) -> hdf5.LazyResult:
    """The output named, or the result's main one (the first written)."""
    ids = list(h5)
    if not ids:
        raise ClientError("this result stores no output")
    rid = ids[0] if output is None else output
    if rid not in h5:
        raise ClientError(f"no output {output!r} in this result; it has {', '.join(ids)}")
    return hdf5.read_lazy(h5, rid)


def read_outputs(result: StoredResult, settings: Settings) -> list[ResultOutput] | None:
    with open_result(result, settings) as h5:
        return None if h5 is None else [_describe(hdf5.read_lazy(h5, rid)) for rid in h5]


def read_value(result: StoredResult, output: str | None, settings: Settings) -> Any:
    with open_result(result, settings) as h5:
        if h5 is None:
            return None
        stored = _output(h5, output)
        if stored.meta.time_mode != "global":
            raise ClientError(
                f"{stored.meta.id} is a {stored.meta.time_mode} output: read it with `series`"
            )
        return _plain_value(stored)


def read_series(result: StoredResult, args: SeriesArgs, settings: Settings) -> Series | None:
    _check_window(args.start, args.stop, args.max_points, "maxPoints", settings.max_series_points)
    with open_result(result, settings) as h5:
        if h5 is None:
            return None
        stored = _output(h5, args.output)
        window = _core(
            core.window,
            result=stored.meta,
            data=stored.data,
            start=args.start,
            stop=args.stop,
            max_points=args.max_points,
            reduce=args.reduce.value,
        )
        return _series(window, stored.meta)


def read_waveform(result: StoredResult, args: WaveformArgs, settings: Settings) -> Waveform | None:
    _check_window(args.start, args.stop, args.pixels, "pixels", settings.max_series_points)
    with open_result(result, settings) as h5:
        if h5 is None:
            return None
        levels = [hdf5.read_lazy(h5, rid, brief=True) for rid in h5 if core.is_peaks(rid)]
        if not levels:
            raise ClientError(f"result {result.id} holds no waveform peaks")
        envelope, level = _core(
            core.waveform,
            levels=[(stored.meta, stored.data) for stored in levels],
            start=args.start,
            stop=args.stop,
            pixels=args.pixels,
        )
        return _waveform(result.id, envelope, level, levels[level].meta)


def _core(function: Callable[..., T], **kwargs: Any) -> T:
    try:
        return function(**kwargs)
    except core.SeriesError as error:
        raise ClientError(str(error)) from None


# ---------------------------------------------------------------------------------------------
# numpy to GraphQL


def _floats(array: np.ndarray | None) -> Numbers | None:
    """Row after row; NaN (not JSON) becomes null."""
    if array is None:
        return None
    flat = np.asarray(array, dtype=np.float64).ravel()
    plain: list[Any] = flat.tolist()
    if np.isnan(flat).any():
        return Numbers([None if math.isnan(x) else x for x in plain])
    return Numbers(plain)


def _label_names(meta: AnalyzerResult) -> list[LabelName]:
    lm = meta.data_object.label_metadata
    return [
        LabelName(id=key, name=name, description=lm.description.get(key, ""))
        for key, name in sorted(lm.label.items())
    ]


def _plain_value(stored: hdf5.LazyResult) -> Any:
    """A global output as JSON: one number or name alone, several as a list."""
    data = np.asarray(stored.data[()]).ravel()
    if stored.meta.data_mode == "label":
        names = stored.meta.data_object.label_metadata.label
        plain: list[Any] = [names.get(int(key), str(int(key))) for key in data]
    elif data.dtype.kind == "f":
        plain = _floats(data) or []
    else:
        plain = data.tolist()  # integers and booleans as they are
    return plain[0] if len(plain) == 1 else plain


def _describe(stored: hdf5.LazyResult) -> ResultOutput:
    meta, shape = stored.meta, stored.data.shape
    fm = meta.data_object.frame_metadata
    framewise = meta.time_mode == "framewise"
    return ResultOutput(
        id=meta.id,
        name=meta.name,
        unit=meta.unit,
        description=meta.id_metadata.description,
        data_mode=meta.data_mode,
        time_mode=meta.time_mode,
        count=1 if meta.time_mode == "global" else (shape[0] if shape else 0),
        dimensions=math.prod(shape[1:]) if meta.time_mode != "global" else math.prod(shape),
        samplerate=fm.samplerate if framewise else None,
        blocksize=fm.blocksize if framewise else None,
        stepsize=fm.stepsize if framewise else None,
        y_values=meta.data_object.y_value.tolist() if meta.data_object.y_value.size else None,
        labels=_label_names(meta),
        value=_plain_value(stored) if meta.time_mode == "global" else None,
    )


def _series(window: core.Series, meta: AnalyzerResult) -> Series:
    return Series(
        output=window.output,
        unit=meta.unit,
        data_mode=window.data_mode,
        time_mode=window.time_mode,
        start=window.start,
        stop=window.stop,
        count=window.count,
        truncated=window.truncated,
        reduction=window.reduction,
        step=window.step,
        dimensions=window.dimensions,
        times=window.times.tolist(),
        durations=None if window.durations is None else window.durations.tolist(),
        values=_floats(window.values),
        min=_floats(window.mins),
        max=_floats(window.maxs),
        labels=None if window.labels is None else window.labels.ravel().tolist(),
        label_names=_label_names(meta),
    )


def _waveform(result_id: UUID, envelope: core.Series, level: int, meta: AnalyzerResult) -> Waveform:
    assert envelope.mins is not None and envelope.maxs is not None
    mins, maxs = envelope.mins, envelope.maxs
    per_channel = mins.ndim > 1  # (columns, channels) when the analyzer kept the channels
    channels = zip(mins.T, maxs.T, strict=True) if per_channel else [(mins, maxs)]
    return Waveform(
        result_id=result_id,
        start=envelope.start,
        stop=envelope.stop,
        step=envelope.step or 0.0,
        level=level,
        samples_per_peak=meta.data_object.frame_metadata.stepsize or 0,
        times=envelope.times.tolist(),
        min=(mins.min(axis=1) if per_channel else mins).tolist(),
        max=(maxs.max(axis=1) if per_channel else maxs).tolist(),
        channels=[WaveformChannel(min=lo.tolist(), max=hi.tolist()) for lo, hi in channels],
    )


# ---------------------------------------------------------------------------------------------
# Resolvers


def _settings() -> Settings:
    return current_scope().settings


async def resolve_series(
    result: StoredResult, args: SeriesArgs, settings: Settings
) -> Series | None:
    """``read_series`` off the event loop: what ``Result.series`` and others resolve with."""
    current_scope().charge_points(args.max_points)
    return await to_thread.run_sync(partial(read_series, result, args, settings))


async def result_outputs(root: strawberry.Parent[StoredResult]) -> list[ResultOutput] | None:
    return await to_thread.run_sync(partial(read_outputs, root, _settings()))


async def result_value(
    root: strawberry.Parent[StoredResult], output: str | None = None
) -> JSON | None:
    return await to_thread.run_sync(partial(read_value, root, output, _settings()))


async def result_series(
    root: strawberry.Parent[StoredResult],
    output: str | None = None,
    start: float | None = None,
    stop: float | None = None,
    max_points: int = 1000,
    reduce: SeriesReduction = SeriesReduction.AUTO,
) -> Series | None:
    args = SeriesArgs(output, start, stop, max_points, reduce)
    return await resolve_series(root, args, _settings())


async def item_waveform(
    root: strawberry.Parent[Any],
    start: float | None = None,
    stop: float | None = None,
    pixels: int = 1000,
) -> Waveform | None:
    args, settings = WaveformArgs(start, stop, pixels), _settings()
    _check_window(start, stop, pixels, "pixels", settings.max_series_points)
    current_scope().charge_points(pixels)
    result = await _waveform_result(root.id)
    if result is None:
        return None
    return await to_thread.run_sync(partial(read_waveform, result, args, settings))


async def _waveform_result(item_id: UUID) -> m.Result | None:
    """The item's done waveform result, the finest if there are several."""
    waveforms = [
        (preset.parameters.get("samples_per_peak", math.inf), index, result)
        for index, (result, preset) in enumerate(await done_results(item_id, WaveformAnalyzer.pid))
    ]
    return min(waveforms, key=lambda w: w[:2])[2] if waveforms else None


async def done_results(item_id: UUID, pid: str) -> list[tuple[m.Result, m.Preset]]:
    """The item's done results of processor ``pid`` with their presets, newest first (through
    the loaders: one SELECT per relation whatever the number of items)."""
    done = [
        result
        for result in await loaders().by_column(m.Result, "item_id").load(item_id)
        if result.status == m.ResultStatus.DONE and result.hdf5_path
    ]
    presets = await loaders().by_id(m.Preset).load_many([r.preset_id for r in done])
    processor_ids = [p.processor_id for p in presets if p is not None]
    processors = await loaders().by_id(m.Processor).load_many(processor_ids)
    pids = {p.id: p.pid for p in processors if p is not None}
    return [
        (result, preset)
        for result, preset in zip(done, presets, strict=True)
        if preset is not None and pids.get(preset.processor_id) == pid
    ]
