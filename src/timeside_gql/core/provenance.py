"""Versions of the libraries that shape analysis values, recorded in every result."""

from __future__ import annotations

import functools
from importlib import metadata

_LIBRARIES = ("timeside-gql", "numpy", "scipy", "librosa", "av", "soxr")


@functools.cache
def library_versions() -> dict[str, str]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions
