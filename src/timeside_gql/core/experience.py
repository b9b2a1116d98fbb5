"""The default experience: what a new item gets analysed with when nobody chose presets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from timeside_gql.core.pipeline import PresetOutcome

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


def warm_up(
    presets: tuple[tuple[str, dict[str, Any]], ...] = DEFAULT_EXPERIENCE,
) -> list[PresetOutcome]:
    """Run ``presets`` once on 3 s of synthetic audio, so that the first real item does not
    pay for numba compilation and lazy imports (call it when a worker process starts); the
    outcomes tell whether each preset ran. Also keeps freed memory for reuse
    (:func:`~timeside_gql.core.memory.keep_freed_memory`): each block's arrays no longer
    fault their pages in again."""
    import tempfile
    from pathlib import Path

    from timeside_gql.core import pipeline, samples
    from timeside_gql.core.memory import keep_freed_memory

    keep_freed_memory()

    with tempfile.TemporaryDirectory(prefix="timeside-warmup-") as folder:
        signal = samples.clicks(120.0, 3.0, 22050) + samples.sine(440.0, 3.0, 22050, 0.3)
        path = samples.write(Path(folder) / "warmup.wav", signal, 22050)
        return pipeline.run(path, presets)
