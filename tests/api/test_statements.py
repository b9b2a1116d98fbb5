"""Every relation goes through a DataLoader: the statement count does not grow with the rows."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.api.conftest import Api
from tests.db import factories as f
from timeside_gql.db import models as m
from timeside_gql.db.engine import create_engine
from timeside_gql.http.app import create_app
from timeside_gql.settings import Settings

QUERY = """
query($first: Int!) {
  items(first: $first) {
    totalCount
    edges { node {
      title author { username } tags { name } provider { pid }
      results { status item { title } preset { parameters processor { pid version } } }
      selections { title allItems { title } }
      annotationTracks { title annotations { start tags { name } } }
    } }
  }
}"""


def seed(engine: Engine, count: int, batch: str, author_id: UUID) -> None:
    """``count`` items, each with two results, a selection, a tag and an annotated track."""
    with Session(engine) as session:
        provider = f.add(session, m.Provider(pid=f"provider {batch}"))
        tag = f.add(session, m.Tag(name=f"tag {batch}"))
        processors = [f.processor(session, f"{pid} {batch}") for pid in ("level", "waveform")]
        presets = [f.preset(session, processor) for processor in processors]
        for index in range(count):
            item = f.item(session, f"item {index}", provider_id=provider.id, author_id=author_id)
            f.add(session, m.ItemTag(item_id=item.id, tag_id=tag.id))
            for preset in presets:
                f.result(session, item, preset)
            f.selection(session, f"selection {index}", items=[item])
            track = f.add(session, m.AnnotationTrack(item_id=item.id, title="track"))
            note = f.add(session, m.Annotation(track_id=track.id, start=0, stop=1))
            f.add(session, m.AnnotationTag(annotation_id=note.id, tag_id=tag.id))
        session.commit()


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def run(api: Api, engine: Engine, count: int) -> list[str]:
    with counting(engine) as statements:
        data = api(QUERY, {"first": count}, as_="alice")
    nodes = [edge["node"] for edge in data["items"]["edges"]]
    assert data["items"]["totalCount"] == count
    assert len(nodes) == count
    assert all(len(node["results"]) == 2 for node in nodes)
    assert all(node["results"][0]["preset"]["processor"]["version"] == "1.0" for node in nodes)
    assert all(node["selections"][0]["allItems"] == [{"title": node["title"]}] for node in nodes)
    assert all(node["annotationTracks"][0]["annotations"][0]["tags"] for node in nodes)
    return statements


def test_statement_count_is_constant(api: Api, engine: Engine) -> None:
    api("{ me { id } }", as_="alice")  # a token's first use is recorded: keep it out of the count
    seed(engine, 5, "a", api.ids["alice"])
    few = run(api, engine, 5)
    seed(engine, 45, "b", api.ids["alice"])
    many = run(api, engine, 50)
    assert [s.split()[0] for s in few] == [s.split()[0] for s in many]
    # The token check, then per query level: the page, the count and one SELECT per relation
    # (author, tags, provider, results, selections, allItems, annotationTracks, annotations,
    # annotation tags), the results' presets and processors in one join; result.item is an
    # item of the page, already loaded.
    reads = [s for s in many if s.split(None, 1)[0].upper() in {"SELECT", "WITH"}]
    assert len(reads) == 1 + 2 + 10, "\n\n".join(reads)


@contextmanager
def transactions(engine: Engine) -> Iterator[list[str]]:
    """The transactions committed while the block runs (each worker-thread read is one)."""
    committed: list[str] = []

    def record(_conn) -> None:  # type: ignore[no-untyped-def]
        committed.append("commit")

    sa.event.listen(engine, "commit", record)
    try:
        yield committed
    finally:
        sa.event.remove(engine, "commit", record)


NESTED = """query($first: Int!) { items(first: $first) { edges { node {
  title results { status preset { parameters processor { pid version } } }
  annotationTracks { title annotations { start tags { name } } } } } } }"""

FRAGMENTS = """query($first: Int!) { items(first: $first) {
  nodes { ...Item }
  edges { node { ... on Item { tracks: annotationTracks { title } } } } } }
fragment Item on Item { title results { status preset { parameters processor { pid version } } }
  annotationTracks @skip(if: false) { title annotations { start tags { name } } } }"""


def test_a_page_and_its_relations_are_one_read(api: Api, engine: Engine) -> None:
    """The page's read loads the relations the document selects below it (fragments and
    aliases included), in the same worker-thread hop: one transaction besides the token
    check, whatever the depth; a lookup by id does the same."""
    api("{ me { id } }", as_="alice")
    seed(engine, 5, "c", api.ids["alice"])
    with transactions(engine) as committed:
        data = api(NESTED, {"first": 5}, as_="alice")
    assert len(committed) == 2  # the token check, then the page with everything below it
    nodes = [edge["node"] for edge in data["items"]["edges"]]
    assert all(len(node["results"]) == 2 for node in nodes)
    assert all(node["annotationTracks"][0]["annotations"][0]["tags"] for node in nodes)

    with transactions(engine) as committed:
        fragments = api(FRAGMENTS, {"first": 5}, as_="alice")["items"]
    assert len(committed) == 2
    assert fragments["nodes"] == nodes
    assert [e["node"]["tracks"] for e in fragments["edges"]] == [
        [{"title": t["title"]} for t in node["annotationTracks"]] for node in nodes
    ]

    item = """query($id: UUID!) { item(id: $id) { title results { preset { processor { pid } } }
      annotationTracks { annotations { start } } } }"""
    item_id = api("{ items(first: 1) { nodes { id } } }", as_="alice")["items"]["nodes"][0]["id"]
    with transactions(engine) as committed:
        one = api(item, {"id": item_id}, as_="alice")["item"]
    assert len(committed) == 2
    assert len(one["results"]) == 2 and one["annotationTracks"][0]["annotations"]


def test_concurrent_operations_share_the_pool_without_opening_more(
    api: Api, engine: Engine, settings: Settings
) -> None:
    """As many operations work with the database at once as the pool keeps connections: the
    others wait for one, instead of opening an overflow connection the pool closes on return
    (a new PostgreSQL backend for one request in two under load)."""
    seed(engine, 3, "d", api.ids["alice"])
    small = create_engine(engine.url.render_as_string(hide_password=False), pool_size=2)
    held: list[int] = [0, 0]  # now, most

    def checkout(*_: object) -> None:
        if threading.current_thread().name.startswith("AnyIO"):  # the API's, not the jobs'
            held[0] += 1
            held[1] = max(held)

    def checkin(*_: object) -> None:
        if threading.current_thread().name.startswith("AnyIO"):
            held[0] -= 1

    sa.event.listen(small, "checkout", checkout)
    sa.event.listen(small, "checkin", checkin)
    try:
        with TestClient(create_app(settings, engine=small)) as client:  # one event loop
            served = Api(client, api.tokens, api.ids)
            with ThreadPoolExecutor(20) as pool:
                answers = list(
                    pool.map(lambda _: served(NESTED, {"first": 3}, as_="alice"), range(40))
                )
    finally:
        small.dispose()
    assert all(len(a["items"]["edges"]) == 3 for a in answers)
    assert held[1] == 2
