"""The event bus: in-process and through a real Redis, one listener fanned out to subscribers."""

from __future__ import annotations

import asyncio
import threading

import pytest
import redis

from tests.services import need_redis
from timeside_gql.jobs.events import RESYNC, EventBus, RedisEventBus, task_channel


@pytest.fixture(params=["local", "redis"])
async def bus(request):
    bus = RedisEventBus(need_redis()) if request.param == "redis" else EventBus()
    await bus.start()
    yield bus
    await bus.stop()


async def next_event(subscription, timeout: float = 5.0) -> dict:
    return await asyncio.wait_for(anext(subscription), timeout)


async def test_events_reach_every_subscriber_of_their_channel_only(bus):
    a, b = task_channel("a"), task_channel("b")
    async with bus.subscribe(a) as first, bus.subscribe(a) as second, bus.subscribe(b) as other:
        bus.publish(a, {"type": "task", "status": "running"})
        bus.publish(b, {"type": "task", "status": "done"})
        assert await next_event(first) == {"type": "task", "status": "running"}
        assert await next_event(second) == {"type": "task", "status": "running"}
        assert await next_event(other) == {"type": "task", "status": "done"}
        assert first.queue.empty()


async def test_publish_from_a_worker_thread_is_delivered_in_order(bus):
    async with bus.subscribe(task_channel("t")) as events:

        def work() -> None:
            for n in range(20):
                bus.publish(task_channel("t"), {"type": "job", "progress": n / 19})

        thread = threading.Thread(target=work)
        thread.start()
        received = [(await next_event(events))["progress"] for _ in range(20)]
        thread.join()
    assert received == sorted(received)
    assert received[-1] == 1.0


async def test_unsubscribe_frees_the_fanout(bus):
    subscription = bus.subscribe(task_channel("x"))
    assert len(bus.fanout) == 1
    subscription.close()
    assert len(bus.fanout) == 0
    bus.publish(task_channel("x"), {"type": "task"})  # nobody listens: nothing to deliver
    await asyncio.sleep(0.05)
    assert subscription.queue.empty()


async def test_a_lagging_subscriber_keeps_the_latest_events(bus):
    async with bus.subscribe(task_channel("slow")) as events:
        size = events.queue.maxsize
        for n in range(size + 10):
            bus.publish(task_channel("slow"), {"n": n})
        await asyncio.sleep(0.2)
        while events.queue.qsize() < size:
            await asyncio.sleep(0.05)
        received = [events.queue.get_nowait()["n"] for _ in range(size)]
    assert received[-1] == size + 9
    assert received[0] == 10


async def test_the_listener_reconnects_and_tells_subscribers_to_resync():
    url = need_redis()
    bus = RedisEventBus(url)
    await bus.start()
    try:
        async with bus.subscribe(task_channel("r")) as events:
            admin = redis.Redis.from_url(url)
            for client in admin.client_list():
                if client["name"] == bus.client_name:
                    admin.client_kill_filter(_id=client["id"])
            assert await next_event(events, timeout=10) == RESYNC
            bus.publish(task_channel("r"), {"type": "task", "n": 1})
            assert await next_event(events) == {"type": "task", "n": 1}
    finally:
        await bus.stop()
