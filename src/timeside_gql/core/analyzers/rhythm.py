"""Rhythm: TimeSide's onset detection function, onsets, tempo and beats.

Onsets and beats work on the log-mel spectral flux (:class:`OnsetStrength`), shared
with every other preset at the same (rate, n_fft, hop, n_mels); peak picking and beat
tracking (librosa) run once at the end on that small envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import librosa
import numpy as np
import scipy.signal

from timeside_gql.core.analyzers.common import (
    FFT,
    HOP_LENGTH,
    RATE,
    FrameCollector,
    MelParams,
    StftParams,
    integer,
    number,
)
from timeside_gql.core.context import Context, MelPower, Need, OnsetStrength, Spectrum
from timeside_gql.core.params import schema
from timeside_gql.core.processor import Done, Output, OutputSpec, Processor


class OnsetDetectionFunction(Processor[StftParams]):
    pid = "onset_detection_function"
    name = "Onset detection function"
    version = "2.0"
    description = (
        "TimeSide's ODF: rectangular-window spectrogram, low-pass along time (half Hann), "
        "clamped log10, Parks-McClellan differentiator, summed over bins, median-normalised."
    )
    parameters_schema = schema(
        {
            "rate": RATE,
            "n_fft": integer(1024, 64, 65536, "FFT size (samples)"),
            "hop_length": HOP_LENGTH,
        }
    )
    outputs = (
        OutputSpec(
            "onset_detection_function", "Onset detection function", "", "value", "framewise"
        ),
    )
    _smooth = scipy.signal.windows.hann(15)[8:]
    _diff = scipy.signal.remez(31, [0, 0.5], [np.pi], type="differentiator")

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        p = self.params
        self.spectrum = Spectrum(p.rate, p.n_fft, p.hop_length, window="boxcar")
        self.zi_smooth: np.ndarray | None = None
        self.zi_diff: np.ndarray | None = None
        self.collector = FrameCollector()

    def needs(self) -> tuple[Need, ...]:
        return (self.spectrum,)

    def process(self, ctx: Context) -> None:
        mag = ctx.get(self.spectrum).data.astype(np.float64)
        if not mag.shape[1]:
            return
        if self.zi_smooth is None:
            bins = mag.shape[0]
            self.zi_smooth = np.zeros((bins, self._smooth.size - 1))
            self.zi_diff = np.zeros((bins, self._diff.size - 1))
        smooth, self.zi_smooth = scipy.signal.lfilter(
            self._smooth, 1, mag, axis=1, zi=self.zi_smooth
        )
        logs = np.maximum(np.log10(np.maximum(smooth, 1e-9)), 1e-3)
        diff, self.zi_diff = scipy.signal.lfilter(self._diff, 1, logs, axis=1, zi=self.zi_diff)
        diff[diff < 1e-10] = 0
        self.collector.add(diff.sum(axis=0))

    def finish(self, done: Done) -> Output:
        odf = self.collector.frames()
        median = np.median(odf) if odf.size else 0.0
        if median > 0:
            odf = odf / median
        p = self.params
        meta = (p.rate, p.n_fft, p.hop_length)
        return Output(
            results=[self.result("onset_detection_function", done, value=odf, frames=meta)]
        )


_ENVELOPE = {
    "rate": RATE,
    "n_fft": FFT,
    "hop_length": HOP_LENGTH,
    "n_mels": integer(128, 8, 512, "mel bands of the flux"),
}


E = TypeVar("E", bound=MelParams)


class _Envelope(Processor[E]):
    """Collects the shared onset-strength envelope."""

    parameters_schema = schema(_ENVELOPE)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        p = self.params
        self.envelope = OnsetStrength(MelPower(p.rate, p.n_fft, p.hop_length, p.n_mels))
        self.collector = FrameCollector()

    def needs(self) -> tuple[Need, ...]:
        return (self.envelope,)

    def process(self, ctx: Context) -> None:
        self.collector.add(ctx.get(self.envelope).data)

    def envelope_frames(self) -> np.ndarray:
        """The envelope delayed by half a window, as librosa does: the flux of frame t rises
        as soon as an onset enters its window, i.e. n_fft / 2 samples early."""
        env = self.collector.frames().astype(np.float64)
        shift = min(self.params.n_fft // (2 * self.params.hop_length), env.size)
        return np.concatenate([np.zeros(shift), env[: env.size - shift]])

    def frames_meta(self) -> tuple[float, int, int]:
        p = self.params
        return (p.rate, p.n_fft, p.hop_length)


@dataclass(frozen=True, slots=True)
class OnsetsParams(MelParams):
    min_strength: float


class Onsets(_Envelope[OnsetsParams]):
    """librosa's peak picking normalises the flux by its maximum, so on a steady tone, whose
    flux is numerical noise (below 1.5 here), it found an onset every 50 ms; real onsets, even
    soft legato notes, rise above 20. A floor on the strength keeps only those."""

    pid = "onsets"
    name = "Onsets"
    version = "1.1"
    description = "Note onsets: peaks of the log-mel spectral flux (librosa.onset.onset_detect)."
    parameters_schema = schema(
        {
            **_ENVELOPE,
            "min_strength": number(
                4.0, 0.0, 1000.0, "weakest flux (mean dB rise over the mel bands) an onset has"
            ),
        }
    )
    outputs = (
        OutputSpec("onsets", "Onsets", "s", "label", "event"),
        OutputSpec("onsets.strength", "Onset strength", "", "value", "framewise"),
    )

    def finish(self, done: Done) -> Output:
        env = self.envelope_frames()
        p = self.params
        times = np.zeros(0)
        if env.size and env.max() > 0:
            peaks = librosa.onset.onset_detect(onset_envelope=env, units="frames")
            peaks = peaks[env[peaks] >= p.min_strength]
            times = librosa.frames_to_time(peaks, sr=p.rate, hop_length=p.hop_length)
        return Output(
            results=[
                self.result(
                    "onsets",
                    done,
                    label=np.ones(times.size, np.int64),
                    time=times,
                    labels={1: "Onset"},
                ),
                self.result(
                    "onsets.strength", done, value=env.astype(np.float32), frames=self.frames_meta()
                ),
            ]
        )


def global_tempo(env: np.ndarray, frame_rate: float, *, start_bpm: float) -> float:
    """Tempo (BPM) from the whole envelope's autocorrelation, weighted like librosa by a
    log-normal prior around ``start_bpm`` (one octave deviation); far cheaper than a
    tempogram on long files."""
    centred = env - env.mean()
    max_lag = min(int(frame_rate * 60 / 30), centred.size - 1)  # down to 30 BPM
    min_lag = max(int(frame_rate * 60 / 300), 1)  # up to 300 BPM
    if max_lag <= min_lag + 1:
        return start_bpm
    size = 1 << int(np.ceil(np.log2(2 * centred.size)))
    spectrum = np.fft.rfft(centred, size)
    ac = np.fft.irfft(spectrum * np.conj(spectrum), size)[: max_lag + 2]
    lags = np.arange(min_lag, max_lag + 1)
    prior = np.exp(-0.5 * np.log2(60 * frame_rate / lags / start_bpm) ** 2)
    scores = ac[lags] * prior
    best = int(np.argmax(scores))
    lag = float(lags[best])
    if 0 < best < scores.size - 1:
        left, mid, right = scores[best - 1], scores[best], scores[best + 1]
        denom = left - 2 * mid + right
        if denom < 0:
            lag += 0.5 * (left - right) / denom
    return 60.0 * frame_rate / lag


@dataclass(frozen=True, slots=True)
class TempoParams(MelParams):
    start_bpm: float


class Tempo(_Envelope[TempoParams]):
    pid = "tempo"
    name = "Tempo and beats"
    version = "1.0"
    description = (
        "Beat times by dynamic programming (librosa.beat) and the global tempo (BPM) as "
        "the mean beat rate."
    )
    parameters_schema = schema(
        {
            **_Envelope.parameters_schema["properties"],
            "start_bpm": {
                "type": "number",
                "default": 120.0,
                "minimum": 20,
                "maximum": 400,
                "description": "prior tempo estimate",
            },
        }
    )
    outputs = (
        OutputSpec("tempo", "Tempo", "bpm", "value", "global"),
        OutputSpec("tempo.beats", "Beats", "s", "label", "event"),
    )

    def finish(self, done: Done) -> Output:
        env = self.envelope_frames()
        p = self.params
        bpm, beats = 0.0, np.zeros(0)
        if env.size and env.max() > 0:
            frame_rate = p.rate / p.hop_length
            bpm = global_tempo(env, frame_rate, start_bpm=p.start_bpm)
            _, beats = librosa.beat.beat_track(
                onset_envelope=env,
                sr=p.rate,
                hop_length=p.hop_length,
                bpm=bpm,
                units="time",
            )
            if beats.size >= 4:  # finer than the tempogram's lag grid
                bpm = 60.0 * (beats.size - 1) / (beats[-1] - beats[0])
        return Output(
            results=[
                self.result("tempo", done, value=bpm),
                self.result(
                    "tempo.beats",
                    done,
                    label=np.ones(beats.size, np.int64),
                    time=beats,
                    labels={1: "Beat"},
                ),
            ]
        )
