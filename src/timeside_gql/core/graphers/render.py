"""A picture for any analyzer result, chosen by its time mode and data mode.

framewise values: a line (an envelope when frames outnumber pixels), or an image for a
matrix (spectra, MFCC, chroma); events: marks (stems sized by value); segments and
framewise labels: spans coloured by label (or bars sized by value); globals: bars and text.
The server uses :func:`render` for zoomed views (``start``/``stop`` in seconds).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from timeside_gql.core.graphers import colors, draw
from timeside_gql.core.results import AnalyzerResult

MAX_LINES = 4
"""Framewise matrices with more columns than this are drawn as images, not lines."""
DB_RANGE = 80.0
"""Non-negative data spanning more than this many dB is shown in dB (spectra)."""


class RenderError(ValueError):
    """The result cannot be drawn as asked (empty time window, bad size)."""


def render(
    result: AnalyzerResult,
    width: int,
    height: int,
    start: float | None = None,
    stop: float | None = None,
    *,
    background: str = "#ffffff",
    foreground: str = "#1f3f9f",
    palette: Sequence[str] = colors.SPECTROGRAM_PALETTE,
) -> Image.Image:
    """Draw ``result`` on a ``width`` x ``height`` RGBA image over [start, stop] seconds."""
    if width < 1 or height < 1:
        raise RenderError(f"image size must be positive, got {width}x{height}")
    canvas = draw.blank(width, height, colors.parse(background))
    fg = colors.parse(foreground)
    if result.time_mode == "global":
        return _global(result, canvas, fg)
    edges = draw.column_times(*_window(result, start, stop), width)
    data_mode, time_mode = result.modes
    if time_mode == "framewise" and data_mode == "value":
        values = result.data_object.value
        if values.ndim > 1 and values[0].size > MAX_LINES:
            _matrix(result, canvas, edges, colors.palette(palette))
        else:
            _lines(result, canvas, edges, fg)
    elif time_mode == "event":
        _marks(result, canvas, edges, fg)
    else:
        _spans(result, canvas, edges, fg)
    return Image.fromarray(canvas, "RGBA")


def _window(result: AnalyzerResult, start: float | None, stop: float | None) -> tuple[float, float]:
    audio = result.audio_metadata
    t0 = audio.start if start is None else float(start)
    if stop is None:
        if audio.duration:
            stop = audio.start + audio.duration
        else:
            ends = np.asarray(result.time) + np.asarray(result.duration)
            stop = float(ends.max()) if ends.size else t0 + 1.0
    if not stop > t0:
        raise RenderError(f"empty time window: start {t0} s, stop {stop} s")
    return t0, float(stop)


def _value_range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    margin = (hi - lo) * 0.05 or max(abs(hi), 1.0) * 0.5
    return lo - margin, hi + margin


def _lines(result: AnalyzerResult, canvas: np.ndarray, edges: np.ndarray, fg: colors.RGBA) -> None:
    values = result.data_object.value.astype(np.float64)
    values = values.reshape(len(values), -1)
    height = canvas.shape[0]
    vmin, vmax = _value_range(values)
    low, high = draw.per_column(*_hold_edges(values, np.asarray(result.time)), edges)
    line_colors = [fg] + [colors.parse(c) for c in colors.LABEL_COLORS]
    for k in range(values.shape[1]):
        top = draw.to_rows(high[:, k], vmin, vmax, height)
        bottom = draw.to_rows(low[:, k], vmin, vmax, height)
        draw.paint(canvas, draw.span_mask(*draw.connect(top, bottom), height), line_colors[k])


def _hold_edges(values: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Extend the first and last frames by half a step: each frame stands for its span."""
    if len(times) < 2:
        return values, times
    half = (times[1] - times[0]) / 2
    times = np.concatenate([[times[0] - half], times, [times[-1] + half]])
    return np.concatenate([values[:1], values, values[-1:]]), times


def _normalise(values: np.ndarray) -> np.ndarray:
    """Values to [0, 1]; wide-range non-negative data (spectra) on a dB scale."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros_like(values)
    if finite.min() >= 0 and finite.max() > 0:
        floor = finite.max() * 10 ** (-DB_RANGE / 20)
        if np.percentile(finite, 5) < floor:
            db = 20 * np.log10(np.maximum(values, floor) / finite.max())
            return 1.0 + db / DB_RANGE
    lo, hi = float(finite.min()), float(finite.max())
    return (values - lo) / (hi - lo) if hi > lo else np.full_like(values, 0.5)


def _matrix(
    result: AnalyzerResult, canvas: np.ndarray, edges: np.ndarray, table: np.ndarray
) -> None:
    values = result.data_object.value
    frames, _ = draw.per_column(
        values.reshape(len(values), -1), np.asarray(result.time), edges, how="mean"
    )
    columns = _normalise(frames)  # after the reduction: costs the image, not the matrix
    height = canvas.shape[0]
    bins = columns.shape[1]
    # row 0 is the top: the highest bin
    row_bins = np.minimum(((height - 1 - np.arange(height)) * bins) // height, bins - 1)
    image = colors.apply(table, columns[:, row_bins].T)
    drawn = np.isfinite(columns[:, row_bins].T)
    canvas[drawn] = image[drawn]


def _marks(result: AnalyzerResult, canvas: np.ndarray, edges: np.ndarray, fg: colors.RGBA) -> None:
    height, width = canvas.shape[:2]
    times = np.asarray(result.time)
    column = np.floor((times - edges[0]) / (edges[-1] - edges[0]) * width).astype(np.intp)
    inside = (column >= 0) & (column < width)
    if result.data_mode == "value" and result.data.size:
        values = result.data_object.value.astype(np.float64).reshape(len(times), -1)[:, 0]
        vmin, vmax = _value_range(np.append(values, 0.0))
        top = np.full(width, np.nan)
        bottom = np.full(width, np.nan)
        top[column[inside]] = draw.to_rows(values[inside], vmin, vmax, height)
        bottom[column[inside]] = draw.to_rows(np.zeros(inside.sum()), vmin, vmax, height)
        draw.paint(canvas, draw.span_mask(top, bottom, height), fg)
        return
    mask = np.zeros((height, width), dtype=bool)
    mask[:, column[inside]] = True
    per_column = np.broadcast_to(np.asarray(fg, np.float64), (width, 4)).copy()
    if result.data_mode == "label":
        per_column[column[inside]] = _label_colors(result.data[inside])
    draw.paint(canvas, mask, per_column)


def _label_colors(labels: np.ndarray) -> np.ndarray:
    table = np.array([colors.parse(c) for c in colors.LABEL_COLORS], dtype=np.float64)
    return table[np.asarray(labels, dtype=np.intp) % len(table)]


def _segments(result: AnalyzerResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, payload) of spans; framewise labels become runs of equal labels."""
    times = np.asarray(result.time, dtype=np.float64)
    ends = times + np.asarray(result.duration, dtype=np.float64)
    data = result.data
    if result.time_mode == "framewise" and len(data):
        change = np.flatnonzero(np.diff(data)) + 1
        first = np.concatenate([[0], change])
        last = np.concatenate([change, [len(data)]]) - 1
        step = times[1] - times[0] if len(times) > 1 else ends[0] - times[0]
        return times[first], times[last] + step, data[first]
    order = np.argsort(times, kind="stable")
    return times[order], ends[order], data[order]


def _spans(result: AnalyzerResult, canvas: np.ndarray, edges: np.ndarray, fg: colors.RGBA) -> None:
    height, width = canvas.shape[:2]
    starts, ends, payload = _segments(result)
    if not len(starts):
        return
    centres = (edges[:-1] + edges[1:]) / 2
    # each column shows the last segment starting at or before its centre, if still running
    index = np.searchsorted(starts, centres, side="right") - 1
    covered = (index >= 0) & (centres < ends[np.maximum(index, 0)])
    index = np.maximum(index, 0)
    if result.data_mode == "label":
        column_colors = _label_colors(payload)[index]
        column_colors[:, 3] = 160
        draw.paint(canvas, np.broadcast_to(covered, (height, width)), column_colors)
        return
    values = payload.astype(np.float64).reshape(len(payload), -1)[:, 0]
    vmin, vmax = _value_range(np.append(values, 0.0))
    top = np.where(covered, draw.to_rows(values[index], vmin, vmax, height), np.nan)
    bottom = np.where(covered, draw.to_rows(np.zeros(width), vmin, vmax, height), np.nan)
    draw.paint(canvas, draw.span_mask(top, bottom, height), fg)


def _global(result: AnalyzerResult, canvas: np.ndarray, fg: colors.RGBA) -> Image.Image:
    """Bars for the elements of a global value (one bar for a scalar), then its text."""
    height, width = canvas.shape[:2]
    if result.data_mode == "value" and result.data.size:
        values = result.data_object.value.astype(np.float64).reshape(-1)
        vmin, vmax = _value_range(np.append(values, 0.0))
        bar = np.minimum(np.arange(width) * len(values) // width, len(values) - 1)
        top = draw.to_rows(values[bar], vmin, vmax, height)
        bottom = draw.to_rows(np.zeros(width), vmin, vmax, height)
        draw.paint(canvas, draw.span_mask(top, bottom, height), (*fg[:3], 96))
        text = " ".join(f"{v:.4g}" for v in values[:8]) + (" ..." if len(values) > 8 else "")
        text = f"{text} {result.unit}".strip()
    else:
        names = result.data_object.label_metadata.label
        text = ", ".join(names.get(int(k), str(k)) for k in result.data)
    image = Image.fromarray(canvas, "RGBA")
    font = ImageFont.load_default(size=max(8, min(height // 3, 48)))
    ImageDraw.Draw(image).text((width / 2, height / 2), text, fill=fg, font=font, anchor="mm")
    return image
