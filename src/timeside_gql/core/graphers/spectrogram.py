"""Spectrogram graphers on a linear or a logarithmic frequency axis.

They read the shared STFT (``Spectrum``; by default the analyzers' one, 22050 Hz, 2048
points, hop 512) through :class:`ColumnSpectrum`: each pixel column is the mean power of
the frames in its time span. Each row shows the frequency band it covers: the strongest
bin of the band when it holds several (so no partial falls between rows), else a linear
interpolation between the two nearest bins.
Levels are dBFS, ``range_db`` below full scale mapping to the first palette colour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from timeside_gql.core.analyzers.common import FFT, HOP_LENGTH, RATE
from timeside_gql.core.context import Context, Spectrum
from timeside_gql.core.graphers import colors
from timeside_gql.core.graphers.base import Grapher, SizeParams, palette_schema, size_schema
from timeside_gql.core.graphers.columns import ColumnSpectrum, SpectrumColumns
from timeside_gql.core.params import schema
from timeside_gql.core.processor import Done


def row_frequencies(height: int, fmin: float, fmax: float, *, log: bool) -> np.ndarray:
    """Centre frequency of each row at ``height + 1`` edges, top row highest; shape (h+1,)."""
    position = np.linspace(1.0, 0.0, height + 1)  # edges from the top
    if log:
        return fmin * (fmax / fmin) ** position
    return fmin + (fmax - fmin) * position


def rows_from_bins(columns: np.ndarray, bin_hz: float, edges_hz: np.ndarray) -> np.ndarray:
    """(width, bins) to (height, width): band maximum, or interpolation in narrow bands."""
    bins = columns.shape[1]
    upper, lower = edges_hz[:-1] / bin_hz, edges_hz[1:] / bin_hz  # row y spans [lower, upper]
    centre = np.clip((upper + lower) / 2, 0, bins - 1)
    left = np.minimum(np.floor(centre).astype(np.intp), bins - 2)
    frac = centre - left
    rows = columns[:, left] * (1 - frac) + columns[:, left + 1] * frac
    first = np.clip(np.ceil(lower).astype(np.intp), 0, bins - 1)
    last = np.clip(np.floor(upper).astype(np.intp), 0, bins - 1)
    wide = last > first
    if wide.any():
        bounds = np.stack([first[wide], last[wide] + 1], axis=1).reshape(-1)
        padded = np.concatenate([columns, columns[:, -1:]], axis=1)
        rows[:, wide] = np.maximum.reduceat(padded, bounds, axis=1)[:, ::2]
    return rows.T


@dataclass(frozen=True, slots=True)
class SpectrogramImageParams(SizeParams):
    rate: int
    n_fft: int
    hop_length: int
    min_freq: float
    max_freq: float | None
    range_db: float
    palette: tuple[str, ...]


class SpectrogramGrapher(Grapher[SpectrogramImageParams]):
    log_frequency: ClassVar[bool]
    default_min_freq: ClassVar[float]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        cls.parameters_schema = schema(
            {
                **size_schema(),
                # the analyzers' defaults: with them, the STFT is shared, not recomputed
                "rate": {**RATE, "description": "analysis samplerate (Hz); top row at rate/2"},
                "n_fft": FFT,
                "hop_length": HOP_LENGTH,
                "min_freq": {
                    "type": "number",
                    "minimum": 1 if cls.log_frequency else 0,
                    "default": cls.default_min_freq,
                    "description": "Hz, bottom row",
                },
                "max_freq": {
                    "type": ["number", "null"],
                    "exclusiveMinimum": 0,
                    "default": None,
                    "description": "Hz, top row; null: Nyquist",
                },
                "range_db": {"type": "number", "exclusiveMinimum": 0, "default": 120},
                "palette": palette_schema(colors.SPECTROGRAM_PALETTE, "colours from quiet to loud"),
            }
        )
        super().__init_subclass__(**kwargs)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self._spectrum: SpectrumColumns | None = None

    def process(self, ctx: Context) -> None:
        p = self.params
        spectrum = Spectrum(p.rate, p.n_fft, p.hop_length)
        self._spectrum = ctx.get(ColumnSpectrum(self.params.width, spectrum))

    def levels(self) -> np.ndarray:
        """(height, width) levels in [0, 1]: 0 at ``-range_db`` dBFS or below, 1 at 0 dBFS."""
        if self._spectrum is None:
            raise ValueError("no audio was decoded")
        p = self.params
        nyquist = self._spectrum.rate / 2
        fmax = min(p.max_freq or nyquist, nyquist)
        if not fmax > p.min_freq:
            raise ValueError(f"max_freq {fmax} Hz must be above min_freq {p.min_freq} Hz")
        edges = row_frequencies(p.height, p.min_freq, fmax, log=self.log_frequency)
        bin_hz = self._spectrum.rate / self._spectrum.n_fft
        rows = rows_from_bins(self._spectrum.magnitude(), bin_hz, edges)
        db = 20 * np.log10(np.maximum(rows, 1e-12))
        return np.clip(1 + db / p.range_db, 0.0, 1.0)

    def draw(self, done: Done) -> Image.Image:
        table = colors.palette(self.params.palette)
        return Image.fromarray(colors.apply(table, self.levels()), "RGBA")


class SpectrogramLinear(SpectrogramGrapher):
    pid = "spectrogram_lin"
    name = "Spectrogram Lin"
    description = "Spectrogram with a linear frequency axis."
    log_frequency = False
    default_min_freq = 0.0


class SpectrogramLog(SpectrogramGrapher):
    pid = "spectrogram_log"
    name = "Spectrogram Log"
    description = "Spectrogram with a logarithmic frequency axis."
    log_frequency = True
    default_min_freq = 20.0
