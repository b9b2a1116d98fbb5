"""Time the media routes on a long item over real HTTP (uvicorn on a local port, httpx).

    python bench/bench_delivery.py [--minutes 30] [--ranges 200] [--formats mp3 ogg m4a]

A synthetic 44.1 kHz stereo WAV (bench_core's music-like signal) becomes a public item. Then:
- the source: the whole file (MB/s) and random 256 KiB Range requests (ms each, median);
- a 60 s segment from the middle, per format: time to the first byte and to the last (it is
  streamed while it encodes);
- the whole-file transcode, per format: the first request (encodes, stores the Result) and
  the second (served from the cached file).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from bench_core import machine, write_synthetic
from sqlmodel import Session

from timeside_gql.db import models as m
from timeside_gql.db.engine import create_engine
from timeside_gql.db.migrate import upgrade
from timeside_gql.http.app import create_app
from timeside_gql.settings import Settings
from timeside_gql.storage import intake

RANGE_BYTES = 256 * 1024


def make_item(settings: Settings, minutes: float) -> tuple[str, int]:
    """A public item on a fresh synthetic WAV, stored by the intake; its id and file size."""
    with tempfile.TemporaryDirectory() as folder:
        stored = intake.store_file(
            settings, write_synthetic(Path(folder) / "long.wav", minutes * 60, seed=1)
        )
    upgrade(settings.db_url)
    engine = create_engine(settings.db_url)
    with Session(engine) as session:
        item = m.Item(title="long")
        intake.apply_source(session, item, stored, data_dir=settings.data_dir)
        session.commit()
        item_id = str(item.id)
    engine.dispose()
    return item_id, stored.info.size


def serve(settings: Settings) -> tuple[uvicorn.Server, str]:
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def timed_get(client: httpx.Client, url: str, **headers: str) -> tuple[float, float, int, float]:
    """Seconds to the first body byte and to the last, the body size, and the CPU seconds of
    this process (server and client), which the load of a shared machine hardly changes."""
    cpu = time.process_time()
    start = time.perf_counter()
    first = None
    size = 0
    with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            first = first or time.perf_counter()
            size += len(chunk)
    end = time.perf_counter()
    return (first or end) - start, end - start, size, time.process_time() - cpu


def bench_source(client: httpx.Client, media: str, size: int, ranges: int) -> None:
    _, total, got, _ = timed_get(client, f"{media}/source")
    print(f"source, whole file: {got / 2**20 / total:.0f} MiB/s ({total:.2f} s)")
    rng = random.Random(0)
    latencies = []
    for _ in range(ranges):
        start = rng.randrange(0, size - RANGE_BYTES)
        header = f"bytes={start}-{start + RANGE_BYTES - 1}"
        latencies.append(timed_get(client, f"{media}/source", Range=header)[1])
    median = statistics.median(latencies) * 1000
    print(f"source, {ranges} random 256 KiB ranges: median {median:.1f} ms")


def bench_audio(client: httpx.Client, media: str, middle: float, formats: list[str]) -> None:
    print("| format | 60 s segment: first byte | all (CPU s) | whole: first (CPU s) | cached |")
    for fmt in formats:
        segment = f"{media}/audio.{fmt}?start={middle}&stop={middle + 60}"
        first_byte, segment_all, _, segment_cpu = timed_get(client, segment)
        _, cold, _, cold_cpu = timed_get(client, f"{media}/audio.{fmt}")
        _, warm, _, _ = timed_get(client, f"{media}/audio.{fmt}")
        print(
            f"| {fmt} | {first_byte * 1000:.0f} ms | {segment_all:.2f} s ({segment_cpu:.2f}) "
            f"| {cold:.1f} s ({cold_cpu:.1f}) | {warm * 1000:.0f} ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--ranges", type=int, default=200)
    parser.add_argument("--formats", nargs="+", default=["mp3", "ogg", "opus", "m4a", "flac"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as folder:
        settings = Settings(data_dir=Path(folder), playground=False)
        item_id, size = make_item(settings, args.minutes)
        server, base = serve(settings)
        media = f"{base}/media/items/{item_id}"
        print(f"{machine()}, {args.minutes:g} min WAV, {size / 2**20:.0f} MiB")
        with httpx.Client(timeout=3600) as client:
            bench_source(client, media, size, args.ranges)
            bench_audio(client, media, args.minutes * 30, args.formats)
        server.should_exit = True


if __name__ == "__main__":
    main()
