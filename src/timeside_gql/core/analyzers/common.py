"""Shared defaults and schema fragments of the analyzers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ANALYSIS_RATE = 22050
N_FFT = 2048
HOP = 512
FLOOR_DB = -120.0  # what silence reads as in every dB output (never -inf)


def integer(default: int, minimum: int, maximum: int, description: str = "") -> dict[str, Any]:
    return {
        "type": "integer",
        "default": default,
        "minimum": minimum,
        "maximum": maximum,
        "description": description,
    }


def number(default: float, minimum: float, maximum: float, description: str = "") -> dict[str, Any]:
    return {
        "type": "number",
        "default": default,
        "minimum": minimum,
        "maximum": maximum,
        "description": description,
    }


def enum(default: str, choices: tuple[str, ...], description: str = "") -> dict[str, Any]:
    return {"type": "string", "default": default, "enum": list(choices), "description": description}


RATE = integer(ANALYSIS_RATE, 4000, 192000, "analysis samplerate (Hz); the signal is resampled")
FFT = integer(N_FFT, 64, 65536, "FFT size (samples)")
HOP_LENGTH = integer(HOP, 16, 65536, "hop between frames (samples)")


@dataclass(frozen=True, slots=True)
class StftParams:
    """The STFT every spectral analyzer shares when these match (``RATE``, ``FFT``, ...)."""

    rate: int
    n_fft: int
    hop_length: int


@dataclass(frozen=True, slots=True)
class MelParams(StftParams):
    n_mels: int


def to_db(power_ratio: np.ndarray | float, *, amplitude: bool = False) -> np.ndarray:
    """10 log10 (or 20 log10 for amplitudes), floored at FLOOR_DB."""
    factor = 20.0 if amplitude else 10.0
    ratio = np.maximum(np.asarray(power_ratio, np.float64), 10 ** (FLOOR_DB / factor))
    return np.maximum(factor * np.log10(ratio), FLOOR_DB)


class FrameCollector:
    """Accumulates per-block frame arrays (frames on the last axis) and joins them once."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def add(self, block: np.ndarray) -> None:
        if block.shape[-1]:
            self.parts.append(block)

    def frames(self, empty_shape: tuple[int, ...] = (0,)) -> np.ndarray:
        """Frames first: shape (n_frames, ...) as results store framewise values."""
        if not self.parts:
            return np.zeros(empty_shape, np.float32)
        return np.moveaxis(np.concatenate(self.parts, axis=-1), -1, 0)
