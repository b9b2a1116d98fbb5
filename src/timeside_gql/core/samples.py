"""Synthetic test signals (TimeSide's test samples, seeded) and a small file writer.

Used by the tests and the benchmark; signals are float32 ``(channels, n)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import scipy.signal
import soxr

C4_SCALE_HZ = (261.63, 293.66, 329.63, 349.23, 392.00, 440.00, 493.88, 523.25)

# extension -> (container format, codec, sample format, forced rate or None)
_WRITERS: dict[str, tuple[str, str, str, int | None]] = {
    ".wav": ("wav", "pcm_s16le", "s16", None),
    ".flac": ("flac", "flac", "s16", None),
    ".aiff": ("aiff", "pcm_s16be", "s16", None),
    ".ogg": ("ogg", "vorbis", "fltp", None),
    ".opus": ("ogg", "libopus", "flt", 48000),
    ".mp3": ("mp3", "libmp3lame", "fltp", None),
    ".m4a": ("ipod", "aac", "fltp", None),
    ".webm": ("webm", "libopus", "flt", 48000),
}


def _as_2d(y: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.asarray(y, dtype=np.float32))


def sine(
    freq: float = 440.0, duration: float = 1.0, sr: int = 44100, amp: float = 1.0
) -> np.ndarray:
    t = np.arange(int(np.ceil(duration * sr))) / sr
    return _as_2d(amp * np.sin(2 * np.pi * freq * t))


def sweep(duration: float = 8.0, sr: int = 44100, f0: float = 20.0) -> np.ndarray:
    """TimeSide's cosine log sweep from f0 to Nyquist."""
    n = int(np.ceil(duration * sr))
    t = np.arange(n)
    return _as_2d(scipy.signal.chirp(t, f0 / sr, n - 1, 0.5, method="logarithmic"))


def noise(duration: float = 1.0, sr: int = 44100, seed: int = 0) -> np.ndarray:
    y = np.random.default_rng(seed).standard_normal(int(np.ceil(duration * sr)))
    return _as_2d(y / np.abs(y).max())


def silence(duration: float = 1.0, sr: int = 44100) -> np.ndarray:
    return np.zeros((1, int(np.ceil(duration * sr))), np.float32)


def clicks(
    bpm: float = 120.0, duration: float = 8.0, sr: int = 22050, offset: float = 0.5
) -> np.ndarray:
    """A click train: 10 ms decaying 1 kHz bursts every 60/bpm s from ``offset``."""
    y = np.zeros(int(np.ceil(duration * sr)), np.float32)
    burst = sine(1000.0, 0.01, sr)[0] * np.exp(-np.linspace(0, 6, int(np.ceil(0.01 * sr))))
    for t in np.arange(offset, duration - 0.02, 60.0 / bpm):
        i = round(t * sr)
        y[i : i + burst.size] += burst
    return _as_2d(y)


def c4_scale(sr: int = 44100) -> np.ndarray:
    """C4..C5 sines, 1 s each, 0.2 s of silence between notes (9.4 s)."""
    parts = []
    for i, freq in enumerate(C4_SCALE_HZ):
        if i:
            parts.append(silence(0.2, sr))
        parts.append(sine(freq, 1.0, sr))
    return np.concatenate(parts, axis=1)


def write(path: str | os.PathLike[str], y: np.ndarray, sr: int) -> Path:
    """Encode ``y`` (channels, n) to ``path``; the format follows the extension.

    A test helper (whole signal in memory, fixed codec settings); the encoder processors
    are the real thing.
    """
    path = Path(path)
    fmt, codec, sample_fmt, forced_sr = _WRITERS[path.suffix.lower()]
    y = _as_2d(y)
    layout = {1: "mono", 2: "stereo"}.get(y.shape[0], f"{y.shape[0]}c")
    rate = forced_sr or sr
    if rate != sr:
        y = soxr.resample(y.T, sr, rate).T.astype(np.float32)
    with av.open(str(path), mode="w", format=fmt) as container:
        stream: av.AudioStream = container.add_stream(codec, rate=rate, layout=layout)  # type: ignore[assignment]
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(y), format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = 0
        resampler = av.AudioResampler(
            format=sample_fmt,
            layout=layout,
            rate=rate,
            frame_size=stream.codec_context.frame_size or None,
        )
        for chunk in [*resampler.resample(frame), *resampler.resample(None)]:
            container.mux(stream.encode(chunk))
        container.mux(stream.encode(None))
    return path
