"""Similarity descriptors: one fixed-length vector per item (layout in core/similarity.py).

* timbre: mean and standard deviation of MFCC 1-12 (dB; c0, the level, is left out so
  that gain does not matter);
* harmony: mean and standard deviation of the chroma, the mean chroma rotated so that the
  estimated tonic comes first (a transposition-free key profile), and the mode (+1 major,
  -1 minor) times the key's correlation;
* rhythm: log2 of the tempo over 120 BPM, the pulse clarity (normalised autocorrelation
  of the onset envelope at the beat), the onset rate, the strongest autocorrelation in 8
  log-spaced tempo bands from 40 to 320 BPM, and at 2, 1/2, 3, 1/3 and 4 times the beat
  period (duple, triple, bar-level periodicities).

Dimensions are scaled by fixed constants (below) to a spread of about one on music, then
each part is divided by the square root of its length (see core/similarity.py).
"""

from __future__ import annotations

import itertools

import librosa
import numpy as np

from timeside_gql.core.analyzers.rhythm import global_tempo
from timeside_gql.core.analyzers.structure import (
    FrameFeatures,
    Frames,
    onset_frames,
    tempo_confidence,
)
from timeside_gql.core.analyzers.tonal import estimate_key
from timeside_gql.core.params import NoParameters, schema
from timeside_gql.core.processor import Done, Output, OutputSpec
from timeside_gql.core.similarity import (
    DIMENSIONS,
    HARMONY_DIMS,
    PARTS,
    RHYTHM_DIMS,
    TIMBRE_DIMS,
)

_MFCC_MEAN_SCALE = 10.0  # dB
_MFCC_STD_SCALE = 5.0  # dB
_ONSET_RATE_SCALE = 4.0  # onsets per second
_TEMPO_BANDS = np.geomspace(40.0, 320.0, 9)
_PERIOD_RATIOS = (2.0, 0.5, 3.0, 1 / 3, 4.0)
_MIN_STRENGTH = 4.0  # onsets: as the onsets analyzer


def timbre_part(frames: Frames) -> np.ndarray:
    mfcc = frames.timbre[1:13]
    if not mfcc.shape[1]:
        return np.zeros(TIMBRE_DIMS)
    return np.concatenate(
        [mfcc.mean(axis=1) / _MFCC_MEAN_SCALE, mfcc.std(axis=1) / _MFCC_STD_SCALE]
    )


def harmony_part(frames: Frames) -> np.ndarray:
    chroma = frames.chroma
    if not chroma.shape[1]:
        return np.zeros(HARMONY_DIMS)
    mean = chroma.mean(axis=1)
    index, strength, _ = estimate_key(mean)
    mode = 1.0 if index < 12 else -1.0
    profile = np.roll(mean, -(index % 12))
    return np.concatenate([mean, chroma.std(axis=1), profile, [mode * max(strength, 0.0)]])


def rhythm_part(frames: Frames) -> np.ndarray:
    env, rate = frames.envelope, frames.rate
    if not env.size or env.max() <= 0:
        return np.zeros(RHYTHM_DIMS)
    bpm, _ = global_tempo(env, rate, start_bpm=120.0)
    if bpm <= 0:  # no tempo (silence, noise): no rhythm to compare
        return np.zeros(RHYTHM_DIMS)
    max_lag = int(rate * 60 / _TEMPO_BANDS[0]) + 1
    ac = librosa.autocorrelate(env - env.mean(), max_size=min(max_lag * 4, env.size))
    ac = ac / ac[0] if ac[0] > 0 else np.zeros_like(ac)
    lags = np.arange(1, ac.size)
    lag_bpm = 60.0 * rate / lags
    bands = [
        float(ac[1:][(lag_bpm >= lo) & (lag_bpm < hi)].max(initial=0.0))
        for lo, hi in itertools.pairwise(_TEMPO_BANDS)
    ]
    beat = 60.0 * rate / bpm
    ratios = [
        float(ac[round(beat * r)]) if round(beat * r) < ac.size else 0.0 for r in _PERIOD_RATIOS
    ]
    onset_rate = onset_frames(frames, min_strength=_MIN_STRENGTH).size / (env.size / rate)
    return np.array(
        [
            np.log2(bpm / 120.0),
            tempo_confidence(env, frame_rate=rate, bpm=bpm),
            onset_rate / _ONSET_RATE_SCALE,
            *bands,
            *ratios,
        ]
    )


def describe(frames: Frames) -> np.ndarray:
    """The descriptor vector of an item's frame features (float32, DIMENSIONS long)."""
    parts = {
        "timbre": timbre_part(frames),
        "harmony": harmony_part(frames),
        "rhythm": rhythm_part(frames),
    }
    vector = np.zeros(DIMENSIONS)
    for name, values in parts.items():
        vector[PARTS[name]] = values / np.sqrt(values.size)
    return vector.astype(np.float32)


class SimilarityDescriptors(FrameFeatures[NoParameters]):
    pid = "similarity_descriptors"
    name = "Similarity descriptors"
    version = "1.0"
    description = (
        "A fixed-length vector for similarity search: timbre (MFCC statistics), harmony "
        "(chroma statistics, key profile) and rhythm (tempo, onset rate, periodicities)."
    )
    parameters_schema = schema({})  # fixed settings: every item's vector compares with every other
    outputs = (
        OutputSpec("similarity_descriptors", "Similarity descriptors", "", "value", "global"),
    )

    def finish(self, done: Done) -> Output:
        vector = describe(self.frames())
        return Output(
            results=[
                self.result(
                    "similarity_descriptors", done, value=vector, y_value=np.arange(vector.size)
                )
            ]
        )
