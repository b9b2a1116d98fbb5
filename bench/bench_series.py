"""Time the player-data fields on a 2-hour item: Item.waveform and Result.series.

    python bench/bench_series.py [--hours 2] [--repeat 20] [--workdir DIR]

A synthetic 44.1 kHz stereo file (bench_core's music-like signal) is analysed once by the core
(waveform pyramid, loudness, MFCC, onsets) and stored as a job stores it; the audio is then
deleted. With ``--workdir`` the analysis is kept and reused by later runs.

Each query goes through the whole ASGI app in this process (Starlette TestClient: parsing,
validation, SQLite reads through the loaders, HDF5 reads in a worker thread, JSON
serialisation; no network) and is timed best of N; the core call alone (open the file, read
the window's rows, decimate) is timed too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import bench_core
import h5py
import numpy as np
from bench_core import write_synthetic
from sqlmodel import Session, select
from starlette.testclient import TestClient

from timeside_gql.core import hdf5, pipeline, series
from timeside_gql.core.registry import all_processors
from timeside_gql.db import auth
from timeside_gql.db import models as m
from timeside_gql.db.engine import create_engine
from timeside_gql.db.migrate import upgrade
from timeside_gql.db.presets import preset_for
from timeside_gql.db.processors import sync_processors
from timeside_gql.http.app import create_app
from timeside_gql.jobs.results import store_outcome, upsert_results
from timeside_gql.settings import Settings

PRESETS = ("waveform_analyzer", "loudness_itu", "mfcc", "onsets")

WAVEFORM = """query($id: UUID!, $start: Float, $stop: Float, $pixels: Int!) {
  item(id: $id) { waveform(start: $start, stop: $stop, pixels: $pixels) { times min max } } }"""
SERIES = """query($id: UUID!, $output: String, $start: Float, $stop: Float, $max: Int!) {
  result(id: $id) { series(output: $output, start: $start, stop: $stop, maxPoints: $max) {
    times values min max truncated } } }"""


def analyse(workdir: Path, hours: float, settings: Settings) -> tuple[str, dict[str, str]]:
    """The item and its results (pid -> result id), analysed once per workdir."""
    url = settings.db_url
    upgrade(url)
    engine = create_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        item = session.exec(select(m.Item)).first()
        if item is not None:
            rows = session.exec(select(m.Result, m.Preset).join(m.Preset)).all()
            pids = {p.id: p.pid for p in session.exec(select(m.Processor))}
            return str(item.id), {pids[p.processor_id]: str(r.id) for r, p in rows}
        audio = write_synthetic(workdir / "long.wav", hours * 3600, seed=0)
        started = time.perf_counter()
        outcomes = pipeline.run(audio, [(pid, {}) for pid in PRESETS])
        print(f"analysed {hours} h in {time.perf_counter() - started:.1f} s")
        audio.unlink()
        user = auth.create_user(session, "bench", "bench-password")
        item = m.Item(title="long", author_id=user.id, audio_duration=hours * 3600)
        session.add(item)
        processors = {p.pid: p for p in sync_processors(session, all_processors())}
        presets = {}
        for pid in PRESETS:
            presets[pid] = preset_for(session, processors[pid], {})
        session.flush()
        rows = upsert_results(session, item.id, [p.id for p in presets.values()])
        for pid, outcome in zip(PRESETS, outcomes, strict=True):
            assert outcome.ok, outcome.error
            store_outcome(session, rows[presets[pid].id], outcome, data_dir=settings.data_dir)
        session.commit()
        return str(item.id), {pid: str(rows[presets[pid].id].id) for pid in PRESETS}


def best_of(repeat: int, call: Callable[[], Any]) -> float:
    """Milliseconds of the fastest of ``repeat`` calls (after one warm-up call)."""
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def graphql(client: TestClient, query: str, variables: dict[str, Any]) -> Callable[[], Any]:
    def call() -> Any:
        body = client.post("/graphql", json={"query": query, "variables": variables}).json()
        assert "errors" not in body, body
        return body

    return call


def core_waveform(path: Path, start: float | None, stop: float | None, pixels: int) -> Any:
    def call() -> Any:
        with h5py.File(path, "r") as h5:
            levels = [hdf5.read_lazy(h5, rid, brief=True) for rid in h5 if series.is_peaks(rid)]
            pairs = [(level.meta, level.data) for level in levels]
            return series.waveform(levels=pairs, start=start, stop=stop, pixels=pixels)

    return call


def core_series(path: Path, output: str, start: float | None, stop: float | None) -> Any:
    def call() -> Any:
        with h5py.File(path, "r") as h5:
            stored = hdf5.read_lazy(h5, output)
            return series.window(
                result=stored.meta, data=stored.data, start=start, stop=stop, max_points=1000
            )

    return call


def machine() -> str:
    return f"{bench_core.machine()}, numpy {np.__version__}, h5py {h5py.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        workdir = args.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        settings = Settings(data_dir=workdir / "data", debug=False, max_series_points=10000)
        item_id, results = analyse(workdir, args.hours, settings)
        engine = create_engine(settings.db_url)
        with Session(engine) as session:
            paths = {
                pid: settings.data_dir / (session.get(m.Result, UUID(rid)).hdf5_path or "")
                for pid, rid in results.items()
            }
        client = TestClient(create_app(settings, engine=engine))
        middle = args.hours * 1800
        waveforms = [
            ("full view", None, None, 1000),
            ("full view", None, None, 4000),
            ("zoom 60 s", middle, middle + 60, 1000),
            ("zoom 1 s", middle, middle + 1, 1000),
        ]
        lines = [
            "| query | window | points | GraphQL ms (best of N) | core ms |",
            "|---|---|---|---|---|",
        ]
        for label, start, stop, pixels in waveforms:
            variables = {"id": item_id, "start": start, "stop": stop, "pixels": pixels}
            points = len(graphql(client, WAVEFORM, variables)()["data"]["item"]["waveform"]["min"])
            ms = best_of(args.repeat, graphql(client, WAVEFORM, variables))
            core = best_of(args.repeat, core_waveform(paths[PRESETS[0]], start, stop, pixels))
            lines.append(f"| Item.waveform | {label} | {points} | {ms:.1f} | {core:.1f} |")
        features = [
            ("loudness_itu", "loudness_itu.short_term", "10 Hz"),
            ("mfcc", "mfcc", "(frames, 13)"),
            ("onsets", "onsets", "events"),
        ]
        for pid, output, kind in features:
            for label, start, stop in (("full", None, None), ("zoom 60 s", middle, middle + 60)):
                variables = {
                    "id": results[pid],
                    "output": output,
                    "start": start,
                    "stop": stop,
                    "max": 1000,
                }
                data = graphql(client, SERIES, variables)()["data"]["result"]["series"]
                ms = best_of(args.repeat, graphql(client, SERIES, variables))
                core = best_of(args.repeat, core_series(paths[pid], output, start, stop))
                row = f"| Result.series {output} {kind} | {label} | {len(data['times'])} |"
                lines.append(f"{row} {ms:.1f} | {core:.1f} |")
        print(f"machine: {machine()}; {args.hours} h item, best of {args.repeat}")
        print("\n".join(lines))
        for pid, path in paths.items():
            print(f"{pid}: {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
