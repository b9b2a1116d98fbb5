"""Structural "audio analysis" in Spotify's shape: sections, bars, beats, tatums, segments.

Every element has a start, a duration and a confidence in [0, 1], stored as ordinary
segment results (one row per element; the columns of the multi-valued ones are named in
``SECTION_FIELDS``, ``SEGMENT_FIELDS`` and ``TRACK_FIELDS``), so a window of a long
analysis reads only its rows. :func:`timeside_gql.core.structure.audio_analysis` turns the
stored outputs back into a typed tree.

Method, on the shared 22050 Hz STFT (2048/512), its log-mel spectrogram, onset envelope
and chroma:

* **sections**: Laplacian segmentation (McFee & Ellis 2014) of chroma and MFCC averaged
  over ~0.25 s: a recurrence graph (``librosa.segment.recurrence_matrix``, diagonals
  enhanced by a time-lag median filter) balanced with a graph of neighbouring frames,
  the first eigenvectors of its normalised Laplacian clustered by k-means, k chosen by the
  largest eigengap; sections shorter than ``min_section`` merge into a neighbour. The
  confidence of a boundary is its Foote novelty (checkerboard kernel on the features'
  self-similarity) relative to the strongest. Each section gets its loudness, tempo, key,
  mode and time signature.
* **beats**: the section's tempo (autocorrelation of the onset envelope, octave check on
  the flux below ``BEAT_HZ`` as in the tempo analyzer,
  :func:`~timeside_gql.core.analyzers.rhythm.global_tempo`) drives librosa's dynamic
  programming beat tracker, frame by frame, so the beats follow tempo changes;
* **bars**: per section, the meter (3, 4, 5 or 7 beats) and phase whose beats stand out most
  from the others by accent (onset strength and harmonic change at the beat);
* **tatums**: 2 or 3 per beat, whichever positions carry more onset strength;
* **segments**: from one onset (flux peak backtracked to the preceding energy minimum) to
  the next, with loudness at start and max, mean chroma (max 1) and mean MFCC 0-11.

Loudness is the frame RMS in dBFS (Hann-window corrected, a full-scale sine reads -3 dB);
timbre is the orthonormal DCT of the log-mel spectrum (each frame floored 80 dB under its
loudest band) divided by sqrt(n_mels), so every
coefficient reads in dB (timbre[0] is the mean mel level).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import librosa
import numpy as np
import scipy.fft
import scipy.linalg
import scipy.ndimage
import scipy.sparse.csgraph
from sklearn.cluster import KMeans

from timeside_gql.core.analyzers.common import (
    FFT,
    FLOOR_DB,
    HOP_LENGTH,
    RATE,
    FrameCollector,
    MelParams,
    integer,
    number,
    to_db,
)
from timeside_gql.core.analyzers.rhythm import BEAT_HZ, global_tempo
from timeside_gql.core.analyzers.tonal import estimate_key
from timeside_gql.core.context import (
    Chroma,
    Context,
    LogMel,
    MelPower,
    Need,
    OnsetStrength,
    Spectrum,
)
from timeside_gql.core.params import schema, typed
from timeside_gql.core.processor import Done, Output, OutputSpec, Processor

N_TIMBRE = 12  # timbre values per segment
N_MFCC = 13  # collected: the similarity descriptors use 1-12
METERS = (3, 4, 5, 7)  # 6 would be two bars of 3: multiples are left out
SUBDIVISIONS = (2, 3)
SECTION_FIELDS = (
    "confidence",
    "loudness",
    "tempo",
    "tempo_confidence",
    "key",
    "key_confidence",
    "mode",
    "mode_confidence",
    "time_signature",
    "time_signature_confidence",
)
SEGMENT_FIELDS = (
    "confidence",
    "loudness_start",
    "loudness_max",
    "loudness_max_time",
    *(f"pitch_{i}" for i in range(12)),
    *(f"timbre_{i}" for i in range(N_TIMBRE)),
)
TRACK_FIELDS = ("duration", "loudness", *SECTION_FIELDS[2:])
_GRID_SECONDS = 0.25  # section analysis resolution
_MAX_GRID = 1000  # coarser grid on long files: the Laplacian's eigenvectors cost O(n^3)
_HANN_POWER = 0.375  # mean square of the Hann window
_TOP_DB = 80.0  # dynamic range of the timbre's log-mel spectrum, per frame
BASS_HZ = 200.0  # kick drums and bass notes, which mark downbeats


@dataclass(frozen=True, slots=True)
class Frames:
    """The per-frame features of one item: frames on the last axis."""

    rate: float  # frames per second
    envelope: np.ndarray  # onset strength (T,)
    bass: np.ndarray  # onset strength below BASS_HZ (T,)
    beat: np.ndarray  # onset strength below rhythm.BEAT_HZ (T,): the tempo's octave check
    chroma: np.ndarray  # (12, T), max 1 per frame
    timbre: np.ndarray  # (N_MFCC, T), dB
    loudness: np.ndarray  # (T,), dBFS

    @property
    def count(self) -> int:
        return int(self.envelope.size)


_FRAME_PARAMETERS = {
    "rate": RATE,
    "n_fft": FFT,
    "hop_length": HOP_LENGTH,
    "n_mels": integer(128, 8, 512, "mel bands of the flux and MFCC"),
}
_FRAME_DEFAULTS = typed(
    MelParams, {key: spec["default"] for key, spec in _FRAME_PARAMETERS.items()}
)
FP = TypeVar("FP")


class FrameFeatures(Processor[FP]):
    """Collects onset strength, chroma, MFCC (dB) and RMS loudness per frame; shared with
    the similarity descriptors. Subclasses declare pid, outputs and ``finish``."""

    parameters_schema = schema(_FRAME_PARAMETERS)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        p = self.settings
        self.spectrum = Spectrum(p.rate, p.n_fft, p.hop_length)
        self.mel = MelPower(p.rate, p.n_fft, p.hop_length, p.n_mels)
        self.parts = {
            name: FrameCollector()
            for name in ("envelope", "bass", "beat", "chroma", "timbre", "power")
        }
        centres = librosa.mel_frequencies(p.n_mels + 2, fmax=p.rate / 2)[1:-1]
        self.band_flux = {
            "bass": _BandFlux(max(int(np.sum(centres < BASS_HZ)), 1)),
            "beat": _BandFlux(max(int(np.sum(centres < BEAT_HZ)), 1)),
        }

    def needs(self) -> tuple[Need, ...]:
        return (self.spectrum, OnsetStrength(self.mel), Chroma(self.spectrum), LogMel(self.mel))

    @property
    def settings(self) -> MelParams:
        """The STFT settings: the parameters, or the defaults where a subclass has none."""
        return self.params if isinstance(self.params, MelParams) else _FRAME_DEFAULTS

    def process(self, ctx: Context) -> None:
        magnitude = ctx.get(self.spectrum).data
        log_mel = ctx.get(LogMel(self.mel)).data
        # floored 80 dB under each frame's loudest band, so that the gain does not move
        # the bands at the -100 dB floor relative to the others
        floored = np.maximum(log_mel, log_mel.max(axis=0, keepdims=True) - _TOP_DB)
        timbre = scipy.fft.dct(floored, type=2, norm="ortho", axis=0)[:N_MFCC]
        self.parts["envelope"].add(ctx.get(OnsetStrength(self.mel)).data)
        for name, flux in self.band_flux.items():
            self.parts[name].add(flux(log_mel))
        self.parts["chroma"].add(ctx.get(Chroma(self.spectrum)).data)
        self.parts["timbre"].add(timbre / np.sqrt(self.mel.n_mels))
        self.parts["power"].add(_frame_power(magnitude, self.mel.n_fft))

    def frames(self) -> Frames:
        """The collected features; the envelope delayed by half a window as librosa does
        (the flux rises as soon as an onset enters the frame, n_fft / 2 samples early)."""
        p = self.settings
        shift = p.n_fft // (2 * p.hop_length)
        return Frames(
            rate=p.rate / p.hop_length,
            envelope=_delayed(self.parts["envelope"].frames(), shift),
            bass=_delayed(self.parts["bass"].frames(), shift),
            beat=_delayed(self.parts["beat"].frames(), shift),
            chroma=self.parts["chroma"].frames((0, 12)).T.astype(np.float64),
            timbre=self.parts["timbre"].frames((0, N_MFCC)).T.astype(np.float64),
            loudness=to_db(self.parts["power"].frames().astype(np.float64)),
        )


class _BandFlux:
    """Spectral flux of the lowest ``bands`` mel bands, carried across blocks like the
    onset envelope."""

    def __init__(self, bands: int) -> None:
        self.bands = bands
        self.previous: np.ndarray | None = None

    def __call__(self, log_mel: np.ndarray) -> np.ndarray:
        low = log_mel[: self.bands]
        if not low.shape[1]:
            return np.zeros(0, np.float32)
        first = low[:, :1] if self.previous is None else self.previous
        self.previous = low[:, -1:]
        reference = np.concatenate([first, low[:, :-1]], axis=1)
        return np.maximum(low - reference, 0.0).mean(axis=0)


def _delayed(x: np.ndarray, shift: int) -> np.ndarray:
    shift = min(shift, x.size)
    return np.concatenate([np.zeros(shift), x[: x.size - shift]])


def _frame_power(magnitude: np.ndarray, n_fft: int) -> np.ndarray:
    """Mean square of each frame's samples from its one-sided spectrum (Parseval)."""
    power = np.square(magnitude, dtype=np.float64)
    full = 2 * power.sum(axis=0) - power[0] - (power[-1] if n_fft % 2 == 0 else 0)
    return full / (n_fft * n_fft * _HANN_POWER)


# --- rhythm ------------------------------------------------------------------------------


def tempo_confidence(envelope: np.ndarray, *, frame_rate: float, bpm: float) -> float:
    """Normalised autocorrelation of the onset envelope at the beat period (0..1)."""
    lag = round(60.0 * frame_rate / bpm) if bpm > 0 else 0
    if lag < 1 or envelope.size <= lag:
        return 0.0
    ac = librosa.autocorrelate(envelope - envelope.mean(), max_size=lag + 1)
    return float(np.clip(ac[lag] / ac[0], 0.0, 1.0)) if ac[0] > 0 else 0.0


def _peaks_near(envelope: np.ndarray, frames: np.ndarray, radius: int = 2) -> np.ndarray:
    """The envelope's maximum within ``radius`` frames of each (possibly fractional) frame."""
    centre = np.round(frames).astype(np.int64)
    offsets = np.arange(-radius, radius + 1)
    index = np.clip(centre[:, None] + offsets[None, :], 0, max(envelope.size - 1, 0))
    return envelope[index].max(axis=1) if envelope.size else np.zeros(frames.size)


def onset_frames(frames: Frames, *, min_strength: float) -> np.ndarray:
    """Peaks of the onset envelope at least ``min_strength`` strong (as the ``onsets``
    analyzer: a held tone's flux stays under 1.5)."""
    env = frames.envelope
    if not env.size or env.max() <= 0:
        return np.zeros(0, np.int64)
    peaks = librosa.onset.onset_detect(onset_envelope=env, units="frames")
    return np.asarray(peaks[env[peaks] >= min_strength], np.int64)


def estimate_meter(accents: np.ndarray) -> tuple[int, int, float]:
    """(beats per bar, index of the first downbeat, confidence) from per-beat accents.

    For each meter and phase, the contrast is the mean accent of the beats at that phase
    minus that of the others; the best meter wins, its confidence being its margin over
    the runner-up relative to its own contrast. Multiples of the true meter score lower
    (their "other" beats include true downbeats).
    """
    z = accents - accents.mean()
    scores: list[tuple[float, int, int]] = []
    for meter in METERS:
        if z.size < 2 * meter:
            continue
        phases = [
            z[phase::meter].mean() - np.delete(z, np.s_[phase::meter]).mean()
            for phase in range(meter)
        ]
        best = int(np.argmax(phases))
        scores.append((float(phases[best]), meter, best))
    if not scores:
        return 4, 0, 0.0
    scores.sort(reverse=True)
    top, meter, phase = scores[0]
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    confidence = float(np.clip((top - runner_up) / top, 0.0, 1.0)) if top > 0 else 0.0
    return meter, phase, confidence


def accents(frames: Frames, beats: np.ndarray) -> np.ndarray:
    """Accent of each beat: bass onset strength plus harmonic change since the previous
    beat, each standardised (kicks, bass notes and chord changes mark downbeats; the
    full-band onset strength does not: snares on the backbeat are often the strongest)."""
    strength = _peaks_near(frames.bass, beats)
    chroma = frames.chroma[:, beats]
    norms = np.linalg.norm(chroma, axis=0) + 1e-9
    unit = chroma / norms
    change = np.concatenate([[0.0], 1.0 - np.sum(unit[:, 1:] * unit[:, :-1], axis=0)])
    return _standardised(strength) + _standardised(change)


def _strength(frames: Frames, at: np.ndarray) -> np.ndarray:
    """Onset strength near frames ``at`` relative to the envelope's 95th percentile, in
    [0, 1]: the confidence of beats, tatums and segment onsets."""
    env = frames.envelope
    reference = np.percentile(env, 95) if env.size else 0.0
    if reference <= 0:
        return np.zeros(at.size)
    return np.clip(_peaks_near(env, at) / reference, 0.0, 1.0)


def _standardised(x: np.ndarray) -> np.ndarray:
    std = x.std()
    return (x - x.mean()) / std if std > 1e-12 else np.zeros_like(x)


def tatums(envelope: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """Each interval between ``beats`` divided in :func:`subdivision` tatums (fractional
    frames; the last beat starts none)."""
    if beats.size < 2:
        return np.zeros(0)
    per_beat = subdivision(envelope, beats)
    ibi = np.diff(beats).astype(np.float64)
    return (beats[:-1, None] + ibi[:, None] * np.arange(per_beat)[None, :] / per_beat).ravel()


def subdivision(envelope: np.ndarray, beats: np.ndarray) -> int:
    """Tatums per beat: 2 or 3, whichever in-between positions carry more onset strength."""
    if beats.size < 2:
        return SUBDIVISIONS[0]
    ibi = np.diff(beats).astype(np.float64)
    strengths = [
        np.mean([_peaks_near(envelope, beats[:-1] + ibi * j / s, 1) for j in range(1, s)])
        for s in SUBDIVISIONS
    ]
    return SUBDIVISIONS[int(np.argmax(strengths))]


# --- sections ----------------------------------------------------------------------------


def laplacian_segments(features: np.ndarray, *, max_sections: int, min_length: int) -> np.ndarray:
    """Section label of each column of ``features`` (dims, n): McFee & Ellis (2014).

    Labels are cluster ids (equal ids: similar material); runs shorter than ``min_length``
    columns are merged into a neighbour.
    """
    n = features.shape[1]
    if n < max(2 * min_length, 8) or max_sections < 2:
        return np.zeros(n, np.int64)
    width = max(1, min(3, (n - 1) // 2))
    recurrence = librosa.segment.recurrence_matrix(features, width=width, mode="affinity", sym=True)
    enhance = librosa.segment.timelag_filter(scipy.ndimage.median_filter)
    recurrence = enhance(recurrence, size=(1, 7))
    steps = np.sum(np.diff(features, axis=1) ** 2, axis=0)
    path_similarity = np.exp(-steps / max(float(np.median(steps)), 1e-12))
    path = np.diag(path_similarity, k=1) + np.diag(path_similarity, k=-1)
    deg_path, deg_rec = path.sum(axis=1), recurrence.sum(axis=1)
    mu = deg_path.dot(deg_path + deg_rec) / max(np.sum((deg_path + deg_rec) ** 2), 1e-12)
    affinity = mu * recurrence + (1 - mu) * path
    laplacian = scipy.sparse.csgraph.laplacian(affinity, normed=True)
    top = min(max_sections + 1, n - 1)
    values, vectors = scipy.linalg.eigh(laplacian, subset_by_index=[0, top])
    vectors = scipy.ndimage.median_filter(vectors, size=(9, 1))
    k = 1 + int(np.argmax(np.diff(values[1 : max_sections + 1]))) + 1 if top > 2 else 2
    norms = np.sqrt(np.cumsum(vectors**2, axis=1))[:, k - 1 : k] + 1e-12
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(vectors[:, :k] / norms)
    return _merge_short_runs(labels, features, min_length)


def _runs(labels: np.ndarray) -> np.ndarray:
    """Start index of each run of equal labels, plus the end."""
    changes = np.flatnonzero(np.diff(labels)) + 1
    return np.concatenate([[0], changes, [labels.size]])


def _merge_short_runs(labels: np.ndarray, features: np.ndarray, min_length: int) -> np.ndarray:
    """Relabel the shortest run below ``min_length`` as its closer neighbour, until none."""
    labels = labels.copy()
    while True:
        edges = _runs(labels)
        lengths = np.diff(edges)
        if lengths.size < 2 or lengths.min() >= min_length:
            return labels
        i = int(np.argmin(lengths))
        mean = features[:, edges[i] : edges[i + 1]].mean(axis=1)
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < lengths.size]
        distance = [
            np.linalg.norm(features[:, edges[j] : edges[j + 1]].mean(axis=1) - mean)
            for j in neighbours
        ]
        j = neighbours[int(np.argmin(distance))]
        labels[edges[i] : edges[i + 1]] = labels[edges[j]]


def foote_novelty(features: np.ndarray, *, half: int) -> np.ndarray:
    """Novelty of each column: a Gaussian-tapered checkerboard kernel slid along the
    diagonal of the cosine self-similarity matrix (Foote 2000), 0 at the edges."""
    n = features.shape[1]
    unit = features / (np.linalg.norm(features, axis=0, keepdims=True) + 1e-12)
    similarity = unit.T @ unit
    offsets = np.arange(-half, half) + 0.5
    taper = np.exp(-0.5 * (offsets / (0.5 * half)) ** 2)
    kernel = np.outer(np.sign(offsets) * taper, np.sign(offsets) * taper)
    padded = np.pad(similarity, half)
    return np.array(
        [np.sum(kernel * padded[i : i + 2 * half, i : i + 2 * half]) for i in range(n)]
    ).clip(min=0.0)


# --- the processor -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rhythm:
    beats: np.ndarray  # frames
    bars: np.ndarray  # frames
    bar_confidence: np.ndarray
    tatums: np.ndarray  # fractional frames
    meters: list[tuple[int, float]]  # per section: (meter, confidence)
    tempi: list[tuple[float, float]]  # per section: (bpm, confidence)


@dataclass(frozen=True, slots=True)
class StructureParams(MelParams):
    start_bpm: float
    min_section: float
    max_sections: int
    min_strength: float


class StructureAnalysis(FrameFeatures[StructureParams]):
    pid = "audio_analysis"
    name = "Audio analysis (structure)"
    version = "1.1"
    description = (
        "Spotify-style structure: sections (Laplacian segmentation) with loudness, tempo, "
        "key, mode and time signature; bars, beats, tatums; onset-delimited segments with "
        "loudness, 12 pitches (chroma) and 12 timbre (MFCC, dB) values; track summary."
    )
    parameters_schema = schema(
        {
            **FrameFeatures.parameters_schema["properties"],
            "start_bpm": number(120.0, 20.0, 400.0, "prior tempo estimate"),
            "min_section": number(8.0, 0.5, 600.0, "shortest section (s)"),
            "max_sections": integer(10, 1, 40, "most distinct kinds of section"),
            "min_strength": number(
                4.0,
                0.0,
                1000.0,
                "weakest flux (mean dB rise over the mel bands) of a segment onset",
            ),
        }
    )
    outputs = (
        OutputSpec("audio_analysis.track", "Track summary", "", "value", "global"),
        OutputSpec("audio_analysis.sections", "Sections", "", "label", "segment"),
        OutputSpec("audio_analysis.sections.features", "Section features", "", "value", "segment"),
        OutputSpec("audio_analysis.bars", "Bars", "", "value", "segment"),
        OutputSpec("audio_analysis.beats", "Beats", "", "value", "segment"),
        OutputSpec("audio_analysis.tatums", "Tatums", "", "value", "segment"),
        OutputSpec("audio_analysis.segments", "Segments", "", "value", "segment"),
    )

    def finish(self, done: Done) -> Output:
        frames = self.frames()
        duration = done.source.duration
        edges, labels, confidence = self.sections(frames)
        rhythm = self.rhythm(frames, edges)
        times = edges / frames.rate
        starts, ends = times[:-1], np.append(times[1:-1], duration)
        features = np.array(
            [
                [
                    confidence[i],
                    self._loudness(frames, a, b),
                    *rhythm.tempi[i],
                    *self._key(frames, a, b),
                    *rhythm.meters[i],
                ]
                for i, (a, b) in enumerate(itertools.pairwise(edges))
            ]
        ).reshape(-1, len(SECTION_FIELDS))
        names = {i: chr(ord("A") + i) if i < 26 else f"S{i}" for i in np.unique(labels).tolist()}
        section_durations = ends - starts
        beat_times = rhythm.beats / frames.rate
        results = [
            self.result(
                "audio_analysis.track",
                done,
                value=self._track(frames, features, section_durations, duration),
            ),
            self.result(
                "audio_analysis.sections",
                done,
                label=labels,
                time=starts,
                duration=section_durations,
                labels=names,
            ),
            self.result(
                "audio_analysis.sections.features",
                done,
                value=features,
                time=starts,
                duration=section_durations,
            ),
            self._events(
                "audio_analysis.bars",
                done,
                rhythm.bars / frames.rate,
                rhythm.bar_confidence,
                duration,
            ),
            self._events(
                "audio_analysis.beats",
                done,
                beat_times,
                _strength(frames, rhythm.beats),
                duration,
            ),
            self._events(
                "audio_analysis.tatums",
                done,
                rhythm.tatums / frames.rate,
                _strength(frames, rhythm.tatums),
                duration,
            ),
            self._segments(done, frames, duration),
        ]
        return Output(results=results)

    # sections ---------------------------------------------------------------------------
    def sections(self, frames: Frames) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(frame edges of the sections incl. 0 and T, label per section, confidence)."""
        if frames.count == 0:
            return np.array([0, 0]), np.zeros(1, np.int64), np.ones(1)
        step = max(round(_GRID_SECONDS * frames.rate), -(-frames.count // _MAX_GRID), 1)
        grid = np.arange(0, frames.count, step)
        stacked = np.vstack([_rows_standardised(frames.chroma), _rows_standardised(frames.timbre)])
        features = librosa.util.sync(stacked, grid.tolist(), aggregate=np.mean)
        min_length = max(round(self.params.min_section * frames.rate / step), 1)
        labels = laplacian_segments(
            features, max_sections=self.params.max_sections, min_length=min_length
        )
        runs = _runs(labels)
        novelty = foote_novelty(features, half=max(min_length // 2, 2))
        strongest = novelty.max() if novelty.size and novelty.max() > 0 else 1.0
        confidence = np.array(
            [1.0]
            + [float(_peaks_near(novelty, np.array([r]), 1)[0] / strongest) for r in runs[1:-1]]
        )
        edges = np.append(grid[runs[:-1]], frames.count)
        return edges, _first_seen_order(labels[runs[:-1]]), confidence

    @staticmethod
    def _loudness(frames: Frames, a: int, b: int) -> float:
        """Energy mean of the frames' loudness, in dB."""
        if b <= a:
            return FLOOR_DB
        return float(to_db(float(np.mean(10 ** (frames.loudness[a:b] / 10)))))

    @staticmethod
    def _key(frames: Frames, a: int, b: int) -> tuple[int, float, int, float]:
        """(key 0-11, confidence, mode 1 major / 0 minor, confidence): one match of the 24
        Krumhansl-Kessler profiles, so key and mode share its margin over the runner-up."""
        index, _, confidence = estimate_key(frames.chroma[:, a:b].sum(axis=1))
        return index % 12, confidence, int(index < 12), confidence

    # rhythm -----------------------------------------------------------------------------
    def rhythm(self, frames: Frames, edges: np.ndarray) -> _Rhythm:
        env, rate = frames.envelope, frames.rate
        sections = list(itertools.pairwise(edges))
        if not env.size or env.max() <= 0:
            empty = np.zeros(0, np.int64)
            none = np.zeros(0)
            return _Rhythm(
                empty, empty, none, none, [(4, 0.0)] * len(sections), [(0.0, 0.0)] * len(sections)
            )
        start_bpm = self.params.start_bpm
        bpm = np.array(
            [
                (
                    global_tempo(env[a:b], rate, start_bpm=start_bpm, evidence=frames.beat[a:b])[0]
                    or start_bpm
                )
                if b - a > 1
                else start_bpm
                for a, b in sections
            ]
        )
        per_frame = np.repeat(bpm, np.diff(edges))
        _, beats = librosa.beat.beat_track(
            onset_envelope=env,
            sr=self.params.rate,
            hop_length=self.params.hop_length,
            bpm=per_frame,
            trim=False,  # its one threshold for the whole track dropped the beats of a section
        )
        beats = np.asarray(beats, np.int64)
        bars, bar_confidence, ticks, meters, tempi = [], [], [], [], []
        for (a, b), prior in zip(sections, bpm, strict=True):
            first, last = np.searchsorted(beats, [a, b])
            own = beats[first:last]
            ticks.append(tatums(frames.envelope, beats[first : last + 1]))  # to the next beat
            meter, phase, confidence = estimate_meter(accents(frames, own))
            tempo = (
                60.0 * rate * (own.size - 1) / (own[-1] - own[0]) if own.size >= 4 else float(prior)
            )
            meters.append((meter, confidence))
            tempi.append((tempo, tempo_confidence(env[a:b], frame_rate=rate, bpm=tempo)))
            downbeats = own[phase::meter] if own.size >= 2 * meter else own[:0]
            bars.append(downbeats)
            bar_confidence.append(confidence * _strength(frames, downbeats))
        return _Rhythm(
            beats,
            np.concatenate(bars),
            np.concatenate(bar_confidence),
            np.concatenate(ticks),
            meters,
            tempi,
        )

    def _events(self, rid: str, done: Done, starts: np.ndarray, confidence: np.ndarray, end: float):
        """Contiguous elements: each lasts until the next; the last one the median spacing."""
        spacing = (
            float(np.median(np.diff(starts)))
            if starts.size >= 2
            else end - (starts[0] if starts.size else 0)
        )
        durations = np.diff(
            np.append(starts, np.minimum(starts[-1] + spacing, end) if starts.size else [])
        )
        return self.result(
            rid,
            done,
            value=confidence.astype(np.float64),
            time=starts,
            duration=np.maximum(durations, 0.0),
        )

    # segments ---------------------------------------------------------------------------
    def _segments(self, done: Done, frames: Frames, duration: float):
        """From each onset (backtracked to the energy minimum before it) to the next; the
        part before the first onset is a segment of confidence 0."""
        peaks = onset_frames(frames, min_strength=self.params.min_strength)
        starts = librosa.onset.onset_backtrack(peaks, frames.loudness) if peaks.size else peaks
        confidence = dict(zip(starts.tolist(), _strength(frames, peaks).tolist(), strict=True))
        edges = np.unique(np.concatenate([[0], starts, [frames.count]]).astype(np.int64))
        if edges.size < 2:
            edges = np.zeros(2, np.int64)
        rows = [
            [confidence.get(a, 0.0), *_segment_features(frames, a, b)]
            for a, b in itertools.pairwise(edges.tolist())
        ]
        times = edges[:-1] / frames.rate
        ends = np.append(edges[1:-1] / frames.rate, duration)
        return self.result(
            "audio_analysis.segments",
            done,
            value=np.array(rows).reshape(-1, len(SEGMENT_FIELDS)),
            time=times,
            duration=np.maximum(ends - times, 0.0),
        )

    # track ------------------------------------------------------------------------------
    def _track(
        self, frames: Frames, sections: np.ndarray, durations: np.ndarray, duration: float
    ) -> np.ndarray:
        """Track summary in TRACK_FIELDS order: the tempo and time signature of the sections
        (duration-weighted majority), the key of the whole chroma."""
        column = {name: sections[:, i] for i, name in enumerate(SECTION_FIELDS)}
        tempo, tempo_conf = _weighted_mode(column["tempo"], column["tempo_confidence"], durations)
        meter, meter_conf = _weighted_mode(
            column["time_signature"], column["time_signature_confidence"], durations
        )
        return np.array(
            [
                duration,
                self._loudness(frames, 0, frames.count),
                tempo,
                tempo_conf,
                *self._key(frames, 0, frames.count),
                meter,
                meter_conf,
            ]
        )


def _segment_features(frames: Frames, a: int, b: int) -> list[float]:
    """SEGMENT_FIELDS after the confidence, over frames [a, b)."""
    if b <= a:
        return [FLOOR_DB, FLOOR_DB, 0.0, *np.zeros(12), *np.zeros(N_TIMBRE)]
    loudness = frames.loudness[a:b]
    peak = int(np.argmax(loudness))
    pitches = frames.chroma[:, a:b].mean(axis=1)
    top = pitches.max()
    return [
        float(loudness[0]),
        float(loudness[peak]),
        peak / frames.rate,
        *(pitches / top if top > 0 else pitches),
        *frames.timbre[:N_TIMBRE, a:b].mean(axis=1),
    ]


def _weighted_mode(
    values: np.ndarray, confidence: np.ndarray, weights: np.ndarray
) -> tuple[float, float]:
    """The value covering the most weight (values within 4 % count as one), and its
    confidence times the share of weight it covers."""
    if not values.size or weights.sum() <= 0:
        return 0.0, 0.0
    close = np.abs(values[:, None] - values[None, :]) <= 0.04 * np.abs(values[None, :])
    support = close.astype(np.float64) @ weights
    best = int(np.argmax(support))
    members = close[best]
    value = float(np.average(values[members], weights=weights[members]))
    share = support[best] / weights.sum()
    return value, float(np.average(confidence[members], weights=weights[members]) * share)


def _rows_standardised(x: np.ndarray) -> np.ndarray:
    """Each row to zero mean and unit variance over time (constant rows to zero)."""
    std = x.std(axis=1, keepdims=True)
    return np.divide(
        x - x.mean(axis=1, keepdims=True), std, out=np.zeros_like(x), where=std > 1e-12
    )


def _first_seen_order(labels: np.ndarray) -> np.ndarray:
    """Relabel so that the first section is 0, the next new kind 1, and so on."""
    order = {label: i for i, label in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[label] for label in labels.tolist()], np.int64)
