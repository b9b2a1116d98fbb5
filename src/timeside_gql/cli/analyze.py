"""``timeside-gql analyze`` (run presets on files, write results) and ``processors``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from timeside_gql.core import decode, hdf5, pipeline, serialize
from timeside_gql.core.experience import DEFAULT_EXPERIENCE
from timeside_gql.core.processor import Processor
from timeside_gql.core.registry import all_processors
from timeside_gql.core.results import AnalyzerResult

FORMATS = ("hdf5", "json", "yaml", "xml", "csv", "npz")


def register(subparsers: argparse._SubParsersAction) -> None:
    analyze = subparsers.add_parser(
        "analyze", help="analyse audio files with presets and write the results"
    )
    analyze.add_argument("files", nargs="+", type=Path, help="audio files")
    analyze.add_argument(
        "--preset",
        "-p",
        action="append",
        type=parse_preset,
        metavar="PID[:JSON]",
        help="processor id with optional JSON parameters (repeatable; default: the default "
        "experience)",
    )
    analyze.add_argument("--format", "-f", choices=FORMATS, default="hdf5")
    analyze.add_argument("--out", "-o", type=Path, default=Path("."), help="output directory")
    analyze.add_argument("--start", type=float, default=0.0, help="segment start (s)")
    analyze.add_argument("--duration", type=float, default=None, help="segment duration (s)")
    analyze.set_defaults(func=run_analyze)

    processors = subparsers.add_parser("processors", help="list processors and their parameters")
    processors.add_argument("--json", action="store_true", help="full JSON description")
    processors.set_defaults(func=run_processors)


def parse_preset(text: str) -> tuple[str, dict[str, Any]]:
    pid, _, raw = text.partition(":")
    if not raw:
        return pid, {}
    try:
        params = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{pid}: parameters are not JSON ({exc})") from None
    if not isinstance(params, dict):
        raise argparse.ArgumentTypeError(f"{pid}: parameters must be a JSON object")
    return pid, params


def write_results(results: list[AnalyzerResult], out: Path, stem: str, fmt: str) -> list[Path]:
    """Write ``results`` as ``out/stem.<ext>`` (CSV: one file per result id)."""
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "hdf5":
        return [hdf5.write(out / f"{stem}.h5", results)]
    if fmt == "npz":
        serialize.to_npz(results, out / f"{stem}.npz")
        return [out / f"{stem}.npz"]
    if fmt == "csv":
        paths = []
        for result in results:
            path = out / f"{stem}.{result.id}.csv"
            path.write_text(serialize.to_csv(result))
            paths.append(path)
        return paths
    dump = {"json": serialize.to_json, "yaml": serialize.to_yaml, "xml": serialize.to_xml}[fmt]
    path = out / f"{stem}.{fmt}"
    path.write_text(dump(results))
    return [path]


def run_analyze(args: argparse.Namespace) -> int:
    presets = args.preset or list(DEFAULT_EXPERIENCE)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    failures = 0
    with Progress(*columns, console=console, transient=True) as progress:
        for path in args.files:
            task = progress.add_task(path.name, total=1.0)

            def report(fraction: float, task: TaskID = task) -> None:
                progress.update(task, completed=fraction)

            failures += analyze_file(path, presets, args, report, progress.console)
    return 1 if failures else 0


def analyze_file(
    path: Path,
    presets: list[tuple[str, dict[str, Any]]],
    args: argparse.Namespace,
    report: pipeline.Progress,
    console: Console,
) -> int:
    """Analyse one file and write its results and artifacts; return the failure count."""
    source = pipeline.Source(path, start=args.start, duration=args.duration)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.out, prefix=".work-") as workdir:
        try:
            outcomes = pipeline.run(source, presets, progress=report, workdir=workdir)
        except decode.DecodeError as exc:
            console.print(f"[red]error[/red] {exc}")
            return 1
        for artifact in (a for o in outcomes for a in o.artifacts):
            target = args.out / f"{path.stem}.{artifact.name}"
            if artifact.path is not None:
                os.replace(artifact.path, target)
            elif artifact.data is not None:
                target.write_bytes(artifact.data)
    failed = [o for o in outcomes if o.error]
    for outcome in failed:
        console.print(f"[red]{path.name}: {outcome.pid}[/red] {outcome.error}")
    results = [r for o in outcomes if o.results for r in o.results]
    written = write_results(results, args.out, path.stem, args.format)
    console.print(f"{path.name}: {len(results)} results -> {', '.join(map(str, written))}")
    return len(failed)


def describe(cls: type[Processor]) -> dict[str, Any]:
    return {
        "pid": cls.pid,
        "name": cls.name,
        "kind": cls.kind,
        "version": cls.version,
        "description": cls.description,
        "parameters_schema": cls.parameters_schema,
        "outputs": [
            {
                "id": o.id,
                "name": o.name,
                "unit": o.unit,
                "data_mode": o.data_mode,
                "time_mode": o.time_mode,
            }
            for o in cls.outputs
        ],
    }


def run_processors(args: argparse.Namespace) -> int:
    processors = all_processors()
    if args.json:
        json.dump([describe(cls) for cls in processors], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    table = Table()
    table.add_column("id", no_wrap=True)
    for header in ("kind", "version", "parameters (defaults)", "outputs"):
        table.add_column(header, overflow="fold")
    for cls in processors:
        props = cls.parameters_schema.get("properties", {})
        params = "\n".join(f"{k}={json.dumps(v.get('default'))}" for k, v in props.items())
        outputs = "\n".join(f"{o.id} [{o.data_mode}/{o.time_mode}] {o.unit}" for o in cls.outputs)
        table.add_row(cls.pid, cls.kind, cls.version, params, outputs)
    Console().print(table)
    return 0
