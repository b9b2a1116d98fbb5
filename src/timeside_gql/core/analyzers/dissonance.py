"""Sensory dissonance (Plomp-Levelt), a numpy port of Essentia's Dissonance chain.

Per frame: 3-term Blackman-Harris window, magnitude spectrum, up to 100 interpolated
spectral peaks, then the A-weighted pairwise Plomp-Levelt roughness of peaks within
1.18 Bark (Essentia's algorithm; TimeSide's essentia_dissonance values are reproduced).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from timeside_gql.core.analyzers.common import FrameCollector, integer
from timeside_gql.core.context import Context, Frames, Need
from timeside_gql.core.params import schema
from timeside_gql.core.processor import Done, Output, OutputSpec, Processor

MAX_PEAKS = 100
_PL = np.array([-6.58977878, 28.58224226, -47.36739986, 35.70679761, -10.36526344, 1.00026609])


def blackman_harris_62(n: int) -> np.ndarray:
    t = 2 * np.pi * np.arange(n) / (n - 1)
    w = 0.44959 - 0.49364 * np.cos(t) + 0.05677 * np.cos(2 * t)
    return w * 2 / w.sum()


def bark(f: np.ndarray) -> np.ndarray:
    z = 26.81 * f / (1960 + f) - 0.53
    z = np.where(z < 2, z + 0.15 * (2 - z), z)
    return np.where(z > 20.1, z + 0.22 * (z - 20.1), z)


def bark_to_hz(z: np.ndarray) -> np.ndarray:
    z = np.where(z < 2, (z - 0.3) / 0.85, z)
    z = np.where(z > 20.1, (z + 4.422) / 1.22, z)
    return 1960 * (z + 0.53) / (26.28 - z)


def a_weight(f: np.ndarray) -> np.ndarray:
    f2 = f * f
    num = 1.25893 * 12200**2 * f2 * f2
    den = (f2 + 20.6**2) * (f2 + 12200**2) * np.sqrt(f2 + 107.7**2) * np.sqrt(f2 + 737.9**2)
    return num / den


def peaks(mag: np.ndarray, sr: float) -> tuple[np.ndarray, np.ndarray]:
    """Interpolated peaks per frame, padded: (freqs, mags) of shape (frames, MAX_PEAKS)."""
    n_bins = mag.shape[0]
    mid = mag[1:-1]
    is_peak = (mid > mag[:-2]) & (mid >= mag[2:]) & (mid > 0)
    frames = mag.shape[1]
    freqs = np.zeros((frames, MAX_PEAKS))
    mags = np.zeros((frames, MAX_PEAKS))
    k, t = np.nonzero(is_peak)
    k = k + 1
    left, centre, right = mag[k - 1, t], mag[k, t], mag[k + 1, t]
    denom = left - 2 * centre + right
    shift = np.divide(
        0.5 * (left - right), denom, out=np.zeros_like(denom), where=np.abs(denom) > 0
    )
    pos = k + shift
    value = centre - 0.25 * (left - right) * shift
    hz = pos * (sr / 2) / (n_bins - 1)
    for frame in range(frames):
        sel = t == frame
        if not sel.any():
            continue
        f, m = hz[sel], value[sel]
        if f.size > MAX_PEAKS:
            top = np.argsort(-m, kind="stable")[:MAX_PEAKS]
            top.sort()
            f, m = f[top], m[top]
        freqs[frame, : f.size] = f
        mags[frame, : f.size] = m
    return freqs, mags


def dissonance(freqs: np.ndarray, mags: np.ndarray) -> np.ndarray:
    """Per-frame dissonance from padded peak arrays (zeros mark absent peaks)."""
    loud = mags * a_weight(np.maximum(freqs, 1e-9)) ** 2
    total = loud.sum(axis=1, keepdims=True)
    share = np.divide(loud, total, out=np.zeros_like(loud), where=total > 0)
    z = bark(freqs)
    cbw = 52548.0 / (z * z - 52.56 * z + 690.39)
    lo, hi = bark_to_hz(z - 1.18), bark_to_hz(z + 1.18)
    f1, f2 = freqs[:, :, None], freqs[:, None, :]
    in_band = (f2 > lo[:, :, None]) & (f2 < hi[:, :, None]) & (f2 < 10000) & (f2 > 0)
    valid = (f1 > 50) & in_band
    x = np.abs(f2 - f1) / np.minimum(cbw[:, :, None], cbw[:, None, :])
    pl = np.clip(np.polyval(_PL, x), 0.0, 1.0)
    pl = np.where((x < 0) | (x > 1.18), 1.0, pl)
    d = np.where(valid, 1.0 - pl, 0.0)
    contrib = np.where(d > 0, d * (share[:, :, None] + share[:, None, :]), 0.0).sum(axis=2)
    return np.minimum(contrib, share).sum(axis=1) / 2


@dataclass(frozen=True, slots=True)
class DissonanceParams:
    rate: int
    frame_length: int
    hop_length: int


class Dissonance(Processor[DissonanceParams]):
    pid = "essentia_dissonance"
    name = "Dissonance"
    version = "1.0"
    description = "Sensory dissonance per frame (0..1), Essentia's Plomp-Levelt algorithm."
    parameters_schema = schema(
        {
            "rate": integer(44100, 8000, 192000, "analysis samplerate (Hz)"),
            "frame_length": integer(1024, 256, 16384, "frame (samples)"),
            "hop_length": integer(512, 64, 16384, "hop (samples)"),
        }
    )
    outputs = (
        OutputSpec("essentia_dissonance", "Dissonance", "", "value", "framewise"),
        OutputSpec("essentia_dissonance.value", "Mean dissonance", "", "value", "global"),
    )

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        p = self.params
        self.frames = Frames(p.rate, p.frame_length, p.hop_length)
        self.window = blackman_harris_62(p.frame_length)
        self.collector = FrameCollector()

    def needs(self) -> tuple[Need, ...]:
        return (self.frames,)

    def process(self, ctx: Context) -> None:
        block = ctx.get(self.frames)
        if not block.count:
            return
        p = self.params
        starts = np.arange(block.count) * p.hop_length
        framed = block.data[starts[None, :] + np.arange(p.frame_length)[:, None]]
        mag = np.abs(np.fft.rfft(framed * self.window[:, None], axis=0))
        freqs, mags = peaks(mag, p.rate)
        self.collector.add(dissonance(freqs, mags).astype(np.float32))

    def finish(self, done: Done) -> Output:
        p = self.params
        values = self.collector.frames()
        positive = values[values > 0]
        mean = float(positive.mean()) if positive.size else 0.0
        meta = (p.rate, p.frame_length, p.hop_length)
        return Output(
            results=[
                self.result("essentia_dissonance", done, value=values, frames=meta),
                self.result("essentia_dissonance.value", done, value=mean),
            ]
        )
