"""runTask, cancelTask, createTask(run: true) and taskUpdates through the Starlette app, with the
embedded runtime its lifespan starts (stub broker, in-process worker and bus)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.db import factories
from tests.jobs.world import build_world, snapshot
from timeside_gql.db.models import TaskStatus
from timeside_gql.http.app import create_app
from timeside_gql.jobs.events import get_bus, task_channel

PAYLOAD = "__typename ... on Task { id status } ... on Error { message }"
RUN = f"mutation($id: UUID!) {{ runTask(id: $id) {{ {PAYLOAD} }} }}"
CANCEL = f"mutation($id: UUID!) {{ cancelTask(id: $id) {{ {PAYLOAD} }} }}"
CREATE = f"""mutation($experience: UUID!, $item: UUID!) {{
  createTask(input: {{experienceId: $experience, itemId: $item}}, run: true) {{ {PAYLOAD} }} }}"""
UPDATES = """subscription($id: UUID!) { taskUpdates(taskId: $id) {
  kind cached task { status itemsTotal itemsDone itemsFailed }
  job { progress status } result { status error } } }"""


@pytest.fixture
def client(settings, engine):
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


def post(client, query: str, token: str, **variables: Any) -> dict:
    body = {"query": query, "variables": variables}
    response = client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
    return response.json()["data"]


def follow(client, task_id, token: str) -> list[dict]:
    """Every message of a taskUpdates subscription until it completes (or errors)."""
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        payload = {"query": UPDATES, "variables": {"id": str(task_id)}}
        ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        messages = []
        while (message := ws.receive_json())["type"] != "complete":
            messages.append(message)
            if message["type"] == "error":
                break
        return messages


def test_run_then_follow_until_the_task_ends(client, engine, data_dir):
    world = build_world(engine, data_dir, pids=("level", "mean_dc_shift"))
    token = factories.token(engine, world.owner_id)
    assert post(client, RUN, token, id=str(world.task_id))["runTask"]["status"] == "PENDING"

    updates = [m["payload"]["data"]["taskUpdates"] for m in follow(client, world.task_id, token)]
    assert updates[0]["kind"] == "SNAPSHOT"
    last = updates[-1]["task"]
    assert (last["status"], last["itemsTotal"], last["itemsDone"], last["itemsFailed"]) == (
        "FAILED",
        3,
        0,
        3,
    )
    assert snapshot(engine, world.task_id)[0].status == TaskStatus.FAILED

    again = post(client, CANCEL, token, id=str(world.task_id))["cancelTask"]
    assert again["__typename"] == "ConflictError" and "is failed" in again["message"]


def test_create_and_run_in_one_mutation(client, engine, data_dir):
    world = build_world(engine, data_dir, failing=False, pids=("level", "mean_dc_shift"))
    token = factories.token(engine, world.owner_id)
    created = post(
        client, CREATE, token, experience=str(world.experience_id), item=str(world.item_ids[0])
    )["createTask"]
    assert created["status"] == "PENDING"
    updates = [m["payload"]["data"]["taskUpdates"] for m in follow(client, created["id"], token)]
    assert updates[-1]["task"]["status"] == "DONE"
    assert updates[-1]["task"]["itemsDone"] == 1


def test_only_users_who_may_see_the_task_follow_or_run_it(client, engine, data_dir):
    world = build_world(engine, data_dir, pids=("level", "mean_dc_shift"))  # a private task
    stranger = factories.token(engine, username="stranger")
    refused = post(client, RUN, stranger, id=str(world.task_id))["runTask"]
    assert refused["__typename"] == "NotFoundError"
    [message] = follow(client, world.task_id, stranger)
    assert message["type"] == "next" and message["payload"]["data"] is None
    assert "not found" in message["payload"]["errors"][0]["message"]


ITEM_UPDATES = """subscription($id: UUID!) { itemUpdates(itemId: $id) {
  kind item { id } job { status } result { status } cached } }"""


def test_item_updates_stream_the_results_of_tasks_on_the_item(client, engine, data_dir):
    world = build_world(engine, data_dir, failing=False, pids=("level", "mean_dc_shift"))
    token = factories.token(engine, world.owner_id)
    item_id = str(world.item_ids[1])
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        payload = {"query": ITEM_UPDATES, "variables": {"id": item_id}}
        ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        first = ws.receive_json()["payload"]["data"]["itemUpdates"]
        assert first["kind"] == "SNAPSHOT" and first["item"]["id"] == item_id

        post(client, RUN, token, id=str(world.task_id))
        updates = []
        while sum(u["kind"] == "RESULT" for u in updates) < 2:
            updates.append(ws.receive_json()["payload"]["data"]["itemUpdates"])
        ws.send_json({"id": "1", "type": "complete"})
    assert {u["kind"] for u in updates} == {"JOB", "RESULT"}
    assert all(u["item"]["id"] == item_id for u in updates)
    assert [u["result"]["status"] for u in updates if u["kind"] == "RESULT"] == ["DONE", "DONE"]


def test_task_updates_over_server_sent_events(client, engine, data_dir):
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    token = factories.token(engine, world.owner_id)
    post(client, RUN, token, id=str(world.task_id))
    body = {"query": UPDATES, "variables": {"id": str(world.task_id)}}
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    with client.stream("POST", "/graphql", json=body, headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = list(response.iter_lines())
    events = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    data = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
    assert events[-1] == "complete" and set(events[:-1]) == {"next"}
    updates = [json.loads(payload)["data"]["taskUpdates"] for payload in data[:-1]]
    assert updates[0]["kind"] == "SNAPSHOT"
    assert updates[-1]["task"]["status"] == "DONE"


def test_subscribers_who_see_the_same_rows_share_one_read_per_event(client, engine, data_dir):
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    token = factories.token(engine, world.owner_id)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if "FROM tasks" in statement:
            statements.append(statement)

    with ExitStack() as stack:
        sockets = []
        for _ in range(20):
            ws = stack.enter_context(
                client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
            )
            init = {"authorization": f"Bearer {token}"}
            ws.send_json({"type": "connection_init", "payload": init})
            ws.receive_json()
            payload = {"query": UPDATES, "variables": {"id": str(world.task_id)}}
            ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
            assert ws.receive_json()["payload"]["data"]["taskUpdates"]["kind"] == "SNAPSHOT"
            sockets.append(ws)

        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            event = {"type": "task", "taskId": str(world.task_id), "status": "draft"}
            get_bus().publish(task_channel(world.task_id), event)
            updates = [ws.receive_json()["payload"]["data"]["taskUpdates"] for ws in sockets]
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert [u["kind"] for u in updates] == ["TASK"] * 20
    assert len(statements) == 1
