"""The playground in a real browser: loads from this server alone, runs a query with the token
and follows a task over a graphql-transport-ws subscription until it is done."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.jobs.live import graphql
from tests.web.conftest import Site, Traffic

pytestmark = pytest.mark.slow

RUN = "mutation($id: UUID!) { runTask(id: $id) { __typename ... on Task { status } } }"


def run(page: Page, name: str, document: str) -> None:
    """Replace the query editor's text (inserted, not typed: Monaco would close brackets) and
    run it once GraphiQL has parsed it (the tab takes the operation's name)."""
    page.locator(".graphiql-query-editor .monaco-editor").click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.insert_text(document)
    expect(page.locator(".graphiql-tab-active")).to_have_text(name)
    page.click(".graphiql-execute-button")


def use_token(page: Page, token: str) -> None:
    page.fill(".token-bar input[name=token]", token)
    page.click(".token-bar button")
    expect(page.locator(".token-state")).to_have_text("authenticated requests")


def test_playground_queries_and_subscribes_with_no_outside_request(
    site: Site, page: Page, traffic: Traffic
):
    page.goto(f"{site.url}/graphql")
    expect(page.locator(".graphiql-query-editor .monaco-editor")).to_be_visible(timeout=30_000)
    use_token(page, site.token)
    response = page.locator(".graphiql-response")

    page.click("button[aria-label='Show GraphiQL Explorer']")  # built from the introspection
    explorer = page.locator(".graphiql-plugin")
    expect(explorer.get_by_text("experiences", exact=True)).to_be_visible()
    page.click("button[aria-label='Hide GraphiQL Explorer']")

    run(page, "Mine", "query Mine { me { username } items { totalCount } }")
    expect(response).to_contain_text('"totalCount": 3')
    expect(response).to_contain_text('"username": "owner-')

    task = str(site.world.task_id)  # private: only the token in connection_init shows it
    run(
        page,
        "Follow",
        f'subscription Follow {{ taskUpdates(taskId: "{task}") {{ task {{ status }} }} }}',
    )
    expect(response).to_contain_text('"status": "DRAFT"')
    assert graphql(site.url, site.token, RUN, id=task)["runTask"]["status"] == "PENDING"
    expect(response).to_contain_text('"status": "DONE"', timeout=90_000)

    assert any(url.startswith("ws://127.0.0.1") for url in traffic.urls)
    assert traffic.hosts() == {"127.0.0.1"}, traffic.urls
    assert traffic.errors == []
