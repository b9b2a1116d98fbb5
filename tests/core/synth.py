"""Synthetic music with known answers for the accuracy tests: notes, drums, click tracks,
cadences. Every generator is seeded and returns float32 mono at ``sr``."""

from __future__ import annotations

import numpy as np
import scipy.signal

SR = 22050


def _decay(n: int, sr: int, seconds: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (seconds * sr))


def tone(freq: float, seconds: float, *, sr: int = SR, harmonics: int = 4) -> np.ndarray:
    """A harmonic tone (1/k amplitudes), unit peak-ish."""
    t = np.arange(int(seconds * sr)) / sr
    ranks = [k for k in range(1, harmonics + 1) if k * freq < sr / 2]
    return np.sum([np.sin(2 * np.pi * k * freq * t) / k for k in ranks], axis=0) / 2


def kick(sr: int = SR) -> np.ndarray:
    n = int(0.3 * sr)
    freq = 50 + 100 * _decay(n, sr, 0.03)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr) * _decay(n, sr, 0.08)


def snare(rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    n = int(0.2 * sr)
    body = np.sin(2 * np.pi * 190 * np.arange(n) / sr) * _decay(n, sr, 0.03)
    return 0.6 * (rng.standard_normal(n) * _decay(n, sr, 0.05) * 0.5 + body)


def hihat(rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    n = int(0.05 * sr)
    sos = scipy.signal.butter(4, 6000, "highpass", fs=sr, output="sos")
    return 0.6 * scipy.signal.sosfilt(sos, rng.standard_normal(n)) * _decay(n, sr, 0.01)


def place(y: np.ndarray, sound: np.ndarray, at: float, gain: float, sr: int = SR) -> None:
    i = round(at * sr)
    end = min(y.size, i + sound.size)
    y[i:end] += gain * sound[: end - i]


def drums(bpm: float, seconds: float, *, seed: int = 0, sr: int = SR, start: float = 0.5):
    """Kick on beats 1 and 3, snare on 2 and 4, hi-hat on eighths, dynamics varied.

    Returns (signal, beat times, onset times)."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(seconds * sr))
    beat = 60.0 / bpm
    beats = np.arange(start, seconds - 0.3, beat)
    onsets = []
    for i, t in enumerate(beats):
        drum = kick(sr) if i % 2 == 0 else snare(rng, sr)
        place(y, drum, t, rng.uniform(0.5, 1.0), sr)
        place(y, hihat(rng, sr), t, rng.uniform(0.5, 1.0), sr)
        onsets.append(t)
        if t + beat / 2 < seconds - 0.3:
            place(y, hihat(rng, sr), t + beat / 2, rng.uniform(0.5, 1.0), sr)
            onsets.append(t + beat / 2)
    return (0.5 * y).astype(np.float32), beats, np.array(onsets)


def clicks(bpm: float, seconds: float, *, sr: int = SR, start: float = 0.5):
    """Short 1 kHz clicks every beat; (signal, beat times)."""
    y = np.zeros(int(seconds * sr))
    n = int(0.01 * sr)
    burst = np.sin(2 * np.pi * 1000 * np.arange(n) / sr) * _decay(n, sr, 0.002)
    beats = np.arange(start, seconds - 0.02, 60.0 / bpm)
    for t in beats:
        place(y, burst, t, 0.8, sr)
    return y.astype(np.float32), beats


def notes(seconds: float, *, seed: int = 0, sr: int = SR, legato: bool = False):
    """Harmonic notes of random pitch (55..1760 Hz) and level (-26..-2 dB), attacks of 2 to
    20 ms, 0.12 to 0.6 s apart, released over 60 ms (an abrupt end spreads a click over
    the spectrum, which a flux rightly reports); (signal, onset times)."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(seconds * sr))
    onsets = []
    t = 0.3
    while t < seconds - 0.7:
        gap = rng.uniform(0.12, 0.6)
        length = gap if legato else rng.uniform(0.1, gap)
        note = tone(55 * 2 ** rng.uniform(0, 5), length + 0.06, sr=sr)
        attack = int(rng.uniform(0.002, 0.02) * sr)
        envelope = _decay(note.size, sr, rng.uniform(0.1, 1.0))
        envelope[:attack] *= np.linspace(0, 1, attack)
        release = int(0.06 * sr)
        envelope[-release:] *= np.hanning(2 * release)[release:]
        place(y, note * envelope, t, 10 ** (rng.uniform(-26, -2) / 20), sr)
        onsets.append(t)
        t += gap
    return y.astype(np.float32), np.array(onsets)


def music(seconds: float, *, seed: int = 0, sr: int = SR) -> np.ndarray:
    """A mixture: notes, a drum pattern at a random tempo, chords, a little noise, and a
    level that swells and fades (varied dynamics)."""
    rng = np.random.default_rng(seed)
    melody, _ = notes(seconds, seed=seed, sr=sr)
    beat, _, _ = drums(rng.uniform(70, 180), seconds, seed=seed, sr=sr)
    y = melody + rng.uniform(0.2, 1.0) * beat
    chord_len = rng.uniform(1.0, 3.0)
    for start in np.arange(0, seconds - chord_len, chord_len):
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        for ratio in (1, 2 ** (4 / 12), 2 ** (7 / 12)):
            place(y, tone(root * ratio, chord_len, sr=sr) * 0.1, start, rng.uniform(0.2, 1), sr)
    y += 0.003 * rng.standard_normal(y.size)
    depth = rng.uniform(-12, 0)  # dB
    swell = 10 ** (depth * (0.5 + 0.5 * np.sin(np.linspace(0, 3 * np.pi, y.size))) / 20)
    return (y * swell / max(1.0, np.abs(y).max() / 0.9)).astype(np.float32)


MAJOR_TRIAD, MINOR_TRIAD = (0, 4, 7), (0, 3, 7)
# (root in semitones above the tonic, triad) of each chord
PROGRESSIONS = {
    "major cadence": ((0, MAJOR_TRIAD), (5, MAJOR_TRIAD), (7, MAJOR_TRIAD), (0, MAJOR_TRIAD)),
    "minor cadence": ((0, MINOR_TRIAD), (5, MINOR_TRIAD), (7, MAJOR_TRIAD), (0, MINOR_TRIAD)),
    "major I-vi-ii-V-I": (
        (0, MAJOR_TRIAD),
        (9, MINOR_TRIAD),
        (2, MINOR_TRIAD),
        (7, MAJOR_TRIAD),
        (0, MAJOR_TRIAD),
    ),
    "minor i-VI-iv-V-i": (
        (0, MINOR_TRIAD),
        (8, MAJOR_TRIAD),
        (5, MINOR_TRIAD),
        (7, MAJOR_TRIAD),
        (0, MINOR_TRIAD),
    ),
}


def progression(tonic: int, chords, *, seconds: float = 0.6, sr: int = SR) -> np.ndarray:
    """Chords as harmonic tones: the root in the bass (octave 2) and the triad above it
    (octave 3 to 4); ``tonic`` is a pitch class (0 = C)."""
    parts = []
    for root, triad in chords:
        bass = 36 + (tonic + root) % 12
        notes = [bass] + [bass + 12 + step for step in triad]
        chord = sum(tone(440 * 2 ** ((m - 69) / 12), seconds, sr=sr) for m in notes)
        fade = np.minimum(
            1, np.minimum(np.arange(chord.size), chord.size - np.arange(chord.size)) / (0.02 * sr)
        )
        parts.append(0.2 * chord * fade)
    return np.concatenate(parts).astype(np.float32)
