"""Tonal analyzers: chroma, key (profile correlation) and tuning (Hz of A4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np

from timeside_gql.core.analyzers.common import (
    FFT,
    HOP_LENGTH,
    RATE,
    FrameCollector,
    StftParams,
    enum,
)
from timeside_gql.core.context import Chroma as ChromaNeed
from timeside_gql.core.context import Context, Need, Spectrum
from timeside_gql.core.params import schema
from timeside_gql.core.processor import Done, Output, OutputSpec, Processor

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KEYS = tuple(f"{pc} major" for pc in PITCH_CLASSES) + tuple(f"{pc} minor" for pc in PITCH_CLASSES)
# Key profiles (major, minor), tonic first:
# krumhansl: Krumhansl & Kessler (1982) probe-tone ratings;
# temperley: Temperley (1999), "What's key for key?", Music Perception 17(1);
# edma, bgate: Faraldo, Gómez, Jordà & Herrera (2016), "Key estimation in electronic dance
# music", ECIR (edma: automatic profiles from an EDM corpus; bgate: from Beatport tracks,
# non-diatonic degrees zeroed), as tabulated in Essentia's KeyEDM.
PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "krumhansl": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    "temperley": (
        (5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0),
        (5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0),
    ),
    "edma": (
        (1.0, 0.2875, 0.502, 0.4048, 0.605, 0.5614, 0.3205, 0.7966, 0.3159, 0.4506, 0.4202, 0.3889),
        (
            1.0,
            0.3096,
            0.4415,
            0.5827,
            0.3262,
            0.4948,
            0.2889,
            0.7804,
            0.4328,
            0.2903,
            0.5331,
            0.3217,
        ),
    ),
    "bgate": (
        (1.0, 0.0, 0.42, 0.0, 0.53, 0.37, 0.0, 0.77, 0.0, 0.38, 0.21, 0.30),
        (1.0, 0.0, 0.36, 0.39, 0.0, 0.38, 0.0, 0.74, 0.27, 0.0, 0.42, 0.23),
    ),
}
_STFT_SCHEMA = schema({"rate": RATE, "n_fft": FFT, "hop_length": HOP_LENGTH})


S = TypeVar("S", bound=StftParams)


class _ChromaUser(Processor[S]):
    parameters_schema = _STFT_SCHEMA

    def chroma(self) -> ChromaNeed:
        p = self.params
        return ChromaNeed(Spectrum(p.rate, p.n_fft, p.hop_length))

    def needs(self) -> tuple[Need, ...]:
        return (self.chroma(),)


class Chroma(_ChromaUser[StftParams]):
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


def estimate_key(chroma: np.ndarray, *, profile: str = "krumhansl") -> tuple[int, float, float]:
    """(index into KEYS, correlation, confidence) of the best-matching rotated profile.

    The confidence is the relative margin of the best correlation over the runner-up
    among the 24 keys, (r1 - r2) / r1 (Essentia's firstToSecondRelativeStrength): 0 when
    two keys fit equally, e.g. C major and A minor on a bare C major scale.
    """
    if not np.any(chroma > 0) or np.allclose(chroma, chroma[0]):
        return 0, 0.0, 0.0
    major, minor = PROFILES[profile]
    templates = np.array(
        [np.roll(t, tonic) for t in (major, minor) for tonic in range(12)], np.float64
    )
    scores = np.array([np.corrcoef(chroma, t)[0, 1] for t in templates])
    first, second = np.argsort(scores)[::-1][:2]
    best = float(scores[first])
    confidence = (best - scores[second]) / best if best > 0 else 0.0
    return int(first), best, float(np.clip(confidence, 0.0, 1.0))


@dataclass(frozen=True, slots=True)
class KeyParams(StftParams):
    profile: Literal["krumhansl", "temperley", "edma", "bgate"]


class Key(_ChromaUser[KeyParams]):
    pid = "key"
    name = "Key"
    version = "2.0"
    description = (
        "Global key: the mean chroma correlated with the 24 rotations of a key profile "
        "(krumhansl, temperley, edma or bgate); strength = correlation, confidence = "
        "relative margin over the second-best key."
    )
    parameters_schema = schema(
        {
            **_STFT_SCHEMA["properties"],
            "profile": enum("krumhansl", tuple(PROFILES), "key profiles"),
        }
    )
    outputs = (
        OutputSpec("key", "Key", "", "label", "global"),
        OutputSpec("key.strength", "Key strength", "", "value", "global"),
        OutputSpec("key.confidence", "Key confidence", "", "value", "global"),
    )

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self.total = np.zeros(12)

    def process(self, ctx: Context) -> None:
        self.total += ctx.get(self.chroma()).data.sum(axis=1)

    def finish(self, done: Done) -> Output:
        index, strength, confidence = estimate_key(self.total, profile=self.params.profile)
        return Output(
            results=[
                self.result("key", done, label=[index], labels=dict(enumerate(KEYS))),
                self.result("key.strength", done, value=strength),
                self.result("key.confidence", done, value=confidence),
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
