"""Compile librosa's numba kernels once per worker process, before the first job needs them."""

from __future__ import annotations

from functools import cache

import numpy as np

SAMPLERATE = 22050


@cache
def warm_up() -> None:
    """Run the numba-jitted paths of librosa (peak picking, beat DP, yin, mel) on 1 s of noise.

    With ``NUMBA_CACHE_DIR`` set the compiled code is cached on disk and later processes load it
    in a few seconds instead of compiling for tens of seconds. Runs once per process.
    """
    import librosa

    y = np.random.default_rng(0).standard_normal(SAMPLERATE).astype(np.float32) * 0.1
    librosa.onset.onset_detect(y=y, sr=SAMPLERATE)
    librosa.beat.beat_track(y=y, sr=SAMPLERATE)
    librosa.yin(y, fmin=65, fmax=2093, sr=SAMPLERATE)
    librosa.feature.mfcc(y=y, sr=SAMPLERATE)
