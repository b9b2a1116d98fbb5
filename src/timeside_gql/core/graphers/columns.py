"""Per-pixel-column reductions of the shared intermediates, accumulated block by block.

A grapher never holds the signal: each block's samples (or STFT frames) are reduced into
``width`` columns as they pass, so memory grows with the image, not the recording. The
reductions are :class:`~timeside_gql.core.context.Need` s themselves, so every grapher of
the same width shares one: the five waveform graphers read one :class:`ColumnPeaks`, the
spectrogram and centroid graphers one :class:`ColumnSpectrum`, which reads the same
``Spectrum`` as the analyzers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from timeside_gql.core.context import Context, Need, Node, Signal, Spectrum


def _runs(keys: np.ndarray) -> np.ndarray:
    """Start index of each run of equal values in a sorted key array."""
    return np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))


def fill_empty(values: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """Give each unfilled column (axis 0) the value of the nearest filled one.

    Needed when the image is wider than the data (short sounds, large widths).
    """
    have = np.flatnonzero(filled)
    if have.size == 0 or have.size == len(filled):
        return values
    right = np.clip(np.searchsorted(have, np.arange(len(filled))), 0, have.size - 1)
    left = np.clip(right - 1, 0, have.size - 1)
    positions = np.arange(len(filled))
    nearer_left = np.abs(positions - have[left]) <= np.abs(have[right] - positions)
    return values[np.where(nearer_left, have[left], have[right])]


@dataclass(slots=True)
class Peaks:
    """Running min/max of the mono signal per column (NaN where no sample fell yet)."""

    low: np.ndarray
    high: np.ndarray

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) per column, empty columns taken from their nearest neighbour."""
        filled = np.isfinite(self.low)
        return fill_empty(self.low, filled), fill_empty(self.high, filled)


@dataclass(frozen=True, slots=True)
class ColumnPeaks(Need):
    """Min and max of the mono signal (native rate) in each of ``width`` columns."""

    width: int


class _ColumnPeaksNode(Node):
    need: ColumnPeaks

    def __init__(self, need: ColumnPeaks, ctx: Context) -> None:
        super().__init__(need, ctx)
        self.total = max(round(ctx.expected_duration * ctx.samplerate), 1)
        self.peaks = Peaks(np.full(need.width, np.nan), np.full(need.width, np.nan))

    def compute(self) -> Peaks:
        block = self.ctx.get(Signal(None, mono=True))
        if block.data.size:
            positions = block.start + np.arange(block.data.size, dtype=np.int64)
            column = np.minimum(positions * self.need.width // self.total, self.need.width - 1)
            starts = _runs(column)
            at = column[starts]
            p = self.peaks
            p.low[at] = np.fmin(p.low[at], np.minimum.reduceat(block.data, starts))
            p.high[at] = np.fmax(p.high[at], np.maximum.reduceat(block.data, starts))
        return self.peaks


ColumnPeaks.node_class = _ColumnPeaksNode


@dataclass(slots=True)
class SpectrumColumns:
    """Running sum of STFT power and frame count per column; ``rate``/``n_fft`` for axes."""

    power: np.ndarray  # (width, bins)
    count: np.ndarray  # (width,)
    rate: int
    n_fft: int

    def magnitude(self) -> np.ndarray:
        """(width, bins) full-scale amplitude: a 0 dBFS sine peaks near 1.0 in its bin.

        Mean power per column (empty columns from their neighbours), scaled by the Hann
        window's coherent gain (its sum, n_fft / 2) and by 2 for the one-sided spectrum.
        """
        filled = self.count > 0
        mean = self.power / np.maximum(self.count, 1)[:, None]
        return np.sqrt(fill_empty(mean, filled)) * (4.0 / self.n_fft)

    @property
    def frequencies(self) -> np.ndarray:
        return np.arange(self.power.shape[1]) * self.rate / self.n_fft


@dataclass(frozen=True, slots=True)
class ColumnSpectrum(Need):
    """Mean STFT power of ``spectrum`` frames in each of ``width`` columns."""

    width: int
    spectrum: Spectrum


class _ColumnSpectrumNode(Node):
    need: ColumnSpectrum

    def __init__(self, need: ColumnSpectrum, ctx: Context) -> None:
        super().__init__(need, ctx)
        s = need.spectrum
        self.total = max(round(ctx.expected_duration * s.rate), 1)
        self.columns = SpectrumColumns(
            power=np.zeros((need.width, s.n_fft // 2 + 1), np.float64),
            count=np.zeros(need.width, np.int64),
            rate=s.rate,
            n_fft=s.n_fft,
        )

    def compute(self) -> SpectrumColumns:
        frames = self.ctx.get(self.need.spectrum)
        if frames.count:
            hop, width = self.need.spectrum.hop, self.need.width
            centres = (frames.start + np.arange(frames.count, dtype=np.int64)) * hop
            column = np.minimum(centres * width // self.total, width - 1)
            starts = _runs(column)
            at = column[starts]
            power = np.square(frames.data, dtype=np.float64)
            self.columns.power[at] += np.add.reduceat(power, starts, axis=1).T
            self.columns.count[at] += np.diff(np.append(starts, frames.count))
        return self.columns


ColumnSpectrum.node_class = _ColumnSpectrumNode
