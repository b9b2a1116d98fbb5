"""The allocator setting a worker takes at boot: freed memory kept, pages not faulted again."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from timeside_gql.core import samples

FAULTS_OF_A_RUN = textwrap.dedent(
    """
    import resource, sys
    from timeside_gql.core import pipeline
    from timeside_gql.core.experience import DEFAULT_EXPERIENCE
    from timeside_gql.core.memory import keep_freed_memory

    kept = sys.argv[2] == "keep" and keep_freed_memory()
    pipeline.run(sys.argv[1], DEFAULT_EXPERIENCE)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    pipeline.run(sys.argv[1], DEFAULT_EXPERIENCE)
    print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def _faults(path, mode: str) -> tuple[bool, int]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", FAULTS_OF_A_RUN, str(path), mode],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_kept_memory_spares_the_page_faults_of_each_block(tmp_path):
    stereo = samples.noise(30.0, 44100) * 0.3
    path = samples.write(tmp_path / "noise.wav", stereo.repeat(2, axis=0), 44100)
    kept, faults_kept = _faults(path, "keep")
    _, faults_default = _faults(path, "default")
    assert kept
    # 1 200 against 3 000 to 4 200 here with the pipeline's blocks of 1 << 16 samples
    assert faults_kept < faults_default, (faults_kept, faults_default)
