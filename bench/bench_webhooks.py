"""Time what webhooks cost the job system, on SQLite (a temporary database).

    python bench/bench_webhooks.py [--events 500] [--deliveries 200]

- recording: ``notify.publish`` of ``result.done`` events (the most frequent: one per item and
  preset), by an author with no webhook, then with one listening (a delivery row written and
  its message sent to a stub broker): the time each publish takes;
- delivering: ``jobs.webhooks.deliver`` of pending deliveries, one after another in one thread,
  to a local HTTP receiver answering 204 (claim, signed POST, record the answer).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

from bench_core import machine
from sqlmodel import Session, select

from timeside_gql.db import models as m
from timeside_gql.db.engine import create_engine
from timeside_gql.db.migrate import upgrade
from timeside_gql.jobs import webhooks
from timeside_gql.jobs.broker import build_broker, set_broker
from timeside_gql.jobs.config import configure
from timeside_gql.jobs.events import EventBus, set_bus
from timeside_gql.jobs.notify import publish, result_event
from timeside_gql.settings import Settings


class Quiet(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def results(session: Session, authors: list[m.User], count: int) -> list[list[m.Result]]:
    """``count`` done results per author, each on its own item."""
    processor = m.Processor(pid="level", version="1", kind=m.ProcessorKind.ANALYZER)
    preset = m.Preset(processor_id=processor.id, parameters={}, parameters_hash="0" * 40)
    session.add_all([processor, preset])
    rows = []
    for author in authors:
        items = [m.Item(title=f"item {n}", author_id=author.id) for n in range(count)]
        results = [
            m.Result(item_id=item.id, preset_id=preset.id, status=m.ResultStatus.DONE)
            for item in items
        ]
        session.add_all([*items, *results])
        rows.append(results)
    session.commit()
    return rows


def per_call_ms(calls: list[Callable[[], object]]) -> tuple[float, float]:
    """(median, 95th percentile) milliseconds of each call."""
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--deliveries", type=int, default=200)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), allow_private_urls=True, redis_url=None)
        upgrade(settings.db_url)
        engine = create_engine(settings.db_url)
        configure(settings, engine)
        set_bus(EventBus())
        set_broker(build_broker(settings))  # a stub broker: messages wait, unconsumed
        with Session(engine, expire_on_commit=False) as session:
            quiet, listening = (
                m.User(username="quiet", password_hash="-"),
                m.User(username="listening", password_hash="-"),
            )
            session.add_all([quiet, listening])
            session.add(
                m.Webhook(user_id=listening.id, url=url, events=["result.done"], secret="s" * 32)
            )
            session.commit()
            authors = [quiet, listening]
            rows = results(session, authors, args.events)

        print(machine())
        for user, made in zip(authors, rows, strict=True):
            calls = [lambda row=row: publish(result_event(row, task_id=None)) for row in made]
            median, p95 = per_call_ms(calls)
            print(
                f"publish result.done, author {user.username}: {median:.2f} ms median, "
                f"{p95:.2f} ms p95 ({args.events} events)"
            )

        with Session(engine) as session:
            pending = list(session.exec(select(m.WebhookDelivery.id)))[: args.deliveries]
        delivered: list[UUID] = []
        calls = [
            lambda id=id: (webhooks.deliver(id, settings=settings), delivered.append(id))
            for id in pending
        ]
        started = time.perf_counter()
        median, p95 = per_call_ms(calls)
        elapsed = time.perf_counter() - started
        with Session(engine) as session:
            done = session.exec(
                select(m.WebhookDelivery).where(
                    m.WebhookDelivery.status == m.DeliveryStatus.DELIVERED
                )
            ).all()
        assert len(done) == len(pending), f"{len(done)} of {len(pending)} delivered"
        print(
            f"deliver (claim, signed POST, record): {median:.2f} ms median, {p95:.2f} ms p95, "
            f"{len(pending) / elapsed:.0f} deliveries/s in one thread"
        )
        engine.dispose()
    server.shutdown()


if __name__ == "__main__":
    main()
