"""Run many presets on one audio source: decode once, share intermediates, isolate failures.

:func:`run` validates each preset once (presets given as core ``Parameters`` are taken as
they are), instantiates its processor (plus the parent presets graphers ask for, validated
once and deduplicated by pid and parameter hash), streams the source through one
:class:`~timeside_gql.core.context.Context`, then calls ``finish`` on each processor.
A preset whose parameters, ``process`` or ``finish`` fail gets ``error`` set and the
others go on. Decoding errors and cancellation concern the whole item and raise.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from timeside_gql.core import decode
from timeside_gql.core.context import Context
from timeside_gql.core.params import Parameters, ensure_parameters
from timeside_gql.core.processor import Artifact, Done, Parent, Processor, SourceInfo
from timeside_gql.core.provenance import library_versions
from timeside_gql.core.registry import get_processor
from timeside_gql.core.results import AnalyzerResult

#: Samples per decoded block (about 3 s at 22.05 kHz). Cancellation is checked before each
#: processor's step, so one processor's block bounds how long a cancelled job keeps computing:
#: 0.1 to 0.4 s
#: measured with 1 << 16, over 1 s under load with 1 << 17 and 1 << 18 (docs/performance.md,
#: "Decoded block size", for its cost in CPU time).
PIPELINE_BLOCK_SIZE = 1 << 16
_log = logging.getLogger(__name__)
_DECODE_SHARE = 0.9  # progress fraction given to the streaming phase

Progress = Callable[[float], None]


class Cancelled(Exception):
    """The caller's ``cancelled()`` returned true; nothing was returned."""


@dataclass(frozen=True, slots=True)
class Source:
    """A file, optionally a segment of it."""

    path: Path
    start: float = 0.0
    duration: float | None = None

    @classmethod
    def coerce(cls, source: Source | str | os.PathLike[str]) -> Source:
        return source if isinstance(source, Source) else cls(Path(source))


@dataclass(slots=True)
class PresetOutcome:
    pid: str
    params: dict[str, Any]
    results: list[AnalyzerResult] | None = None
    artifacts: list[Artifact] = field(default_factory=list)
    error: str | None = None
    run_time: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class _Runner:
    """One processor instance and the outcome(s) it feeds."""

    processor: Processor[Any]
    parents: tuple[Parent, ...]
    outcome: PresetOutcome
    seconds: float = 0.0
    failed: bool = False

    def call(self, what: str, func: Callable[..., Any], *args: Any) -> Any:
        """``func(*args)``, timed and charged to this preset; an exception fails it."""
        started = time.perf_counter()
        try:
            return func(*args)
        except Exception as exc:
            self.failed = True
            self.outcome.error = f"{what} failed: {type(exc).__name__}: {exc}"
            self.outcome.results = None
            _log.debug("preset %s failed in %s", self.key[0], what, exc_info=True)
            return None
        finally:
            self.seconds += time.perf_counter() - started

    @property
    def key(self) -> tuple[str, str]:
        return self.processor.parameters.key


def _plan(
    presets: Sequence[tuple[str, Mapping[str, Any] | None]],
) -> tuple[list[PresetOutcome], list[_Runner]]:
    """One outcome per preset, and runners in dependency order (parents first), one per
    distinct (pid, canonical params)."""
    runners: dict[tuple[str, str], _Runner] = {}
    order: list[_Runner] = []

    def add(pid: str, params: Mapping[str, Any] | None) -> _Runner:
        parameters = ensure_parameters(pid, params)
        runner = runners.get(parameters.key)
        if runner is None:
            processor = get_processor(pid)(parameters)
            parents = tuple(
                Parent(ppid, listed, add(ppid, listed).processor.parameters)
                for ppid, listed in processor.parents()
            )
            runner = _Runner(processor, parents, PresetOutcome(pid, parameters.to_dict()))
            runners[parameters.key] = runner
            order.append(runner)
        return runner

    outcomes: list[PresetOutcome] = []
    for pid, params in presets:
        try:
            outcomes.append(add(pid, params).outcome)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            outcomes.append(PresetOutcome(pid, dict(params or {}), error=error))
    return outcomes, order


def _lookahead(blocks: Iterator[np.ndarray]) -> Iterator[tuple[np.ndarray, bool]]:
    previous = next(blocks, None)
    for block in blocks:
        yield previous, False  # type: ignore[misc]
        previous = block
    if previous is not None:
        yield previous, True


def run(
    source: Source | str | os.PathLike[str],
    presets: Sequence[tuple[str, Mapping[str, Any] | Parameters | None]],
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> list[PresetOutcome]:
    """Run ``presets`` on ``source``; one :class:`PresetOutcome` per preset, in order.

    ``workdir`` is where processors write file artifacts (encoders); without it they go
    to a temporary directory that is removed when ``run`` returns, so pass one to keep
    artifact files (in-memory artifacts such as PNG bytes need none).
    """
    src = Source.coerce(source)
    outcomes, order = _plan(presets)
    report = progress or (lambda _fraction: None)
    is_cancelled = cancelled or (lambda: False)

    fmt, blocks = decode.open_blocks(
        src.path, start=src.start, duration=src.duration, block_size=PIPELINE_BLOCK_SIZE
    )
    sha1 = decode.file_sha1(src.path)
    ctx = Context(fmt)
    needs = {id(r): tuple(r.processor.needs()) for r in order}
    expected = max(fmt.duration * fmt.samplerate, 1.0)
    decoded = 0
    last_reported = -1.0
    for block, eod in _lookahead(blocks):
        ctx.advance(block, eod=eod)
        for runner in order:
            if is_cancelled():  # per processor: a block of ten presets is not one step
                raise Cancelled("analysis cancelled")
            if not runner.failed:
                runner.call("process", _step, runner, ctx, needs[id(runner)])
        decoded += block.shape[-1]
        fraction = _DECODE_SHARE * min(decoded / expected, 1.0)
        if fraction - last_reported >= 0.01:
            report(fraction)
            last_reported = fraction

    info = SourceInfo(
        uri=src.path.resolve().as_uri(),
        sha1=sha1,
        samplerate=fmt.samplerate,
        channels=fmt.channels,
        duration=decoded / fmt.samplerate,
        start=src.start,
        is_segment=src.start > 0 or src.duration is not None,
    )
    _finish_all(order, info, workdir, report, is_cancelled)
    report(1.0)
    return outcomes


def _step(runner: _Runner, ctx: Context, needs: tuple[Any, ...]) -> None:
    for need in needs:
        ctx.get(need)
    runner.processor.process(ctx)


def _finish_all(
    order: list[_Runner],
    info: SourceInfo,
    workdir: str | os.PathLike[str] | None,
    report: Progress,
    is_cancelled: Callable[[], bool],
) -> None:
    results: dict[tuple[str, str], list[AnalyzerResult]] = {}
    with tempfile.TemporaryDirectory(prefix="timeside-") as scratch:
        for index, runner in enumerate(order):
            if is_cancelled():
                raise Cancelled("analysis cancelled")
            if not runner.failed:
                missing = [p.pid for p in runner.parents if p.parameters.key not in results]
                if missing:
                    runner.failed = True
                    runner.outcome.error = f"parent preset failed: {missing[0]}"
                else:
                    done = Done(info, Path(workdir or scratch), results, runner.parents)
                    output = runner.call("finish", runner.processor.finish, done)
                    if output is not None:
                        _stamp(runner, output.results, info)
                        results[runner.key] = output.results
                        runner.outcome.results = output.results
                        runner.outcome.artifacts = output.artifacts
            runner.outcome.run_time = runner.seconds
            report(_DECODE_SHARE + (1 - _DECODE_SHARE) * (index + 1) / len(order))


def _stamp(runner: _Runner, results: list[AnalyzerResult], info: SourceInfo) -> None:
    processor = runner.processor
    for result in results:
        result.provenance = {
            "processor_id": processor.pid,
            "processor_version": processor.version,
            "parameters": processor.parameters.to_dict(),
            "parameters_hash": processor.parameters.hash,
            "libraries": dict(library_versions()),
            "source_sha1": info.sha1,
            "run_time": round(runner.seconds, 6),
        }
