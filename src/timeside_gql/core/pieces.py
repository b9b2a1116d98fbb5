"""Synthetic music with a known structure: parts of known tempo, meter, key and timbre.

Each :class:`Part` plays a chord per bar (I-IV-V-I in its key, struck on the downbeat),
a kick on every downbeat, a softer snare on the other beats and hi-hat strokes on the
tatums, so its sections, tempo, meter and tatum rate are known answers. Used by the tests
and benchmarks of the structure and similarity analyzers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# partial frequency ratios and amplitudes, and the chord's decay rate (1/s)
TIMBRES: dict[str, tuple[tuple[float, ...], tuple[float, ...], float]] = {
    "organ": ((1, 2, 4), (1.0, 0.5, 0.25), 0.3),  # 8', 4' and 2' stops
    "saw": (tuple(range(1, 17)), tuple(1 / k for k in range(1, 17)), 1.0),
    "flute": ((1, 2, 3), (1.0, 0.15, 0.05), 0.5),
    "bell": ((1, 2.76, 5.4, 8.93), (1.0, 0.6, 0.4, 0.25), 2.5),
}
_MAJOR_CHORDS = ((0, 4, 7), (5, 9, 12), (7, 11, 14), (0, 4, 7))
_MINOR_CHORDS = ((0, 3, 7), (5, 8, 12), (7, 10, 14), (0, 3, 7))


@dataclass(frozen=True, slots=True)
class Part:
    """A passage: ``meter`` beats per bar at ``bpm``, ``subdivision`` hi-hats per beat."""

    seconds: float
    bpm: float = 120.0
    meter: int = 4
    key: int = 0  # tonic pitch class, C = 0
    minor: bool = False
    timbre: str = "organ"
    subdivision: int = 2
    drums: float = 1.0  # drum level relative to the chords


def _midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _tone(freq: float, timbre: str, n: int, sr: int) -> np.ndarray:
    ratios, amps, decay = TIMBRES[timbre]
    t = np.arange(n) / sr
    y = sum(
        a * np.sin(2 * np.pi * freq * r * t)
        for r, a in zip(ratios, amps, strict=True)
        if freq * r < sr / 2
    )
    attack = np.minimum(t / 0.01, 1.0)
    return np.asarray(y * attack * np.exp(-decay * t))


def _hit(kind: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    if kind == "kick":  # pitch drops from 120 to 50 Hz
        phase = 2 * np.pi * (50 * t + 70 * (1 - np.exp(-t / 0.03)) * 0.03)
        return np.sin(phase) * np.exp(-t / 0.12)
    noise = rng.standard_normal(n)
    if kind == "hat":
        return np.diff(noise, prepend=0.0) * 0.5 * np.exp(-t / 0.015)
    return noise * np.exp(-t / 0.05)  # snare


def _add(y: np.ndarray, at: int, sound: np.ndarray, gain: float) -> None:
    end = min(at + sound.size, y.size)
    if at < end:
        y[at:end] += gain * sound[: end - at]


def render_part(part: Part, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One part as a mono float64 signal of ``part.seconds``."""
    n = round(part.seconds * sr)
    y = np.zeros(n)
    beat = 60.0 / part.bpm
    chords = _MINOR_CHORDS if part.minor else _MAJOR_CHORDS
    bar_samples = round(part.meter * beat * sr) + sr // 2
    for index, start in enumerate(np.arange(0.0, part.seconds, beat)):
        at = round(start * sr)
        velocity = rng.uniform(0.9, 1.1)
        if index % part.meter == 0:
            chord = chords[(index // part.meter) % len(chords)]
            for interval in (*chord, -12):  # chord tones and the root an octave below
                note = _tone(_midi_hz(48 + part.key + interval), part.timbre, bar_samples, sr)
                _add(y, at, note, 0.12 * velocity)
            _add(y, at, _hit("kick", int(0.3 * sr), sr, rng), 0.8 * part.drums * velocity)
        else:
            _add(y, at, _hit("snare", int(0.2 * sr), sr, rng), 0.15 * part.drums * velocity)
        for step in range(part.subdivision):
            tick = at + round(step * beat * sr / part.subdivision)
            _add(y, tick, _hit("hat", int(0.05 * sr), sr, rng), 0.1 * part.drums * velocity)
    return y


def render(parts: Sequence[Part], *, sr: int = 22050, seed: int = 0) -> np.ndarray:
    """The parts one after the other, peak-normalised to 0.9; mono float32."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([render_part(p, sr=sr, rng=rng) for p in parts])
    peak = np.abs(y).max()
    return (0.9 * y / peak if peak > 0 else y).astype(np.float32)


def boundaries(parts: Sequence[Part]) -> np.ndarray:
    """Start times (s) of the parts after the first."""
    return np.cumsum([p.seconds for p in parts])[:-1]
