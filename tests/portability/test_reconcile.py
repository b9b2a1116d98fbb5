"""Loading into an instance that already has rows: natural keys remap ids, the newer row wins
(the target's processors and providers stand), authors absent from the archive."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import func, select

from tests.portability.world import Instance, rows, tables
from timeside_gql.core.params import parameters_hash
from timeside_gql.core.registry import all_processors
from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import Item, Preset, Processor, Provider, Tag, User
from timeside_gql.db.processors import sync_processors
from timeside_gql.portability.closure import DumpOptions
from timeside_gql.portability.dump import dump
from timeside_gql.portability.errors import NotFound
from timeside_gql.portability.load import load

NewInstance = Callable[[str], Instance]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_rows_of_natural_keys_map_to_the_targets_own(
    backend: str, source: Instance, archive: Path, new_instance: NewInstance
) -> None:
    """Both instances synced processors (and providers) at migrate, each with its own UUIDs;
    the same tag name and the same preset exist on both under other ids."""
    target = new_instance(backend)
    with session_scope(target.engine) as s:
        synced = {(p.pid, p.version): p.id for p in sync_processors(s, all_processors())}
        youtube = Provider(pid="youtube", name="YouTube (target)", domains=["youtu.be"])
        piano = Tag(name="piano")
        level = Preset(
            processor_id=synced["level", str(_version("level"))],
            parameters={},
            parameters_hash=parameters_hash({}),
        )
        s.add_all([youtube, piano, level])
        s.flush()
        mine = {"youtube": youtube.id, "piano": piano.id, "level": level.id}

    report = load(target.engine, target.data_dir, archive)

    assert report.counts["processors"]["remapped"] == len(synced)
    assert report.counts["processors"].get("inserted", 0) == 0
    assert report.counts["providers"] == {"remapped": 1, "kept": 1}  # the target's row stands
    assert report.counts["tags"]["remapped"] == 1 and report.counts["presets"]["remapped"] == 1
    with session_scope(target.engine) as s:
        assert s.exec(select(func.count()).select_from(Processor)).one() == len(synced)
        assert s.get(Provider, mine["youtube"]).name == "YouTube (target)"
        assert s.get(Item, source.ids["c"]).provider_id == mine["youtube"]
        assert {p.processor_id for p in s.exec(select(Preset))} <= set(synced.values())
    links = {(r["item_id"], r["tag_id"]) for r in rows(target, "item_tags")}
    assert (source.ids["a"], mine["piano"]) in links
    level_results = [r for r in rows(target, "results") if r["preset_id"] == mine["level"]]
    assert len(level_results) == 4  # every item's level result now refers to the target's preset
    assert {r["preset_id"] for r in rows(target, "experience_presets")} >= {mine["level"]}
    assert [r["preset_id"] for r in rows(target, "analyses")] == [mine["level"]]

    before = tables(target)
    again = load(target.engine, target.data_dir, archive)
    assert tables(target) == before
    assert not any(c.get("inserted") or c.get("updated") for c in again.counts.values())


def _version(pid: str) -> str:
    return next(str(p.version) for p in all_processors() if p.pid == pid)


def test_newer_row_wins_either_way(
    origin_and_copy: tuple[Instance, Instance], tmp_path: Path
) -> None:
    origin, copy = origin_and_copy
    time.sleep(0.01)
    retitle(origin, origin.ids["a"], "a from origin")  # newer in the archive: taken
    retitle(copy, origin.ids["c"], "c edited on the copy")  # newer on the target: kept
    retitle(origin, origin.ids["d"], "d edited on both")
    time.sleep(0.01)
    retitle(copy, origin.ids["d"], "d edited on the copy, later")
    second = tmp_path / "second.tar"
    dump(origin.engine, origin.data_dir, second, DumpOptions(with_users=True))

    report = load(copy.engine, copy.data_dir, second)

    titles = {r["id"]: r["title"] for r in rows(copy, "items")}
    assert titles[origin.ids["a"]] == "a from origin"
    assert titles[origin.ids["c"]] == "c edited on the copy"
    assert titles[origin.ids["d"]] == "d edited on the copy, later"
    assert report.counts["items"] == {"updated": 1, "kept": 2, "unchanged": 1}
    updated = {r["id"]: r["updated_at"] for r in rows(copy, "items")}
    assert (
        updated[origin.ids["a"]]
        == {r["id"]: r["updated_at"] for r in rows(origin, "items")}[origin.ids["a"]]
    )  # the archive's timestamp, not the time of the load
    origin.dispose()
    copy.dispose()


def retitle(instance: Instance, item_id: object, title: str) -> None:
    with session_scope(instance.engine) as s:
        item = s.get(Item, item_id)
        item.title = title
        s.add(item)


def test_authors_missing_from_the_archive(
    source: Instance, archive: Path, new_instance: NewInstance
) -> None:
    owner = source.ids["owner"]
    nobody = new_instance("sqlite")
    load(nobody.engine, nobody.data_dir, archive)
    assert {r["author_id"] for r in rows(nobody, "items")} == {None}

    mapped = new_instance("sqlite")
    with pytest.raises(NotFound, match="no user 'ada'"):
        load(mapped.engine, mapped.data_dir, archive, author="ada")
    with session_scope(mapped.engine) as s:
        ada = User(username="ada", password_hash="x")
        s.add(ada)
    load(mapped.engine, mapped.data_dir, archive, author="ada")
    authors = {r["title"]: r["author_id"] for r in rows(mapped, "items")}
    assert authors == {"a": ada.id, "b": ada.id, "c": ada.id, "d": None}  # d had no author

    home = new_instance("sqlite")  # the same user (same UUID) exists here: kept
    with session_scope(home.engine) as s:
        s.add(User(id=owner, username="owner-here", password_hash="x"))
    load(home.engine, home.data_dir, archive)
    assert {r["title"]: r["author_id"] for r in rows(home, "items")}["a"] == owner

    load(mapped.engine, mapped.data_dir, archive)  # an unknown author never changes a row
    assert {r["title"]: r["author_id"] for r in rows(mapped, "items")} == authors


def test_existing_accounts_never_change(
    source: Instance, tmp_path: Path, new_instance: NewInstance
) -> None:
    out = tmp_path / "users.tar"
    dump(source.engine, source.data_dir, out, DumpOptions(with_users=True))
    target = new_instance("sqlite")
    with session_scope(target.engine) as s:
        mine = User(username="owner", password_hash="the target's hash", is_admin=False)
        s.add(mine)
    report = load(target.engine, target.data_dir, out)
    assert report.counts["users"] == {"remapped": 1, "kept": 1}
    [user] = rows(target, "users")
    assert (user["id"], user["password_hash"], user["is_admin"]) == (
        mine.id,
        "the target's hash",
        False,
    )
    assert {r["author_id"] for r in rows(target, "items") if r["title"] != "d"} == {mine.id}
    assert rows(target, "api_tokens") == []  # the source's token would open the target's account
    assert report.counts["api_tokens"] == {"skipped": 1}


def test_tokens_never_join_an_existing_account_of_the_same_id(
    source: Instance, tmp_path: Path, new_instance: NewInstance
) -> None:
    """User ids are public (``author { id }``): an archive naming one must not bring a token
    that opens the target's account."""
    out = tmp_path / "users.tar"
    dump(source.engine, source.data_dir, out, DumpOptions(with_users=True))
    [theirs] = rows(source, "users")
    target = new_instance("sqlite")
    with session_scope(target.engine) as s:
        s.add(User(id=theirs["id"], username="owner", password_hash="the target's hash"))
    report = load(target.engine, target.data_dir, out)
    [user] = rows(target, "users")
    assert (user["username"], user["password_hash"]) == ("owner", "the target's hash")
    assert rows(target, "api_tokens") == []
    assert report.counts["api_tokens"] == {"skipped": 1}
