"""``timeside-gql dump`` / ``load`` on the configured instance; failures are one line, exit 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.portability.world import Instance, counts, files
from timeside_gql.cli import main
from timeside_gql.settings import get_settings


def use(instance: Instance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMESIDE_DATA_DIR", str(instance.data_dir))
    monkeypatch.setenv("TIMESIDE_DATABASE_URL", instance.url)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings() -> None:
    yield
    get_settings.cache_clear()


def test_dump_then_load(
    source: Instance,
    tmp_path: Path,
    new_instance: Callable[[str], Instance],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "corpus.tar"
    use(source, monkeypatch)
    assert main(["dump", str(out), "--selection", str(source.ids["outer"]), "--with-users"]) == 0
    assert capsys.readouterr().out.startswith(f"{out}: ")

    target = new_instance("sqlite")
    use(target, monkeypatch)
    assert main(["load", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "items: 3 inserted" in printed and "files: 12 written, 0 already present" in printed
    assert counts(target)["items"] == 3
    assert len(set(files(target)) - {"secret_key"}) == 3 + 9  # the key never travels

    assert main(["dump", str(out)]) == 1  # never overwrites
    assert capsys.readouterr().err == f"error: {out} exists; a dump never overwrites one\n"


def test_errors_are_one_line(
    tmp_path: Path,
    new_instance: Callable[[str], Instance],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use(new_instance("sqlite"), monkeypatch)
    junk = tmp_path / "junk.tar"
    junk.write_text("not a tar")
    assert main(["load", str(junk)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a readable tar archive" in err
    assert err.count("\n") == 1
    assert (
        main(
            ["dump", str(tmp_path / "x.tar"), "--selection", "7d5c9a34-0000-4000-8000-000000000000"]
        )
        == 1
    )
    assert "no selection" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["dump", str(tmp_path / "y.tar"), "--since", "yesterday"])
