"""The analyzers; importing this package registers them all."""

from timeside_gql.core.analyzers import (  # noqa: F401 - imported to register
    descriptors,
    dissonance,
    level,
    loudness,
    pitch,
    rhythm,
    silence,
    spectral,
    structure,
    tonal,
    waveform,
)
