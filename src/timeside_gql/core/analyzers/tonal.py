"""Tonal analyzers: chroma, key (Krumhansl-Kessler profiles) and tuning (Hz of A4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from timeside_gql.core.analyzers.common import FFT, HOP_LENGTH, RATE, FrameCollector, StftParams
from timeside_gql.core.context import Chroma as ChromaNeed
from timeside_gql.core.context import Context, Need, Spectrum
from timeside_gql.core.params import schema
from timeside_gql.core.processor import Done, Output, OutputSpec, Processor

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KEYS = tuple(f"{pc} major" for pc in PITCH_CLASSES) + tuple(f"{pc} minor" for pc in PITCH_CLASSES)
# Krumhansl & Kessler (1982) probe-tone profiles, tonic first
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_STFT_SCHEMA = schema({"rate": RATE, "n_fft": FFT, "hop_length": HOP_LENGTH})


class _ChromaUser(Processor[StftParams]):
    parameters_schema = _STFT_SCHEMA

    def chroma(self) -> ChromaNeed:
        p = self.params
        return ChromaNeed(Spectrum(p.rate, p.n_fft, p.hop_length))

    def needs(self) -> tuple[Need, ...]:
        return (self.chroma(),)


class Chroma(_ChromaUser):
    pid = "chroma"
    name = "Chroma"
    version = "1.0"
    description = "12 pitch-class energies per frame (C first, A440), each frame max-normalised."
    outputs = (OutputSpec("chroma", "Chroma", "", "value", "framewise"),)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self.collector = FrameCollector()

    def process(self, ctx: Context) -> None:
        self.collector.add(ctx.get(self.chroma()).data)

    def finish(self, done: Done) -> Output:
        p = self.params
        meta = (p.rate, p.n_fft, p.hop_length)
        value = self.collector.frames((0, 12))
        return Output(
            results=[self.result("chroma", done, value=value, y_value=np.arange(12), frames=meta)]
        )


def estimate_key(profile: np.ndarray) -> tuple[int, float]:
    """(index into KEYS, correlation) of the best-matching rotated key profile."""
    if not np.any(profile > 0) or np.allclose(profile, profile[0]):
        return 0, 0.0
    scores = [
        np.corrcoef(profile, np.roll(template, tonic))[0, 1]
        for template in (_MAJOR, _MINOR)
        for tonic in range(12)
    ]
    best = int(np.argmax(scores))
    return best, float(scores[best])


class Key(_ChromaUser):
    pid = "key"
    name = "Key"
    version = "1.0"
    description = "Global key: mean chroma correlated with the 24 Krumhansl-Kessler profiles."
    outputs = (
        OutputSpec("key", "Key", "", "label", "global"),
        OutputSpec("key.strength", "Key strength", "", "value", "global"),
    )

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self.total = np.zeros(12)

    def process(self, ctx: Context) -> None:
        self.total += ctx.get(self.chroma()).data.sum(axis=1)

    def finish(self, done: Done) -> Output:
        index, strength = estimate_key(self.total)
        return Output(
            results=[
                self.result("key", done, label=[index], labels=dict(enumerate(KEYS))),
                self.result("key.strength", done, value=strength),
            ]
        )


class Tuning(Processor[StftParams]):
    pid = "tuning"
    name = "Tuning"
    version = "1.0"
    description = (
        "Reference frequency of A4 (Hz): histogram of spectral-peak deviations from the "
        "equal-tempered grid, 1-cent resolution."
    )
    parameters_schema = schema(
        {
            "rate": RATE,
            "n_fft": {**FFT, "default": 4096},
            "hop_length": {**HOP_LENGTH, "default": 2048},
        }
    )
    outputs = (OutputSpec("tuning", "Tuning", "Hz", "value", "global"),)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        p = self.params
        self.spectrum = Spectrum(p.rate, p.n_fft, p.hop_length)
        self.histogram = np.zeros(100)

    def needs(self) -> tuple[Need, ...]:
        return (self.spectrum,)

    def process(self, ctx: Context) -> None:
        mag = ctx.get(self.spectrum).data
        if mag.shape[1] < 1:
            return
        p = self.params
        log = np.log(np.maximum(mag, 1e-10))
        mid = mag[1:-1]
        peaks = (mid > mag[:-2]) & (mid >= mag[2:]) & (mid > 0.1 * mag.max(axis=0, keepdims=True))
        peaks &= mid > 1e-6
        k, t = np.nonzero(peaks)
        k = k + 1
        left, centre, right = log[k - 1, t], log[k, t], log[k + 1, t]
        denom = left - 2 * centre + right
        offset = np.divide(
            0.5 * (left - right), denom, out=np.zeros_like(denom), where=np.abs(denom) > 1e-12
        )
        freqs = (k + offset) * p.rate / p.n_fft
        keep = (freqs > 60) & (freqs < 4000)
        semis = 12 * np.log2(freqs[keep] / 440.0)
        deviation = semis - np.round(semis)  # in [-0.5, 0.5]
        bins = np.clip(np.floor((deviation + 0.5) * 100).astype(int), 0, 99)
        np.add.at(self.histogram, bins, mag[k[keep], t[keep]])

    def finish(self, done: Done) -> Output:
        hz = 440.0
        if self.histogram.any():
            deviation = (np.argmax(self.histogram) + 0.5) / 100 - 0.5
            hz = 440.0 * 2 ** (deviation / 12)
        return Output(results=[self.result("tuning", done, value=hz)])
