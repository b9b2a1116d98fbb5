"""The default experience: what a new item gets analysed with when nobody chose presets."""

from __future__ import annotations

from typing import Any

DEFAULT_EXPERIENCE: tuple[tuple[str, dict[str, Any]], ...] = (
    ("waveform_analyzer", {}),
    ("level", {}),
    ("loudness_itu", {}),
    ("spectrogram_analyzer", {"mode": "mel"}),
    ("onsets", {}),
    ("tempo", {}),
    ("pitch", {}),
    ("mfcc", {}),
    ("chroma", {}),
    ("spectral_descriptors", {"descriptors": ["centroid"]}),
)
