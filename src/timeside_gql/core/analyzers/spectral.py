"""Spectral analyzers: spectrogram (linear / mel), mel energies, MFCC, spectral
descriptors and constant-Q. All share the STFT of their (rate, n_fft, hop)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args

import librosa
import numpy as np
import scipy.fft

from timeside_gql.core.analyzers.common import (
    FFT,
    HOP_LENGTH,
    RATE,
    FrameCollector,
    MelParams,
    StftParams,
    enum,
    integer,
    number,
)
from timeside_gql.core.context import (
    Context,
    Frames,
    LogMel,
    MelPower,
    Need,
    Spectrum,
    power_db,
)
from timeside_gql.core.params import schema
from timeside_gql.core.processor import Done, Output, OutputSpec, Processor

_EPS = 1e-10
F = TypeVar("F", bound=StftParams)
M = TypeVar("M", bound=MelParams)


class _Framewise(Processor[F]):
    """An analyzer whose framewise output(s) come from one shared STFT."""

    def spectrum(self) -> Spectrum:
        p = self.params
        return Spectrum(p.rate, p.n_fft, p.hop_length)

    def frames_meta(self) -> tuple[float, int, int]:
        p = self.params
        return (p.rate, p.n_fft, p.hop_length)


class _MelFramewise(_Framewise[M]):
    def mel(self) -> MelPower:
        p = self.params
        return MelPower(p.rate, p.n_fft, p.hop_length, p.n_mels)


@dataclass(frozen=True, slots=True)
class SpectrogramParams(MelParams):
    mode: Literal["linear", "mel"]
    scale: Literal["db", "magnitude"]


class SpectrogramAnalyzer(_MelFramewise[SpectrogramParams]):
    pid = "spectrogram_analyzer"
    name = "Spectrogram"
    version = "2.0"
    description = (
        "Short-time spectrum of the mono downmix (Hann window, centred frames), linear "
        "frequency bins or mel bands, in dB or magnitude."
    )
    parameters_schema = schema(
        {
            "mode": enum("linear", ("linear", "mel"), "frequency axis"),
            "scale": enum("db", ("db", "magnitude"), "dB (re full scale) or raw magnitude"),
            "rate": RATE,
            "n_fft": FFT,
            "hop_length": HOP_LENGTH,
            "n_mels": integer(128, 8, 512, "mel bands (mel mode)"),
        }
    )
    outputs = (OutputSpec("spectrogram_analyzer", "Spectrogram", "dB", "value", "framewise"),)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self.collector = FrameCollector()

    def source(self) -> Need:
        if self.params.mode == "linear":
            return self.spectrum()
        return LogMel(self.mel()) if self.params.scale == "db" else self.mel()

    def needs(self) -> tuple[Need, ...]:
        return (self.source(),)

    def process(self, ctx: Context) -> None:
        block = ctx.get(self.source()).data
        if self.params.mode == "linear" and self.params.scale == "db":
            block = 2 * power_db(block)  # 20 log10 of the magnitude
        elif self.params.mode == "mel" and self.params.scale == "magnitude":
            block = np.sqrt(block)
        self.collector.add(block.astype(np.float32, copy=False))

    def finish(self, done: Done) -> Output:
        p = self.params
        if p.mode == "mel":
            freqs = librosa.mel_frequencies(p.n_mels + 2, fmax=p.rate / 2)[1:-1]
        else:
            freqs = librosa.fft_frequencies(sr=p.rate, n_fft=p.n_fft)
        values = self.collector.frames((0, freqs.size))
        result = self.result(
            "spectrogram_analyzer", done, value=values, y_value=freqs, frames=self.frames_meta()
        )
        if p.scale == "magnitude":
            result.id_metadata.unit = ""
        return Output(results=[result])


class MelEnergies(_MelFramewise[MelParams]):
    pid = "mel_energies"
    name = "Mel energies"
    version = "1.0"
    description = "Energy in mel bands (Slaney filters) per frame, in dB."
    parameters_schema = schema(
        {
            "rate": RATE,
            "n_fft": FFT,
            "hop_length": HOP_LENGTH,
            "n_mels": integer(40, 8, 512, "mel bands"),
        }
    )
    outputs = (OutputSpec("mel_energies", "Mel energies", "dB", "value", "framewise"),)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self.collector = FrameCollector()

    def needs(self) -> tuple[Need, ...]:
        return (LogMel(self.mel()),)

    def process(self, ctx: Context) -> None:
        self.collector.add(ctx.get(LogMel(self.mel())).data)

    def finish(self, done: Done) -> Output:
        p = self.params
        freqs = librosa.mel_frequencies(p.n_mels + 2, fmax=p.rate / 2)[1:-1]
        values = self.collector.frames((0, p.n_mels))
        return Output(
            results=[
                self.result(
                    "mel_energies", done, value=values, y_value=freqs, frames=self.frames_meta()
                )
            ]
        )


@dataclass(frozen=True, slots=True)
class MfccParams(MelParams):
    n_mfcc: int


class Mfcc(_MelFramewise[MfccParams]):
    pid = "mfcc"
    name = "MFCC"
    version = "1.0"
    description = "Mel-frequency cepstral coefficients: DCT-II (orthonormal) of log-mel power."
    parameters_schema = schema(
        {
            "rate": RATE,
            "n_fft": FFT,
            "hop_length": HOP_LENGTH,
            "n_mels": integer(128, 8, 512, "mel bands"),
            "n_mfcc": integer(13, 1, 128, "coefficients kept"),
        }
    )
    outputs = (OutputSpec("mfcc", "MFCC", "", "value", "framewise"),)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self.collector = FrameCollector()

    def needs(self) -> tuple[Need, ...]:
        return (LogMel(self.mel()),)

    def process(self, ctx: Context) -> None:
        log_mel = ctx.get(LogMel(self.mel())).data
        if log_mel.shape[1]:
            coeffs = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=0)[: self.params.n_mfcc]
            self.collector.add(coeffs.astype(np.float32))

    def finish(self, done: Done) -> Output:
        values = self.collector.frames((0, self.params.n_mfcc))
        return Output(results=[self.result("mfcc", done, value=values, frames=self.frames_meta())])


Descriptor = Literal[
    "centroid", "bandwidth", "rolloff", "flatness", "contrast", "slope", "kurtosis", "zcr"
]
DESCRIPTORS: tuple[Descriptor, ...] = get_args(Descriptor)
_UNITS = {"centroid": "Hz", "bandwidth": "Hz", "rolloff": "Hz", "contrast": "dB"}


@dataclass(frozen=True, slots=True)
class DescriptorParams(StftParams):
    descriptors: tuple[Descriptor, ...]
    rolloff_percent: float


class SpectralDescriptors(_Framewise[DescriptorParams]):
    pid = "spectral_descriptors"
    name = "Spectral descriptors"
    version = "1.0"
    description = (
        "Per-frame spectral shape: centroid, bandwidth, roll-off (Hz), flatness, contrast "
        "(dB per octave band), slope, kurtosis, and the zero-crossing rate."
    )
    parameters_schema = schema(
        {
            "descriptors": {
                "type": "array",
                "items": {"enum": list(DESCRIPTORS)},
                "uniqueItems": True,
                "minItems": 1,
                "default": list(DESCRIPTORS),
                "description": "which descriptors to compute",
            },
            "rate": RATE,
            "n_fft": FFT,
            "hop_length": HOP_LENGTH,
            "rolloff_percent": number(0.85, 0.01, 0.99, "energy fraction below the roll-off"),
        }
    )
    outputs = tuple(
        OutputSpec(
            f"spectral_descriptors.{d}", f"Spectral {d}", _UNITS.get(d, ""), "value", "framewise"
        )
        for d in DESCRIPTORS
    )

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self.collectors: dict[str, FrameCollector] = {
            d: FrameCollector() for d in self.params.descriptors
        }
        self.freqs = librosa.fft_frequencies(sr=self.params.rate, n_fft=self.params.n_fft)

    def frames(self) -> Frames:
        return self.spectrum().frames

    def needs(self) -> tuple[Need, ...]:
        wanted = self.params.descriptors
        needs: list[Need] = [self.spectrum()] if set(wanted) - {"zcr"} else []
        return (*needs, self.frames()) if "zcr" in wanted else tuple(needs)

    def process(self, ctx: Context) -> None:
        wanted = self.params.descriptors
        if "zcr" in wanted:
            block = ctx.get(self.frames())
            if block.count:
                zcr = librosa.feature.zero_crossing_rate(
                    block.data,
                    frame_length=self.params.n_fft,
                    hop_length=self.params.hop_length,
                    center=False,
                )[0]
                self.collectors["zcr"].add(zcr.astype(np.float32))
        if set(wanted) - {"zcr"}:
            mag = ctx.get(self.spectrum()).data
            if mag.shape[1]:
                for name, values in self._shape(mag, wanted).items():
                    self.collectors[name].add(values.astype(np.float32))

    def _shape(self, mag: np.ndarray, wanted: tuple[str, ...]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        total = mag.sum(axis=0)
        scale = np.divide(1.0, total, out=np.zeros_like(total), where=total > _EPS)
        centroid = (self.freqs.astype(np.float32) @ mag) * scale
        if "centroid" in wanted:
            out["centroid"] = centroid
        if {"bandwidth", "rolloff", "kurtosis"} & set(wanted):
            dist = mag * scale
            deviation = self.freqs[:, None] - centroid
            variance = (deviation**2 * dist).sum(axis=0)
            if "bandwidth" in wanted:
                out["bandwidth"] = np.sqrt(variance)
            if "rolloff" in wanted:
                below = np.cumsum(dist, axis=0) >= self.params.rolloff_percent
                out["rolloff"] = np.where(total > _EPS, self.freqs[np.argmax(below, axis=0)], 0.0)
            if "kurtosis" in wanted:
                fourth = (deviation**4 * dist).sum(axis=0)
                kurt = np.divide(
                    fourth, variance**2, out=np.full_like(fourth, 3.0), where=variance > _EPS
                )
                out["kurtosis"] = kurt - 3.0
        if "flatness" in wanted:
            power = np.maximum(np.square(mag, dtype=np.float64), _EPS)
            out["flatness"] = np.exp(np.log(power).mean(axis=0)) / power.mean(axis=0)
        if "contrast" in wanted:
            out["contrast"] = librosa.feature.spectral_contrast(
                S=mag, sr=self.params.rate, n_fft=self.params.n_fft
            )
        if "slope" in wanted:
            centred = self.freqs - self.freqs.mean()
            out["slope"] = (centred @ (mag - mag.mean(axis=0))) / np.sum(centred**2)
        return out

    def finish(self, done: Done) -> Output:
        results = []
        for name, collector in self.collectors.items():
            empty = (0, 7) if name == "contrast" else (0,)
            results.append(
                self.result(
                    f"spectral_descriptors.{name}",
                    done,
                    value=collector.frames(empty),
                    frames=self.frames_meta(),
                )
            )
        return Output(results=results)


@dataclass(frozen=True, slots=True)
class ConstantQParams:
    rate: int
    hop_length: int
    fmin_midi: float
    n_bins: int
    bins_per_octave: int


class ConstantQ(Processor[ConstantQParams]):
    pid = "constant_q"
    name = "Constant-Q transform"
    version = "1.0"
    description = "Constant-Q magnitude spectrum (librosa.cqt), by default 48 semitones from C2."
    parameters_schema = schema(
        {
            "rate": RATE,
            "hop_length": integer(512, 64, 8192, "hop (a multiple of 2^(octaves-1))"),
            "fmin_midi": number(36.0, 12.0, 120.0, "MIDI note of the lowest bin"),
            "n_bins": integer(48, 1, 120, "number of bins"),
            "bins_per_octave": integer(12, 1, 48, "bins per octave"),
        }
    )
    outputs = (OutputSpec("constant_q", "Constant-Q spectrum", "", "value", "framewise"),)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        p = self.params
        self.fmin = float(librosa.midi_to_hz(p.fmin_midi))
        if self.fmin * 2 ** (p.n_bins / p.bins_per_octave) >= p.rate / 2:
            raise ValueError("constant_q: the highest bin is above the Nyquist frequency")
        q = 1.0 / (2 ** (1.0 / p.bins_per_octave) - 1)
        half = q * p.rate / self.fmin / 2
        self.context_frames = math.ceil(half / p.hop_length) + 4
        self.collector = FrameCollector()

    def frames(self) -> Frames:
        p = self.params
        return Frames(p.rate, 2 * self.context_frames * p.hop_length, p.hop_length)

    def needs(self) -> tuple[Need, ...]:
        return (self.frames(),)

    def process(self, ctx: Context) -> None:
        block = ctx.get(self.frames())
        if not block.count:
            return
        p = self.params
        cqt = np.abs(
            librosa.cqt(
                block.data,
                sr=p.rate,
                hop_length=p.hop_length,
                fmin=self.fmin,
                n_bins=p.n_bins,
                bins_per_octave=p.bins_per_octave,
            )
        )
        c = self.context_frames
        self.collector.add(cqt[:, c : c + block.count].astype(np.float32))

    def finish(self, done: Done) -> Output:
        p = self.params
        freqs = librosa.cqt_frequencies(p.n_bins, fmin=self.fmin, bins_per_octave=p.bins_per_octave)
        values = self.collector.frames((0, p.n_bins))
        meta = (p.rate, 2 * self.context_frames * p.hop_length, p.hop_length)
        return Output(
            results=[self.result("constant_q", done, value=values, y_value=freqs, frames=meta)]
        )
