"""Browser tests: a real ``timeside-gql serve`` (embedded mode, SQLite) with a small analysis
world, and Debian's Chromium driven by Playwright. Every request a page makes is recorded;
each test leaves a screenshot under var/test-artifacts/web/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.engine import Engine

from tests.db import factories
from tests.jobs.live import Deployment, instance_env
from tests.jobs.world import World, build_world
from tests.services import need_chromium
from timeside_gql.db.engine import create_engine
from timeside_gql.db.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts" / "web"
#: As root, on a machine with no route out: no sandbox, no GPU, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@dataclass
class Site:
    """A live server, its database and the token of the owner of its world."""

    url: str
    token: str
    engine: Engine
    data_dir: Path
    world: World


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("site")
    data_dir = tmp / "data"
    data_dir.mkdir()
    db_url = f"sqlite:///{tmp / 'timeside.db'}"
    upgrade(db_url)
    engine = create_engine(db_url)
    world = build_world(engine, data_dir, seconds=3.0, failing=False)
    token = factories.token(engine, world.owner_id)
    live = Deployment(env=instance_env(data_dir, db_url), logs=tmp)
    try:
        yield Site(live.serve(), token, engine, data_dir, world)
    finally:
        live.stop()
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API runs an event loop in this thread while it is open,
    and a later test's ``asyncio.run`` (tests/jobs/test_live.py) would fail inside it."""
    executable = need_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class Traffic:
    """Every URL the page asked for (documents, scripts, workers, fetches, WebSockets), and
    every error it reported (uncaught exceptions, console errors, failed loads)."""

    urls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def hosts(self) -> set[str]:
        return {urlparse(url).hostname or url for url in self.urls if not url.startswith("data:")}


@pytest.fixture
def traffic() -> Traffic:
    return Traffic()


@pytest.fixture
def page(browser: Browser, traffic: Traffic, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context; a screenshot of the page is kept whatever the outcome."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.on("request", lambda r: traffic.urls.append(r.url))
    page.on("websocket", lambda ws: traffic.urls.append(ws.url))
    page.on("worker", lambda worker: traffic.urls.append(worker.url))
    page.on("pageerror", lambda error: traffic.errors.append(str(error)))
    page.on("console", lambda m: m.type == "error" and traffic.errors.append(m.text))
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / (re.sub(r"[^\w.-]+", "_", request.node.name) + ".png")
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    context.close()
