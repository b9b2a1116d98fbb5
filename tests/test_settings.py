"""Settings: the README documents each one; the signing key is never a well-known default."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from timeside_gql.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_has_a_readme_row():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `TIMESIDE_([A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_an_unset_secret_key_is_random_and_shared_through_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("TIMESIDE_SECRET_KEY", raising=False)
    first = Settings(data_dir=tmp_path / "a")
    assert not (tmp_path / "a").exists()  # made when something is signed, not at start-up
    again = Settings(data_dir=tmp_path / "a")
    other = Settings(data_dir=tmp_path / "b")
    assert len(first.signing_key) >= 48
    assert first.signing_key == again.signing_key != other.signing_key
    assert stat.S_IMODE((tmp_path / "a" / "secret_key").stat().st_mode) == 0o600
    assert list((tmp_path / "a").iterdir()) == [tmp_path / "a" / "secret_key"]


def test_a_given_secret_key_is_used_and_nothing_is_written(tmp_path):
    settings = Settings(data_dir=tmp_path, secret_key="k" * 50)
    assert settings.signing_key == "k" * 50
    assert not (tmp_path / "secret_key").exists()
