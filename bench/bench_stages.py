"""CPU time of each stage of the default experience on one file, per minute of audio.

    python bench/bench_stages.py FILE [--runs 5] [--default-allocator]

Runs ``pipeline.run(FILE, DEFAULT_EXPERIENCE)`` once to warm up (numba, imports), then
``--runs`` times with CPU-time probes (``time.process_time``) around the decoder's blocks,
the file hash, every shared intermediate's computation (``Context.get`` on a miss) and
every processor's ``process`` and ``finish``. Times are exclusive (a stage that asks for
another is not charged for it) and printed as the mean per minute of audio. Freed memory is
kept as in a worker (``core.memory``) unless ``--default-allocator``. Run it pinned to one
thread like bench_core.py (``OMP_NUM_THREADS=1`` ...).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from timeside_gql.core import context, decode, pipeline
from timeside_gql.core.experience import DEFAULT_EXPERIENCE


class Probes:
    """Exclusive CPU seconds per stage label, with a stack so nested stages are subtracted."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.stack: list[float] = []

    def timed(self, label: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        self.stack.append(0.0)
        try:
            return func(*args, **kwargs)
        finally:
            spent = time.process_time() - start
            self.seconds[label] += spent - self.stack.pop()
            if self.stack:
                self.stack[-1] += spent

    def blocks(self, blocks: Iterator[Any]) -> Iterator[Any]:
        while True:
            block = self.timed("decode", next, blocks, None)
            if block is None:
                return
            yield block


def install(probes: Probes) -> None:
    """Wrap the decoder, the hash, Context.get and the runners' calls with ``probes``."""
    get = context.Context.get

    def probed_get(self: context.Context, need: context.Need) -> Any:
        if need in self._cache:
            return get(self, need)
        return probes.timed(f"shared: {type(need).__name__}", get, self, need)

    open_blocks, file_sha1 = decode.open_blocks, decode.file_sha1

    def probed_open(*args: Any, **kwargs: Any) -> Any:
        fmt, blocks = probes.timed("decode", open_blocks, *args, **kwargs)
        return fmt, probes.blocks(blocks)

    call = pipeline._Runner.call

    def probed_call(self: Any, what: str, func: Callable[..., Any], *args: Any) -> Any:
        return probes.timed(f"{what}: {self.processor.pid}", call, self, what, func, *args)

    context.Context.get = probed_get  # type: ignore[method-assign]
    pipeline.decode.open_blocks = probed_open  # type: ignore[attr-defined]
    pipeline.decode.file_sha1 = lambda path: probes.timed("sha1", file_sha1, path)  # type: ignore[attr-defined]
    pipeline._Runner.call = probed_call  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--default-allocator", action="store_true")
    args = parser.parse_args()
    if not args.default_allocator:
        from timeside_gql.core.memory import keep_freed_memory

        keep_freed_memory()
    pipeline.run(args.file, DEFAULT_EXPERIENCE)
    minutes = decode.probe(args.file).duration / 60
    probes = Probes()
    install(probes)
    start = time.process_time()
    for _ in range(args.runs):
        pipeline.run(args.file, DEFAULT_EXPERIENCE)
    total = (time.process_time() - start) / args.runs / minutes
    scale = 1000 / args.runs / minutes
    print(f"| stage | CPU ms / min |\n|---|---|\n| total | {total * 1000:.1f} |")
    for label, seconds in sorted(probes.seconds.items(), key=lambda kv: -kv[1]):
        if seconds * scale >= 0.5:
            print(f"| {label} | {seconds * scale:.1f} |")
    rest = total * 1000 - sum(probes.seconds.values()) * scale
    print(f"| the rest (pipeline, stages under 0.5 ms) | {rest:.1f} |")


if __name__ == "__main__":
    main()
