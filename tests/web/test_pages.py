"""The pages without a browser: what is served where, from the package alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.api.conftest import make_settings, serve
from timeside_gql.web.routes import STATIC


def assets_of(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize(("path", "accept"), [("/graphql", "text/html"), ("/", "text/html")])
def test_pages_load_only_assets_of_this_server(engine: Engine, tmp_path: Path, path, accept):
    client = serve(make_settings(tmp_path), engine)
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assets = assets_of(response.text)
    assert assets and all(asset.startswith("/static/") for asset in assets)
    for asset in assets:  # served from the package directory, no Node at run time
        served = client.get(asset)
        assert served.status_code == 200
        assert served.content == (STATIC / asset.removeprefix("/static/")).read_bytes()


def test_assets_are_compressed(engine: Engine, tmp_path: Path):
    client = serve(make_settings(tmp_path), engine)
    script = next(
        a for a in assets_of(client.get("/").text) if "/player-" in a and a.endswith(".js")
    )
    response = client.get(script, headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == (STATIC / script.removeprefix("/static/")).read_bytes()


def test_graphql_page_is_ours_not_strawberrys_cdn_one(engine: Engine, tmp_path: Path):
    page = serve(make_settings(tmp_path), engine).get("/graphql", headers={"Accept": "text/html"})
    assert "GraphiQL" in page.text
    assert not re.search(r"https?://", page.text), "the playground must not load from elsewhere"


def test_no_bundled_asset_loads_from_a_cdn():
    """Catch a dependency that fetches fonts or scripts from the internet at run time."""
    pattern = re.compile(
        rb"https?://(fonts\.googleapis|fonts\.gstatic|unpkg|cdn\.jsdelivr|esm\.sh)"
    )
    offenders = [p.name for p in (STATIC / "assets").iterdir() if pattern.search(p.read_bytes())]
    assert offenders == []


def test_playground_off_serves_the_api_only(engine: Engine, tmp_path: Path):
    client = serve(make_settings(tmp_path, playground=False), engine)
    assert client.get("/graphql", headers={"Accept": "text/html"}).status_code == 404
    assert client.get("/").status_code == 404
    assert client.get("/static/index.html").status_code == 404
    answer = client.post("/graphql", json={"query": "{ __typename }"})
    assert answer.json() == {"data": {"__typename": "Query"}}


def test_api_requests_are_not_taken_for_pages(engine: Engine, tmp_path: Path):
    client = serve(make_settings(tmp_path), engine)
    answer = client.post("/graphql", json={"query": "{ __typename }"})
    assert answer.json() == {"data": {"__typename": "Query"}}
    assert client.post("/", json={}).status_code == 405
