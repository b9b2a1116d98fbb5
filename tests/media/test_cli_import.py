"""``timeside-gql import`` and ``import-urls`` in embedded mode (the command runs the ingests
itself), on SQLite and PostgreSQL, with real files and a local web for the URLs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.db import factories
from tests.media.fakes import FakeWeb
from tests.media.intake_world import audio, intake_settings, media_files
from timeside_gql.cli import main
from timeside_gql.db.models import IngestStatus, Item, Result, ResultStatus, Selection, User
from timeside_gql.db.providers import sync_providers
from timeside_gql.db.selections import all_item_ids
from timeside_gql.settings import Settings
from timeside_gql.storage.providers import all_providers

__all__ = ["intake_settings"]  # the fixture `settings`


@pytest.fixture(autouse=True)
def allow_local_web(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before ``settings`` reads the environment: the test web runs on 127.0.0.1."""
    monkeypatch.setenv("TIMESIDE_ALLOW_PRIVATE_URLS", "1")


@pytest.fixture
def alice(engine: Engine) -> User:
    with Session(engine, expire_on_commit=False) as session:
        user = factories.user(session, "alice")
        sync_providers(session, all_providers())
        session.commit()
    return user


def _items(engine: Engine) -> dict[str, Item]:
    with Session(engine) as session:
        return {item.title: item for item in session.exec(select(Item))}


def _selection_items(engine: Engine, title: str) -> set[str]:
    with Session(engine) as session:
        selection = session.exec(select(Selection).where(Selection.title == title)).one()
        ids = all_item_ids(session, [selection.id])[selection.id]
        return {session.get(Item, item_id).title for item_id in ids}  # type: ignore[union-attr]


def test_import_a_folder_recursively_into_a_selection(
    engine: Engine,
    settings: Settings,
    alice: User,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "corpus"
    top = audio(folder / "one.wav", seconds=1.0)
    nested = audio(folder / "live" / "two.flac", seconds=2.0, channels=2)
    (folder / "live" / "notes.txt").write_text("not audio")
    audio(folder / ".cache" / "hidden.wav")  # hidden folders are left out

    code = main(["import", str(folder), "--recursive", "--selection", "Corpus", "--user", "alice"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "skipped notes.txt: notes.txt: not an audio file" in " ".join(err.split())
    assert out.strip() == "2 items created, 2 ingested, 1 skipped, 0 ingests failed"

    items = _items(engine)
    assert set(items) == {"one", "two"} and _selection_items(engine, "Corpus") == {"one", "two"}
    for path, item in ((top, items["one"]), (nested, items["two"])):
        assert item.sha1 == hashlib.sha1(path.read_bytes()).hexdigest()
        assert item.author_id == alice.id and item.is_public
        assert item.ingest_status == IngestStatus.DONE
    assert items["two"].audio_duration == pytest.approx(2.0, abs=1e-3)
    with Session(engine) as session:
        statuses = list(session.exec(select(Result.status)))
    assert statuses == [ResultStatus.DONE, ResultStatus.DONE]  # a waveform each
    assert len(media_files(settings)) == 2  # copies under generated names, no leftovers

    # Again, not recursive and private: only the top file, into the same selection.
    assert main(["import", str(folder), "--selection", "Corpus", "--private"]) == 0
    assert "1 items created" in capsys.readouterr().out
    with Session(engine) as session:
        assert len(session.exec(select(Selection)).all()) == 1
        private = session.exec(select(Item).where(Item.is_public == False)).one()  # noqa: E712
    assert private.title == "one" and private.author_id is None


def test_import_urls_from_json_and_lines(
    engine: Engine,
    settings: Settings,
    alice: User,
    web: FakeWeb,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    listing = tmp_path / "urls.json"
    entries = [
        {"title": "Scale", "artist": "Test", "url": web.url("/media/song.wav")},
        web.url("/media/preview.mp3"),
        {"title": "Refused", "source_url": "ftp://example.org/a.wav"},
    ]
    listing.write_text(json.dumps(entries))
    code = main(["import-urls", str(listing), "--selection", "Web", "--user", "alice"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "skipped ftp://example.org/a.wav" in err
    assert out.strip() == "2 items created, 2 ingested, 1 skipped, 0 ingests failed"

    items = _items(engine)
    scale = items["Scale"]
    assert scale.artist == "Test" and scale.ingest_status == IngestStatus.DONE
    song = web.files["song.wav"]
    assert scale.sha1 == hashlib.sha1(song.read_bytes()).hexdigest()
    assert _selection_items(engine, "Web") == set(items)

    lines = tmp_path / "urls.txt"
    lines.write_text(f"# one per line\n\n{web.url('/status/404')}\n")
    assert main(["import-urls", str(lines)]) == 1  # its ingest failed: exit status says so
    out, err = capsys.readouterr()
    assert "1 items created, 0 ingested, 0 skipped, 1 ingests failed" in out
    failed = [i for i in _items(engine).values() if i.ingest_status == IngestStatus.FAILED]
    assert len(failed) == 1 and "404" in str(failed[0].ingest_error)
