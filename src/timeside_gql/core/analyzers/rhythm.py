"""Rhythm: TimeSide's onset detection function, onsets, tempo and beats.

Onsets and beats work on the spectral flux of the log-mel spectrogram clipped to
``top_db`` below a full-scale sine (:class:`ClippedFlux`, librosa's ``onset_strength``
with a fixed reference so that it streams), shared by every preset at the same
parameters; peak picking and beat tracking (librosa) run once at the end on that small
envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

import librosa
import numpy as np
import scipy.ndimage
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
from timeside_gql.core.context import (
    Context,
    FrameBlock,
    LogMel,
    MelPower,
    Need,
    Node,
    Spectrum,
)
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


@dataclass(frozen=True, slots=True)
class ClippedFlux(Need):
    """Spectral flux of the log-mel spectrogram floored ``top_db`` below a full-scale sine:
    librosa's ``onset_strength`` (lag 1, mean over bands) with a fixed reference instead
    of the file's maximum, so that it streams. Without the floor, bands at the numerical
    noise level (-100 dB) flicker by tens of dB and their flux drowns soft onsets."""

    mel: MelPower
    top_db: float = 80.0
    fmax: float | None = None  # only the mel bands centred below (Hz)


class _ClippedFluxNode(Node):
    need: ClippedFlux

    def __init__(self, need: ClippedFlux, ctx: Context) -> None:
        super().__init__(need, ctx)
        self.previous: np.ndarray | None = None

    @cached_property
    def floor(self) -> float:
        """dB of the strongest mel band of a full-scale sine, minus ``top_db``."""
        m = self.need.mel
        filters = librosa.filters.mel(sr=m.rate, n_fft=m.n_fft, n_mels=m.n_mels)
        peak = filters.max() * (librosa.filters.get_window("hann", m.n_fft).sum() / 2) ** 2
        return float(10 * np.log10(peak) - self.need.top_db)

    @cached_property
    def bands(self) -> int:
        m = self.need.mel
        if self.need.fmax is None:
            return m.n_mels
        centres = librosa.mel_frequencies(m.n_mels + 2, fmin=m.fmin, fmax=m.fmax or m.rate / 2)
        return max(int(np.sum(centres[1:-1] < self.need.fmax)), 1)

    def compute(self) -> FrameBlock:
        log_mel = self.ctx.get(LogMel(self.need.mel))
        if not log_mel.count:
            return FrameBlock(log_mel.start, 0, np.zeros(0, np.float32))
        clipped = np.maximum(log_mel.data[: self.bands], np.float32(self.floor))
        first = clipped[:, :1] if self.previous is None else self.previous
        reference = np.concatenate([first, clipped[:, :-1]], axis=1)
        flux = np.maximum(clipped - reference, 0.0).mean(axis=0)
        self.previous = clipped[:, -1:]
        return FrameBlock(log_mel.start, log_mel.count, flux.astype(np.float32))


ClippedFlux.node_class = _ClippedFluxNode

_ENVELOPE = {
    "rate": RATE,
    "n_fft": FFT,
    "hop_length": HOP_LENGTH,
    "n_mels": integer(128, 8, 512, "mel bands of the flux"),
    "top_db": number(80.0, 20.0, 200.0, "log-mel floor: dB below a full-scale sine"),
    "min_flux": number(
        0.1, 0.0, 100.0, "weakest flux (mean dB rise over the mel bands) that counts as an event"
    ),
}


@dataclass(frozen=True, slots=True)
class EnvelopeParams(MelParams):
    top_db: float
    min_flux: float


E = TypeVar("E", bound=EnvelopeParams)


class _Envelope(Processor[E]):
    """Collects the shared onset-strength envelope."""

    parameters_schema = schema(_ENVELOPE)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        p = self.params
        mel = MelPower(p.rate, p.n_fft, p.hop_length, p.n_mels)
        self.envelope = ClippedFlux(mel, p.top_db)
        self.collector = FrameCollector()

    def needs(self) -> tuple[Need, ...]:
        return (self.envelope,)

    def process(self, ctx: Context) -> None:
        self.collector.add(ctx.get(self.envelope).data)

    def envelope_frames(self) -> np.ndarray:
        """The envelope delayed by half a window, as librosa does: the flux of frame t rises
        as soon as an onset enters its window, i.e. n_fft / 2 samples early."""
        return self.delayed(self.collector)

    def delayed(self, collector: FrameCollector) -> np.ndarray:
        """``collector``'s frames delayed by half a window (see ``envelope_frames``)."""
        env = collector.frames().astype(np.float64)
        shift = min(self.params.n_fft // (2 * self.params.hop_length), env.size)
        return np.concatenate([np.zeros(shift), env[: env.size - shift]])

    def frames_meta(self) -> tuple[float, int, int]:
        p = self.params
        return (p.rate, p.n_fft, p.hop_length)

    @property
    def frame_rate(self) -> float:
        return self.params.rate / self.params.hop_length


@dataclass(frozen=True, slots=True)
class OnsetsParams(EnvelopeParams):
    delta: float
    wait: float
    backtrack: bool


class Onsets(_Envelope[OnsetsParams]):
    """Peaks of the clipped flux by librosa's adaptive peak picking on the envelope
    normalised to 0..1: a peak is the maximum within 30 ms before it, at least ``delta``
    above the mean of the 100 ms around it, and ``wait`` after the previous onset. The
    normalisation makes any flux look strong, so peaks must also reach ``min_flux``
    (absolute): a held sine, whose clipped flux is rounding noise (< 0.01), has none."""

    pid = "onsets"
    name = "Onsets"
    version = "2.0"
    description = (
        "Note onsets: adaptive peak picking (librosa.onset.onset_detect) on the spectral "
        "flux of the log-mel spectrogram clipped top_db below full scale."
    )
    parameters_schema = schema(
        {
            **_ENVELOPE,
            "delta": number(0.07, 0.0, 1.0, "height above the local mean (normalised flux)"),
            "wait": number(0.03, 0.0, 10.0, "shortest time between onsets (s)"),
            "backtrack": {
                "type": "boolean",
                "default": False,
                "description": "move each onset back to the preceding minimum of the flux",
            },
        }
    )
    outputs = (
        OutputSpec("onsets", "Onsets", "s", "label", "event"),
        OutputSpec("onsets.strength", "Onset strength", "", "value", "framewise"),
    )

    def finish(self, done: Done) -> Output:
        env = self.envelope_frames()
        p = self.params
        peaks = np.zeros(0, np.int64)
        if env.size and env.max() >= max(p.min_flux, 1e-6):
            rate = self.frame_rate
            peaks = librosa.onset.onset_detect(
                onset_envelope=env,
                units="frames",
                pre_max=int(0.03 * rate),
                post_max=1,
                pre_avg=int(0.1 * rate),
                post_avg=int(0.1 * rate) + 1,
                wait=int(p.wait * rate),
                delta=p.delta,
            )
            peaks = peaks[env[peaks] >= p.min_flux]
            if p.backtrack:
                peaks = librosa.onset.onset_backtrack(peaks, env)
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


HALF_PERIODICITY = 0.75  # see _faster
HALF_SALIENCE = 0.55
BEAT_HZ = 1000.0  # the flux below: evidence of beats between beats (see global_tempo)


def global_tempo(
    env: np.ndarray, frame_rate: float, *, start_bpm: float, evidence: np.ndarray | None = None
) -> tuple[float, float]:
    """(tempo in BPM, periodicity 0..1) from the whole envelope's autocorrelation, weighted
    like librosa by a log-normal prior around ``start_bpm`` (one octave deviation).

    The autocorrelation is smoothed over 5 lags before the peak is chosen and refined
    parabolically: a period of 18.46 frames (140 BPM) otherwise splits its correlation
    between lags 18 and 19 and loses to twice the period. The periodicity is the
    normalised autocorrelation at the chosen lag (noise: < 0.1; a click track: ~1).
    Whether half the period is the beat is judged on ``evidence`` (default ``env``): the
    analyzers pass the flux below BEAT_HZ, where hi-hats between the beats weigh little
    and snares, kicks, clicks and chords do (on the full flux, eighth-note hi-hats made
    pieces at 90 to 120 BPM read at twice their tempo).
    """
    centred = env - env.mean()
    max_lag = min(int(frame_rate * 60 / 30), centred.size - 3)  # down to 30 BPM
    min_lag = max(int(frame_rate * 60 / 300), 2)  # up to 300 BPM
    if max_lag <= min_lag + 1:
        return 0.0, 0.0
    size = 1 << int(np.ceil(np.log2(2 * centred.size)))
    spectrum = np.fft.rfft(centred, size)
    ac = np.fft.irfft(spectrum * np.conj(spectrum), size)[: max_lag + 3]
    if ac[0] <= 0:
        return 0.0, 0.0
    kernel = np.hanning(7)[1:-1]
    smooth = np.convolve(ac / ac[0], kernel / kernel.sum(), mode="same")
    lags = np.arange(min_lag, max_lag + 1)
    prior = np.exp(-0.5 * np.log2(60 * frame_rate / lags / start_bpm) ** 2)
    scores = smooth[lags] * prior
    lag = _refine(scores, int(np.argmax(scores))) + min_lag
    while lag / 2 >= min_lag + 1 and _faster(env if evidence is None else evidence, smooth, lag):
        half = round(lag / 2) - min_lag
        lag = _refine(scores, half + int(np.argmax(scores[half - 1 : half + 2])) - 1) + min_lag
    return 60.0 * frame_rate / lag, float(max(_at(smooth, lag), 0.0))


def _faster(env: np.ndarray, smooth: np.ndarray, lag: float) -> bool:
    """Whether half of ``lag`` is the beat: the prior prefers 90 to 180 BPM when both are
    periodic, as in a click track or kick-snare drums at 180. Half wins when its
    periodicity is nearly as strong and the envelope halfway between the beats of ``lag``
    (folded over the file at its best phase) is more than half as strong as on them; an
    off-beat hi-hat stays below."""
    if _at(smooth, lag / 2) < HALF_PERIODICITY * _at(smooth, lag):
        return False
    peaks = scipy.ndimage.maximum_filter1d(env, 3)
    count = int((env.size - 1 - lag) // lag)
    if count < 2:
        return False
    grid = lag * np.arange(count)
    phases = np.arange(int(np.ceil(lag)))[:, None] + grid[None, :]
    salience = peaks[np.round(phases).astype(int)].mean(axis=1)
    phase = int(np.argmax(salience))
    between = peaks[np.round(phase + lag / 2 + grid).astype(int)].mean()
    return bool(between >= HALF_SALIENCE * salience[phase])


def _at(values: np.ndarray, position: float) -> float:
    return float(np.interp(position, np.arange(values.size), values))


def _refine(scores: np.ndarray, best: int) -> float:
    """``best`` moved to the vertex of the parabola through it and its neighbours."""
    if not 0 < best < scores.size - 1:
        return float(best)
    left, mid, right = scores[best - 1], scores[best], scores[best + 1]
    denom = left - 2 * mid + right
    return best + (0.5 * (left - right) / denom if denom < 0 else 0.0)


def beat_period(beats: np.ndarray, period: float) -> float:
    """Least-squares beat period of beat times numbered by counting each interval in
    periods of about ``period`` s, so that a skipped beat does not slow the tempo down."""
    steps = np.maximum(np.round(np.diff(beats) / period), 1)
    index = np.concatenate([[0.0], np.cumsum(steps)])
    if index[-1] < 3:
        return period
    slope, _ = np.polyfit(index, beats, 1)
    return float(slope)


def trim_beats(beats: np.ndarray, env: np.ndarray, frame_rate: float) -> np.ndarray:
    """Drop leading and trailing beats with no onset within a frame (the tracker extends
    its grid over silence); librosa's own trim also drops real first beats of a sparse
    envelope (a click track lost 3 of 33)."""
    frames = np.round(beats * frame_rate).astype(int)
    strength = scipy.ndimage.maximum_filter1d(env, 3)[np.clip(frames, 0, env.size - 1)]
    strong = np.flatnonzero(strength >= 0.1 * np.median(strength))
    return beats[strong[0] : strong[-1] + 1] if strong.size else beats[:0]


@dataclass(frozen=True, slots=True)
class TempoParams(EnvelopeParams):
    start_bpm: float
    min_confidence: float


class Tempo(_Envelope[TempoParams]):
    """No tempo (0 BPM, no beats, confidence 0) when the flux never reaches ``min_flux``
    (silence, a held tone, noise under the log-mel floor) or its periodicity is below
    ``min_confidence`` (noise)."""

    pid = "tempo"
    name = "Tempo and beats"
    version = "2.1"
    description = (
        "Global tempo (BPM) from the onset envelope's autocorrelation with a log-normal "
        "prior, beats by dynamic programming (librosa.beat.beat_track) refined by a "
        "least-squares fit of the beat period; 0 BPM and no beats when nothing is periodic."
    )
    parameters_schema = schema(
        {
            **_ENVELOPE,
            "start_bpm": number(120.0, 20.0, 400.0, "centre of the tempo prior (BPM)"),
            "min_confidence": number(
                0.2, 0.0, 1.0, "least periodicity (normalised autocorrelation) for a tempo"
            ),
        }
    )
    outputs = (
        OutputSpec("tempo", "Tempo", "bpm", "value", "global"),
        OutputSpec("tempo.confidence", "Tempo confidence", "", "value", "global"),
        OutputSpec("tempo.beats", "Beats", "s", "label", "event"),
    )

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self.evidence = ClippedFlux(self.envelope.mel, self.params.top_db, BEAT_HZ)
        self.evidence_collector = FrameCollector()

    def needs(self) -> tuple[Need, ...]:
        return (self.envelope, self.evidence)

    def process(self, ctx: Context) -> None:
        super().process(ctx)
        self.evidence_collector.add(ctx.get(self.evidence).data)

    def finish(self, done: Done) -> Output:
        env = self.envelope_frames()
        p = self.params
        bpm, confidence, beats = 0.0, 0.0, np.zeros(0)
        if env.size and env.max() >= max(p.min_flux, 1e-6):
            evidence = self.delayed(self.evidence_collector)
            bpm, confidence = global_tempo(
                env, self.frame_rate, start_bpm=p.start_bpm, evidence=evidence
            )
        if confidence >= p.min_confidence and bpm > 0:
            _, beats = librosa.beat.beat_track(
                onset_envelope=env,
                sr=p.rate,
                hop_length=p.hop_length,
                bpm=bpm,
                units="time",
                trim=False,
            )
            beats = trim_beats(beats, env, self.frame_rate)
            if beats.size >= 4:
                bpm = 60.0 / beat_period(beats, 60.0 / bpm)
        else:
            bpm, confidence = 0.0, 0.0
        return Output(
            results=[
                self.result("tempo", done, value=bpm),
                self.result("tempo.confidence", done, value=confidence),
                self.result(
                    "tempo.beats",
                    done,
                    label=np.ones(beats.size, np.int64),
                    time=beats,
                    labels={1: "Beat"},
                ),
            ]
        )
