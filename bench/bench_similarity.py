"""Benchmark similarity search and the cost of the descriptors and the structure analysis.

    python bench/bench_similarity.py [--items 100000] [--queries 300] [--minutes 1]

1. Descriptors of synthetic pieces (core/pieces.py: random timbre, key, mode, tempo and
   meter per part) are computed with the ``similarity_descriptors`` analyzer; ``--items``
   realistic vectors are drawn around them (a random mix of two real vectors plus noise of
   a third of each dimension's spread), and exact k-NN queries (k = 10) by each part are
   timed one by one, with ``nearest`` on the matrix and with a prepared ``Index``: p50,
   p95 per query.
2. CPU time per minute of audio of ``similarity_descriptors``, ``audio_analysis`` and both
   together (they share the STFT, mel spectrogram, onset envelope and chroma), on one
   thread, after a warm-up run.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import soundfile as sf
from threadpoolctl import threadpool_limits

from timeside_gql.core import pieces, pipeline
from timeside_gql.core.pieces import TIMBRES, Part
from timeside_gql.core.similarity import BY, Index, nearest

SR = 22050
Search = Callable[..., tuple[np.ndarray, np.ndarray]]


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    names = [
        line.split(":", 1)[1].strip()
        for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
        if line.startswith("model name")
    ]
    return (
        f"{names[0] if names else platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}, Python {platform.python_version()}, numpy {np.__version__}"
    )


def random_piece(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Two to four parts of random timbre, key, mode, tempo and meter."""
    count = int(rng.integers(2, 5))
    parts = [
        Part(
            seconds / count,
            bpm=float(rng.uniform(70, 160)),
            meter=int(rng.choice([3, 4, 4, 4, 5])),
            key=int(rng.integers(12)),
            minor=bool(rng.random() < 0.4),
            timbre=str(rng.choice(list(TIMBRES))),
            subdivision=int(rng.choice([2, 3, 4])),
            drums=float(rng.uniform(0.3, 1.2)),
        )
        for _ in range(count)
    ]
    return pieces.render(parts, sr=SR, seed=int(rng.integers(1 << 30)))


def cpu_seconds(path: Path, presets: list[tuple[str, dict]]) -> float:
    started = time.process_time()
    for outcome in pipeline.run(path, presets):
        assert outcome.ok, outcome.error
    return time.process_time() - started


def descriptor_costs(folder: Path, rng: np.random.Generator, minutes: float) -> dict[str, float]:
    """CPU seconds per minute of audio, per preset set (after a warm-up on 3 s)."""
    warm = folder / "warm.wav"
    sf.write(warm, random_piece(rng, 3.0), SR, subtype="PCM_16")
    path = folder / "minute.wav"
    sf.write(path, random_piece(rng, 60.0 * minutes), SR, subtype="PCM_16")
    sets = {
        "similarity_descriptors": [("similarity_descriptors", {})],
        "audio_analysis": [("audio_analysis", {})],
        "both": [("similarity_descriptors", {}), ("audio_analysis", {})],
    }
    costs = {}
    for name, presets in sets.items():
        cpu_seconds(warm, presets)
        costs[name] = min(cpu_seconds(path, presets) for _ in range(3)) / minutes
    return costs


def real_vectors(folder: Path, rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = []
    for i in range(count):
        path = folder / f"piece{i}.wav"
        sf.write(path, random_piece(rng, float(rng.uniform(15, 30))), SR, subtype="PCM_16")
        (outcome,) = pipeline.run(path, [("similarity_descriptors", {})])
        vectors.append(outcome.results[0].data)
    return np.array(vectors)


def realistic(real: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Mixtures of two real vectors plus noise of a third of each dimension's spread."""
    i, j = rng.integers(real.shape[0], size=(2, n))
    mix = rng.random((n, 1))
    noise = rng.standard_normal((n, real.shape[1])) * (real.std(axis=0) / 3)
    return (mix * real[i] + (1 - mix) * real[j] + noise).astype(np.float32)


def search_latency(search: Search, queries: np.ndarray) -> dict[str, tuple[float, float]]:
    """(p50, p95) milliseconds per single query, by part."""
    latency = {}
    for by in BY:
        search(queries[0], k=10, by=by)  # warm the caches
        times = []
        for query in queries:
            started = time.perf_counter()
            search(query, k=10, by=by)
            times.append(1000 * (time.perf_counter() - started))
        latency[by] = (float(np.percentile(times, 50)), float(np.percentile(times, 95)))
    return latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--real", type=int, default=24, help="pieces analysed for real vectors")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"Machine: {machine()}")
    with threadpool_limits(1), tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, cost in descriptor_costs(folder, rng, args.minutes).items():
            print(f"{name}: {cost:.3f} CPU s per minute of audio ({60 / cost:.0f}x real time)")
        real = real_vectors(folder, rng, args.real)
        started = time.perf_counter()
        matrix = realistic(real, rng, args.items)
        print(
            f"{args.items} vectors x {matrix.shape[1]} float32: "
            f"{matrix.nbytes / 1e6:.1f} MB, generated in {time.perf_counter() - started:.2f} s"
        )
        queries = realistic(real, rng, args.queries)
        started = time.perf_counter()
        index = Index(matrix)
        print(
            f"Index (contiguous parts, row norms): built in {time.perf_counter() - started:.2f} s"
        )
        for name, search in (("nearest", partial(nearest, matrix)), ("Index", index.nearest)):
            for by, (p50, p95) in search_latency(search, queries).items():
                print(f"{name} k=10 by {by}: p50 {p50:.2f} ms, p95 {p95:.2f} ms per query")


if __name__ == "__main__":
    main()
