"""Shared fixtures for the core tests: synthesized signals written to real files."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "numba"))


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("audio")
