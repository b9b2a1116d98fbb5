"""Colours for the graphers: hex parsing, TimeSide's colour schemes, 256-entry palettes."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

RGBA = tuple[int, int, int, int]

HEX_PATTERN = r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"
_HEX = re.compile(HEX_PATTERN)

# TimeSide's waveform palettes (grapher/color_schemes.py), as hex for parameter defaults
WAVEFORM_SCHEMES: dict[str, tuple[str, ...]] = {
    "default": ("#3200c8", "#00dc50", "#ffe000", "#ff0000"),
    "iso": ("#0000ff", "#00ffff", "#ffff00", "#ff0000"),
    "purple": ("#adadad", "#9395c4", "#4d508a", "#6c4200"),
    "awdio": ("#ffffff", "#ffffff", "#ffffff", "#ffffff"),
}
SPECTROGRAM_PALETTE: tuple[str, ...] = (
    "#000000",
    "#0e1110",
    "#28324c",
    "#5ab464",
    "#e0e02c",
    "#ff3c1e",
    "#ffffff",
)
LABEL_COLORS: tuple[str, ...] = (
    "#1f77b4",
    "#2ca02c",
    "#d62728",
    "#17becf",
    "#9467bd",
    "#bcbd22",
    "#7f7f7f",
    "#ff7f0e",
)


def parse(color: str) -> RGBA:
    """ "#rrggbb" or "#rrggbbaa" to an RGBA tuple (opaque unless alpha is given)."""
    if not _HEX.match(color):
        raise ValueError(f"not a #rrggbb or #rrggbbaa colour: {color!r}")
    digits = color[1:] + ("ff" if len(color) == 7 else "")
    r, g, b, a = (int(digits[i : i + 2], 16) for i in range(0, 8, 2))
    return r, g, b, a


def palette(colors: Sequence[str], size: int = 256) -> np.ndarray:
    """(size, 4) uint8 lookup table interpolating linearly through ``colors``."""
    stops = np.array([parse(c) for c in colors], dtype=np.float64)
    positions = np.linspace(0.0, 1.0, len(stops))
    x = np.linspace(0.0, 1.0, size)
    table = np.stack([np.interp(x, positions, stops[:, k]) for k in range(4)], axis=1)
    return np.round(table).astype(np.uint8)


def apply(table: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (NaN: transparent) through a palette to an RGBA array."""
    finite = np.isfinite(values)
    index = np.round(np.clip(np.where(finite, values, 0.0), 0.0, 1.0) * (len(table) - 1))
    rgba = table[index.astype(np.intp)]
    rgba[~finite] = 0
    return rgba
