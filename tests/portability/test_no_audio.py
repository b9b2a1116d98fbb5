"""A results-only dump (--no-audio) loads into an instance without the audio, and GraphQL
reads its results (values and series come from the HDF5 files)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.portability.world import Instance, files, rows
from timeside_gql.http.app import create_app
from timeside_gql.portability.closure import DumpOptions
from timeside_gql.portability.dump import dump
from timeside_gql.portability.load import load
from timeside_gql.settings import Settings

RESULTS = """query($item: UUID!) {
  results(filter: {item: $item, status: DONE}) {
    nodes {
      preset { processor { pid } }
      value
      outputs { id value }
      series(maxPoints: 20) { output count values }
      mimeType
    }
  }
}"""


def read_results(instance: Instance, item: object) -> list[dict[str, Any]]:
    settings = Settings(data_dir=instance.data_dir, database_url=instance.url)
    client = TestClient(create_app(settings, engine=instance.engine))
    response = client.post("/graphql", json={"query": RESULTS, "variables": {"item": str(item)}})
    body = response.json()
    assert "errors" not in body, body
    nodes = body["data"]["results"]["nodes"]
    return sorted(nodes, key=lambda n: n["preset"]["processor"]["pid"])


def test_results_only_dump_loads_and_stays_readable(
    source: Instance, tmp_path: Path, new_instance: Callable[[str], Instance]
) -> None:
    out = tmp_path / "results-only.tar"
    manifest = dump(source.engine, source.data_dir, out, DumpOptions(no_audio=True))
    assert manifest.options["no_audio"] is True
    assert not [p for p in manifest.data_files() if p.startswith("media/")]

    target = new_instance("sqlite")
    load(target.engine, target.data_dir, out)

    assert not [p for p in files(target) if p.startswith("media/")]
    assert files(target) == {p: h for p, h in files(source).items() if p.startswith("results/")}
    items = {r["title"]: r for r in rows(target, "items")}
    assert items["a"]["source_file"] is None  # this instance has no audio for it...
    assert items["a"]["sha1"] == {r["title"]: r for r in rows(source, "items")}["a"]["sha1"]
    expected = read_results(source, source.ids["a"])
    got = read_results(target, source.ids["a"])  # ...yet its results read as on the source
    assert got == expected
    level = next(n for n in got if n["preset"]["processor"]["pid"] == "level")
    assert level["value"] is not None and level["outputs"]
    assert {n["mimeType"] for n in got} >= {"image/png"}
