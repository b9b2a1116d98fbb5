"""Raster primitives on numpy arrays: series to pixel columns, filled column spans.

Everything works a column or a row at a time with array operations; no per-pixel Python.
Rows count from the top, as in images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def column_times(t0: float, t1: float, width: int) -> np.ndarray:
    """The ``width + 1`` time edges of the pixel columns spanning [t0, t1]."""
    return np.linspace(t0, t1, width + 1)


def per_column(
    values: np.ndarray, times: np.ndarray, edges: np.ndarray, *, how: str = "range"
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of ``values`` (axis 0, sampled at sorted ``times``) in each column.

    Columns holding several items reduce them (``how="range"``: min and max, ignoring NaN;
    ``"mean"``: the mean twice). Columns between two items interpolate linearly, so sparse
    series stay smooth. Columns outside the items give NaN: nothing is drawn there.
    The input is reduced in place of copying it: large matrices cost only their output.
    """
    values = np.asarray(values)
    times = np.asarray(times, dtype=np.float64)
    n, trailing = len(values), values.shape[1:]
    low = np.full((len(edges) - 1, *trailing), np.nan)
    high = low.copy()
    lo = np.searchsorted(times, edges[:-1], side="left")
    hi = np.maximum(np.searchsorted(times, edges[1:], side="left"), lo)
    k = int(np.count_nonzero(lo < n))  # columns are sorted: the first k start inside
    if k:
        # only the visible items are touched (a zoomed view of a long result stays cheap)
        first, last = lo[0], max(hi[k - 1], lo[k - 1] + 1)
        visible = values[first:last]
        bounds = np.stack([lo[:k], hi[:k]], axis=1).reshape(-1) - first
        if bounds[-1] == len(visible):  # reduceat's last segment runs to the end anyway
            bounds = bounds[:-1]
        if how == "mean":
            sums = np.add.reduceat(visible, bounds, axis=0)[::2]
            counts = np.maximum(hi[:k] - lo[:k], 1).reshape(-1, *[1] * len(trailing))
            low[:k] = high[:k] = sums / counts
        else:
            low[:k] = np.fmin.reduceat(visible, bounds, axis=0)[::2]
            high[:k] = np.fmax.reduceat(visible, bounds, axis=0)[::2]
    empty = hi <= lo
    if empty.any() and n:
        centres = (edges[:-1] + edges[1:])[empty] / 2
        low[empty] = high[empty] = _interpolate(values, times, centres)
    return low, high


def _interpolate(values: np.ndarray, times: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Linear interpolation along axis 0 at ``at``; NaN outside [times[0], times[-1]]."""
    right = np.clip(np.searchsorted(times, at, side="right"), 1, len(times) - 1)
    if len(times) == 1:
        result = np.broadcast_to(values[:1], (len(at), *values.shape[1:])).astype(np.float64)
        return np.where(_expand(at == times[0], values.ndim), result, np.nan)
    left = right - 1
    span = times[right] - times[left]
    frac = np.where(span > 0, (at - times[left]) / np.where(span > 0, span, 1), 0.0)
    frac = _expand(frac, values.ndim)
    result = values[left] * (1 - frac) + values[right] * frac
    outside = (at < times[0]) | (at > times[-1])
    return np.where(_expand(outside, values.ndim), np.nan, result)


def _expand(a: np.ndarray, ndim: int) -> np.ndarray:
    return a.reshape(a.shape + (1,) * (ndim - 1))


def to_rows(values: np.ndarray, vmin: float, vmax: float, height: int) -> np.ndarray:
    """Values to fractional row positions: vmax at the top row, vmin at the bottom."""
    span = vmax - vmin if vmax > vmin else 1.0
    return (height - 1) * (1.0 - (np.asarray(values, dtype=np.float64) - vmin) / span)


def connect(top: np.ndarray, bottom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stretch each column's span to meet its left neighbour's, so traces have no gaps."""
    prev_top = np.concatenate([top[:1], top[:-1]])
    prev_bottom = np.concatenate([bottom[:1], bottom[:-1]])
    with np.errstate(invalid="ignore"):
        new_top = np.where(np.isfinite(prev_bottom), np.fmin(top, prev_bottom), top)
        new_bottom = np.where(np.isfinite(prev_top), np.fmax(bottom, prev_top), bottom)
    return new_top, new_bottom


def span_mask(top: np.ndarray, bottom: np.ndarray, height: int) -> np.ndarray:
    """(height, width) boolean: True between the rows ``top`` and ``bottom`` of each column.

    Row ``r`` is painted when within half a pixel of the span, edges included, so every
    finite column paints at least one pixel and spans mirrored about a row boundary stay
    mirrored. NaN columns stay empty.
    """
    rows = np.arange(height)[:, None]
    with np.errstate(invalid="ignore"):
        upper = np.ceil(np.fmin(top, bottom) - 0.5)
        lower = np.floor(np.fmax(top, bottom) + 0.5)
        return (rows >= upper[None, :]) & (rows <= lower[None, :])


def paint(canvas: np.ndarray, mask: np.ndarray, color: Sequence[int] | np.ndarray) -> None:
    """Alpha-composite ``color`` (one RGBA, or one per column) over ``canvas`` where ``mask``."""
    color = np.asarray(color, dtype=np.float64)
    if color.ndim == 1:
        color = np.broadcast_to(color, (mask.shape[1], 4))
    layer = np.broadcast_to(color[None, :, :], (*mask.shape, 4))[mask]
    under = canvas[mask].astype(np.float64)
    alpha = layer[:, 3:4] / 255.0
    out_alpha = alpha + under[:, 3:4] / 255.0 * (1 - alpha)
    rgb = layer[:, :3] * alpha + under[:, :3] * (under[:, 3:4] / 255.0) * (1 - alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        rgb = np.where(out_alpha > 0, rgb / out_alpha, 0.0)
    canvas[mask] = np.concatenate([rgb, out_alpha * 255.0], axis=1).round().astype(np.uint8)


def blank(width: int, height: int, color: Sequence[int]) -> np.ndarray:
    """A (height, width, 4) uint8 canvas filled with an RGBA colour."""
    canvas = np.empty((height, width, 4), dtype=np.uint8)
    canvas[...] = np.asarray(color, dtype=np.uint8)
    return canvas
