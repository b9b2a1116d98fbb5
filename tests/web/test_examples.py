"""The example clients of examples/: the Python one run against a live server, the TypeScript
one generated from schema.graphql and type-checked; both list the items nearest to one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.jobs.live import STRUCTURE, graphql, run_presets
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


@pytest.fixture(scope="module")
def described(site: Site) -> list[str]:
    """The world's first two items with their similarity descriptors; the third has none."""
    ids = [str(i) for i in site.world.item_ids]
    run_presets(site.url, site.token, STRUCTURE, ids[:2], public=True)
    return ids


def nearest(lines: list[str]) -> list[tuple[float, str]]:
    """(distance, id) of each item a client listed after "nearest to"."""
    assert lines[0].startswith("nearest to sine-"), lines
    return [(float(line.split()[0]), line.split()[1]) for line in lines[1:]]


def run(*command: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> list[str]:
    """The command's output lines; it must succeed."""
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def test_python_client_lists_items_then_runs_and_follows_a_task(site: Site):
    task = create_task(site, site.world.item_ids[0])
    client = str(ROOT / "examples" / "python" / "client.py")
    args = ("--url", site.url, "--token", site.token, "--search", "sine", "--run-task", task)
    lines = run(sys.executable, client, *args)
    assert lines[0] == "3 items"
    assert all(" sine-" in line for line in lines[1:4])
    assert lines[4].startswith("SNAPSHOT")  # the task as it was when the subscription began
    assert lines[-2].split()[1:3] == ["DONE", "1/1"]
    assert lines[-1] == "task done"


def test_python_client_lists_the_nearest_items(site: Site, described: list[str]):
    client = (sys.executable, str(ROOT / "examples" / "python" / "client.py"))
    args = ("--url", site.url, "--token", site.token, "--search", "nothing like this")
    ((distance, found),) = nearest(run(*client, *args, "--similar", described[0])[1:])
    assert found == described[1] and distance > 0
    (line,) = run(*client, *args, "--similar", described[2])[1:]
    assert line.endswith(": no descriptors yet (run the similarity_descriptors preset)")


def test_typescript_client_is_generated_from_the_schema_type_checks_and_runs(
    site: Site, described: list[str]
):
    """`npm run typecheck` generates the types from schema.graphql first: a schema change that
    breaks the client's operations fails here, and generated types can never be stale."""
    npm = need_npm()
    run(npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", cwd=TYPESCRIPT)
    run(npm, "run", "typecheck", cwd=TYPESCRIPT)
    generated = (TYPESCRIPT / "src" / "gql" / "graphql.ts").read_text()
    assert "export type ClientFollowSubscription = " in generated

    run(npm, "exec", "--", "tsc", cwd=TYPESCRIPT)
    task = create_task(site, site.world.item_ids[1])
    env = {**os.environ, "TIMESIDE_URL": site.url, "TIMESIDE_TOKEN": site.token}
    lines = run("node", "dist/client.js", task, cwd=TYPESCRIPT, env=env)
    assert lines[0] == "3 items"
    assert lines[4].startswith("SNAPSHOT ")
    assert lines[-1] == "task done"

    ((distance, found),) = nearest(
        run("node", "dist/client.js", "--similar", described[0], cwd=TYPESCRIPT, env=env)
    )
    assert found == described[1] and distance > 0
