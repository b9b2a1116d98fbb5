"""Measure uploads: throughput and the server's memory while a large file comes in.

    python bench/bench_upload.py [--mib 1024] [--redis redis://127.0.0.1:6379/15]

Starts a real ``timeside-gql serve`` (SQLite, a temporary data dir) with a Redis URL and a
namespace of its own, so the server only enqueues the ingest and runs no job itself: its
memory is the upload path's. Uploads one synthetic 16-bit stereo WAV of ``--mib`` MiB through
``POST /media/items`` (chunked body) and through a GraphQL multipart ``createItem``; prints
MiB/s and the server's peak RSS (``VmHWM``) before and after each.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: shared process helpers

from bench_core import machine
from sqlmodel import Session
from tests.jobs.live import free_port

from timeside_gql.db import auth
from timeside_gql.db.engine import create_engine
from timeside_gql.db.migrate import upgrade
from timeside_gql.db.models import User

BIN = Path(sys.executable).with_name("timeside-gql")
MIB = 1 << 20
SR, CHANNELS = 44100, 2
CREATE = (
    'mutation($f: Upload) { createItem(input: {title: "bench"}, file: $f) '
    "{ __typename ... on Item { sha1 } ... on Error { message } } }"
)


def write_wav(path: Path, mib: int) -> None:
    """A valid PCM WAV of ``mib`` MiB of audio data, written a second at a time."""
    data_size = mib * MIB
    header = b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, CHANNELS, SR, SR * CHANNELS * 2, CHANNELS * 2, 16)
    header += b"data" + struct.pack("<I", data_size)
    second = np.sin(2 * np.pi * 440 * np.arange(SR) / SR) * 0.5 * 32767
    block = np.repeat(second.astype("<i2"), CHANNELS).tobytes()
    with open(path, "wb") as out:
        out.write(header)
        left = data_size
        while left:
            piece = block[:left]
            out.write(piece)
            left -= len(piece)


def chunks(path: Path, size: int = MIB) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while piece := handle.read(size):
            yield piece


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def start_server(root: Path, redis_url: str) -> tuple[subprocess.Popen[bytes], str, str]:
    db_url = f"sqlite:///{root / 'timeside.db'}"
    upgrade(db_url)
    engine = create_engine(db_url)
    with Session(engine) as session:
        user = User(username="bench", password_hash="-")
        session.add(user)
        session.flush()
        token = auth.issue_token(session, user, name="bench")[1]
        session.commit()
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESIDE_")}
    env |= {
        "TIMESIDE_DATA_DIR": str(root / "data"),
        "TIMESIDE_DATABASE_URL": db_url,
        "TIMESIDE_REDIS_URL": redis_url,
        "TIMESIDE_REDIS_NAMESPACE": f"bench-{secrets.token_hex(4)}",
        "TIMESIDE_MAX_UPLOAD_MB": str(1 << 16),
    }
    port = free_port()
    log = open(root / "serve.log", "wb")  # noqa: SIM115 - kept open for the process's life
    process = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.post(f"{url}/graphql", json={"query": "{__typename}"}).is_success:
                return process, url, token
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not start; see {root / 'serve.log'}")


def timed(label: str, pid: int, send: object) -> dict[str, object]:
    before = peak_rss_mib(pid)
    start = time.perf_counter()
    response = send()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    assert response.status_code in (200, 201), response.text
    return {"way": label, "seconds": seconds, "rss_before": before, "rss_after": peak_rss_mib(pid)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as folder:
        root = Path(folder)
        wav = root / "big.wav"
        write_wav(wav, args.mib)
        size = wav.stat().st_size / MIB
        process, url, token = start_server(root, args.redis)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with httpx.Client(timeout=600) as client:
                rows = [
                    timed(
                        "POST /media/items (chunked)",
                        process.pid,
                        lambda: client.post(
                            f"{url}/media/items?title=bench", content=chunks(wav), headers=headers
                        ),
                    ),
                    timed(
                        "GraphQL multipart createItem",
                        process.pid,
                        lambda: client.post(
                            f"{url}/graphql",
                            headers=headers,
                            data={
                                "operations": json.dumps(
                                    {"query": CREATE, "variables": {"f": None}}
                                ),
                                "map": json.dumps({"0": ["variables.f"]}),
                            },
                            files={"0": ("big.wav", open(wav, "rb"), "audio/wav")},  # noqa: SIM115
                        ),
                    ),
                ]
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"machine: {machine()}")
    print(f"file: {size:.0f} MiB WAV")
    print("| way | seconds | MiB/s | server peak RSS before MiB | after MiB |")
    print("|---|---|---|---|---|")
    for row in rows:
        rate = size / float(row["seconds"])  # type: ignore[arg-type]
        print(
            f"| {row['way']} | {row['seconds']:.2f} | {rate:.0f} | "
            f"{row['rss_before']:.0f} | {row['rss_after']:.0f} |"
        )


if __name__ == "__main__":
    main()
