"""Waveform graphers (TimeSide's native ones), drawn from shared per-column peaks.

Each pixel column shows the min..max of the mono signal over its time span; spans are
stretched to meet their neighbours so the trace is continuous. Amplitude 1 reaches one
pixel from the top and bottom edges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
from PIL import Image

from timeside_gql.core.analyzers.common import ANALYSIS_RATE, HOP, N_FFT
from timeside_gql.core.context import Context, Spectrum
from timeside_gql.core.graphers import colors, draw
from timeside_gql.core.graphers.base import (
    Grapher,
    SizeParams,
    color_schema,
    palette_schema,
    size_schema,
)
from timeside_gql.core.graphers.columns import ColumnPeaks, ColumnSpectrum, Peaks, SpectrumColumns
from timeside_gql.core.params import schema
from timeside_gql.core.processor import Done

CENTROID_MIN_FREQ = 200.0
CONTOUR_SMOOTHING = 16


def amplitude_rows(amplitude: np.ndarray, height: int) -> np.ndarray:
    """Amplitude in [-1, 1] to rows: +1 one pixel below the top, -1 one above the bottom."""
    centre = (height - 1) / 2
    return centre - np.asarray(amplitude) * max(centre - 1, 0)


@dataclass(frozen=True, slots=True)
class WaveformImageParams(SizeParams):
    background: str


@dataclass(frozen=True, slots=True)
class TraceParams(WaveformImageParams):
    color: str


@dataclass(frozen=True, slots=True)
class CentroidParams(WaveformImageParams):
    palette: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ContourParams(WaveformImageParams):
    colors: tuple[str, ...]


W = TypeVar("W", bound=WaveformImageParams)


class WaveformGrapher(Grapher[W]):
    """Base: collects :class:`ColumnPeaks` while blocks pass, draws them in ``draw``."""

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self._peaks: Peaks | None = None

    def process(self, ctx: Context) -> None:
        self._peaks = ctx.get(ColumnPeaks(self.params.width))

    def peaks(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) amplitude of each column."""
        if self._peaks is None:
            raise ValueError("no audio was decoded")
        return self._peaks.columns()

    def envelope(self) -> tuple[np.ndarray, np.ndarray]:
        """(top, bottom) rows of each column, joined to their neighbours."""
        low, high = self.peaks()
        height = self.params.height
        return draw.connect(amplitude_rows(high, height), amplitude_rows(low, height))

    def canvas(self) -> np.ndarray:
        p = self.params
        return draw.blank(p.width, p.height, colors.parse(p.background))


class WaveformSimple(WaveformGrapher[TraceParams]):
    pid = "waveform_simple"
    name = "Waveform simple"
    description = "Min/max peak waveform of the mono signal."
    parameters_schema = schema(
        {
            **size_schema(),
            "background": color_schema("#ffffff", "background colour"),
            "color": color_schema("#000000", "waveform colour"),
        }
    )

    def draw(self, done: Done) -> Image.Image:
        canvas = self.canvas()
        mask = draw.span_mask(*self.envelope(), self.params.height)
        draw.paint(canvas, mask, colors.parse(self.params.color))
        return Image.fromarray(canvas, "RGBA")


class WaveformTransparent(WaveformGrapher[TraceParams]):
    pid = "waveform_transparent"
    name = "Waveform transparent"
    description = "A mask for overlays: colour outside the waveform, transparent inside."
    parameters_schema = schema(
        {
            **size_schema(),
            "background": color_schema("#00000000", "colour inside the waveform"),
            "color": color_schema("#ffffff", "colour outside the waveform"),
        }
    )

    def draw(self, done: Done) -> Image.Image:
        canvas = self.canvas()
        inside = draw.span_mask(*self.envelope(), self.params.height)
        draw.paint(canvas, ~inside, colors.parse(self.params.color))
        return Image.fromarray(canvas, "RGBA")


class WaveformCentroid(WaveformGrapher[CentroidParams]):
    """Peaks coloured by the spectral centroid of each column (log scale, 200 Hz..11025 Hz)."""

    pid = "waveform_centroid"
    name = "Waveform spectral"
    description = "Waveform whose colour follows the spectral centroid (brightness) of the sound."
    parameters_schema = schema(
        {
            **size_schema(),
            "background": color_schema("#000000", "background colour"),
            "palette": palette_schema(
                colors.WAVEFORM_SCHEMES["default"], "colours from low to high centroid"
            ),
        }
    )

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self._spectrum: SpectrumColumns | None = None

    def process(self, ctx: Context) -> None:
        super().process(ctx)
        spectrum = Spectrum(ANALYSIS_RATE, N_FFT, HOP)  # the spectral analyzers' STFT
        self._spectrum = ctx.get(ColumnSpectrum(self.params.width, spectrum))

    def draw(self, done: Done) -> Image.Image:
        if self._spectrum is None:
            raise ValueError("no audio was decoded")
        canvas = self.canvas()
        table = colors.palette(self.params.palette)
        column_colors = colors.apply(table, centroid_position(self._spectrum))
        mask = draw.span_mask(*self.envelope(), self.params.height)
        draw.paint(canvas, mask, column_colors)
        return Image.fromarray(canvas, "RGBA")


def centroid_position(spectrum: SpectrumColumns) -> np.ndarray:
    """Each column's spectral centroid on a log scale from 200 Hz (0) to Nyquist (1)."""
    magnitude = spectrum.magnitude()
    freqs = spectrum.frequencies
    energy = magnitude.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroid = np.where(energy > 1e-12, magnitude @ freqs / energy, CENTROID_MIN_FREQ)
    nyquist = spectrum.rate / 2
    centroid = np.clip(centroid, CENTROID_MIN_FREQ, nyquist)
    return np.log10(centroid / CENTROID_MIN_FREQ) / np.log10(nyquist / CENTROID_MIN_FREQ)


def _smooth(values: np.ndarray, window_len: int) -> np.ndarray:
    """Hann-window moving average with reflected edges (TimeSide's ``smooth``)."""
    if values.size < window_len:
        return values
    window = np.hanning(window_len)
    padded = np.concatenate(
        [values[window_len - 1 : 0 : -1], values, values[-2 : -window_len - 1 : -1]]
    )
    smoothed = np.convolve(window / window.sum(), padded, mode="valid")
    offset = (smoothed.size - values.size) // 2
    return smoothed[offset : offset + values.size]


def _rescale(values: np.ndarray) -> np.ndarray:
    """Min to 0, max to 1 (all zeros when flat)."""
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


class WaveformContour(WaveformGrapher[ContourParams]):
    """TimeSide's contour: a smoothed, mirrored amplitude envelope in nested shades."""

    contour_colors: ClassVar[tuple[str, ...]]
    background: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        cls.parameters_schema = schema(
            {
                **size_schema(),
                "background": color_schema(cls.background, "background colour"),
                "colors": palette_schema(cls.contour_colors, "shades from outer to inner curve")
                | {"minItems": 1},
            }
        )
        super().__init_subclass__(**kwargs)

    def contours(self) -> list[np.ndarray]:
        """Relative heights in [0, 1] of the nested curves, outermost first."""
        low, high = self.peaks()
        peak = np.nan_to_num(np.fmax(np.abs(low), np.abs(high)))
        contour = _rescale(np.expm1(_rescale(_smooth(peak, CONTOUR_SMOOTHING))))
        contour *= 1 - 1e-6
        levels = len(self.params.colors)
        shrink = np.cumprod(np.arccos(np.arange(levels) / levels) * 2 / np.pi)
        return [contour * s for s in shrink]

    def draw(self, done: Done) -> Image.Image:
        canvas = self.canvas()
        height = self.params.height
        centre = (height - 1) / 2
        for shade, contour in zip(self.params.colors, self.contours(), strict=True):
            half = contour * max(centre - 1, 0)
            mask = draw.span_mask(centre - half, centre + half, height)
            draw.paint(canvas, mask, colors.parse(shade))
        return Image.fromarray(canvas, "RGBA")


class WaveformContourBlack(WaveformContour):
    pid = "waveform_contour_black"
    name = "Contour black"
    description = "Smoothed amplitude contour in light shades on black."
    background = "#000000"
    contour_colors = ("#a0a0a0", "#c0c0c0", "#e0e0e0", "#ffffff")


class WaveformContourWhite(WaveformContour):
    pid = "waveform_contour_white"
    name = "Contour white"
    description = "Smoothed amplitude contour in dark shades on white."
    background = "#ffffff"
    contour_colors = ("#3c3c3c", "#5c5c5c", "#7c7c7c", "#9c9c9c")
