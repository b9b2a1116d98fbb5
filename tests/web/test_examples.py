"""The example clients of examples/: the Python one run against a live server, the TypeScript
one generated from schema.graphql and type-checked."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.jobs.live import graphql
from tests.services import need_npm
from tests.web.conftest import ROOT, Site

pytestmark = pytest.mark.slow

CREATE = """mutation($experience: UUID!, $item: UUID!) {
  createTask(input: {experienceId: $experience, itemId: $item}) {
    __typename ... on Task { id status } } }"""
TYPESCRIPT = ROOT / "examples" / "typescript"


def create_task(site: Site, item: object) -> str:
    """A draft task of the world's experience on one item."""
    experience = str(site.world.experience_id)
    created = graphql(site.url, site.token, CREATE, experience=experience, item=str(item))
    assert created["createTask"]["status"] == "DRAFT"
    return str(created["createTask"]["id"])


def test_python_client_lists_items_then_runs_and_follows_a_task(site: Site):
    task = create_task(site, site.world.item_ids[0])
    client = ROOT / "examples" / "python" / "client.py"
    args = ["--url", site.url, "--token", site.token, "--search", "sine", "--run-task"]
    done = subprocess.run(
        [sys.executable, str(client), *args, task],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "3 items"
    assert all(" sine-" in line for line in lines[1:4])
    assert lines[4].startswith("SNAPSHOT")  # the task as it was when the subscription began
    assert lines[-2].split()[1:3] == ["DONE", "1/1"]
    assert lines[-1] == "task done"


def npm(npm_bin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [npm_bin, *args], cwd=TYPESCRIPT, capture_output=True, text=True, timeout=600
    )


def test_typescript_client_is_generated_from_the_schema_type_checks_and_runs(site: Site):
    """`npm run typecheck` generates the types from schema.graphql first: a schema change that
    breaks the client's operations fails here, and generated types can never be stale."""
    npm_bin = need_npm()
    installed = npm(npm_bin, "ci", "--prefer-offline", "--no-audit", "--no-fund")
    assert installed.returncode == 0, installed.stderr
    checked = npm(npm_bin, "run", "typecheck")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    generated = (TYPESCRIPT / "src" / "gql" / "graphql.ts").read_text()
    assert "export type ClientFollowSubscription = " in generated

    built = npm(npm_bin, "exec", "--", "tsc")
    assert built.returncode == 0, built.stdout + built.stderr
    task = create_task(site, site.world.item_ids[1])
    env = {**os.environ, "TIMESIDE_URL": site.url, "TIMESIDE_TOKEN": site.token}
    ran = subprocess.run(
        ["node", "dist/client.js", task],
        cwd=TYPESCRIPT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == "3 items"
    assert lines[4].startswith("SNAPSHOT ")
    assert lines[-1] == "task done"
