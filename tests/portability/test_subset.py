"""--selection dumps exactly the FK closure of a selection; --since dumps what changed, and
loading it brings an older copy up to date."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from tests.portability.world import Instance, files, rows, tables
from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import Item, ItemTag, Preset, Result, Tag
from timeside_gql.db.types import utcnow
from timeside_gql.portability.archive import ArchiveReader
from timeside_gql.portability.closure import DumpOptions
from timeside_gql.portability.dump import dump
from timeside_gql.portability.errors import NotFound
from timeside_gql.portability.load import load


def archived(path: Path) -> dict[str, list[dict[str, Any]]]:
    with ArchiveReader(path) as reader:
        return {name: list(reader.rows(name)) for name in reader.manifest.tables}


def ids(found: list[dict[str, Any]], *columns: str) -> set[Any]:
    columns = columns or ("id",)
    return {
        tuple(str(r[c]) for c in columns) if len(columns) > 1 else str(r[columns[0]]) for r in found
    }


def test_selection_dump_holds_exactly_its_closure(source: Instance, tmp_path: Path) -> None:
    i = {name: str(value) for name, value in source.ids.items()}
    out = tmp_path / "outer.tar"
    manifest = dump(source.engine, source.data_dir, out, DumpOptions(selection=source.ids["outer"]))
    got = archived(out)
    with session_scope(source.engine) as s:
        corpus = [source.ids[n] for n in "abc"]
        results = s.exec(select(Result).where(Result.item_id.in_(corpus))).all()  # type: ignore[attr-defined]
        presets = {str(r.preset_id) for r in results}
        processors = {str(s.get(Preset, uuid.UUID(p)).processor_id) for p in presets}
    assert ids(got["selections"]) == {i["outer"], i["inner"]}  # not its parent, not "other"
    assert ids(got["items"]) == {i["a"], i["b"], i["c"]}
    assert ids(got["selection_items"], "selection_id", "item_id") == {
        (i["outer"], i["a"]),
        (i["outer"], i["b"]),
        (i["inner"], i["b"]),
        (i["inner"], i["c"]),
    }
    assert ids(got["selection_children"], "parent_id", "child_id") == {(i["outer"], i["inner"])}
    assert ids(got["tasks"]) == {i["task"]}  # not the task on d, nor the one on "top"
    assert len(got["jobs"]) == 3
    assert ids(got["results"]) == {str(r.id) for r in results} and len(results) == 9
    assert ids(got["presets"]) == presets and i["unused"] not in presets
    assert ids(got["processors"]) == processors and len(processors) == 3
    assert ids(got["experiences"]) == {i["experience"]}
    assert len(got["experience_presets"]) == 3
    assert ids(got["tags"]) == {i["piano"]}
    assert ids(got["item_tags"], "item_id", "tag_id") == {(i["a"], i["piano"])}
    assert ids(got["annotation_tracks"]) == {i["track"]}
    assert len(got["annotations"]) == 2 and len(got["annotation_tags"]) == 1
    assert ids(got["annotation_results"], "result_id") == {i["level_a"]}
    assert ids(got["analyses"]) == {i["analysis"]} and len(got["analysis_tracks"]) == 1
    assert ids(got["providers"]) == {i["youtube"]}
    assert "users" not in got and "api_tokens" not in got
    paths = set(manifest.data_files())
    assert {p for p in paths if p.startswith("media/")} == {
        "media/a.wav",
        "media/b.wav",
        "media/c.wav",
    }
    assert {p.split("/")[1] for p in paths if p.startswith("results/")} == {i["a"], i["b"], i["c"]}


def test_selection_dump_loads_on_its_own(
    source: Instance, tmp_path: Path, new_instance: Callable[[str], Instance]
) -> None:
    out = tmp_path / "inner.tar"
    dump(
        source.engine,
        source.data_dir,
        out,
        DumpOptions(selection=source.ids["inner"], with_users=True),
    )
    target = new_instance("sqlite")
    load(target.engine, target.data_dir, out)
    assert {r["title"] for r in rows(target, "items")} == {"b", "c"}
    assert [r["username"] for r in rows(target, "users")] == ["owner"]  # their author
    assert len(rows(target, "api_tokens")) == 1
    b, c = source.ids["b"], source.ids["c"]
    wanted = ("media/b.wav", "media/c.wav", f"results/{b}/", f"results/{c}/")
    assert files(target) == {p: h for p, h in files(source).items() if p.startswith(wanted)}


def test_unknown_selection_is_refused(source: Instance, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no selection"):
        dump(
            source.engine, source.data_dir, tmp_path / "x.tar", DumpOptions(selection=uuid.uuid4())
        )
    assert not list(tmp_path.iterdir())


def test_since_dump_brings_an_older_copy_up_to_date(
    origin_and_copy: tuple[Instance, Instance], tmp_path: Path
) -> None:
    origin, copy = origin_and_copy
    time.sleep(0.01)
    since = utcnow()
    with session_scope(origin.engine) as s:
        item = s.get(Item, origin.ids["a"])
        item.title = "a, retitled"
        s.add(item)
        new = Tag(name="new")
        s.add(new)
        s.flush()
        s.add(ItemTag(item_id=origin.ids["b"], tag_id=new.id))

    recent = tmp_path / "recent.tar"
    dump(origin.engine, origin.data_dir, recent, DumpOptions(since=since, with_users=True))
    got = archived(recent)
    assert ids(got["items"]) == {str(origin.ids["a"]), str(origin.ids["b"])}  # b: its new tag link
    assert ids(got["item_tags"], "tag_id") >= {str(new.id)}
    assert not got["results"] and not got["annotations"] and not got["processors"]

    report = load(copy.engine, copy.data_dir, recent)
    assert report.counts["items"]["updated"] == 1 and report.counts["tags"]["inserted"] == 1
    assert tables(copy) == tables(origin)
    assert files(copy) == files(origin)


def test_since_and_selection_combine(source: Instance, tmp_path: Path) -> None:
    out = tmp_path / "none.tar"
    manifest = dump(
        source.engine,
        source.data_dir,
        out,
        DumpOptions(selection=source.ids["outer"], since=utcnow()),
    )
    assert sum(t.rows for t in manifest.tables.values()) == 0
    assert manifest.options["since"] and manifest.options["selection"] == str(source.ids["outer"])
