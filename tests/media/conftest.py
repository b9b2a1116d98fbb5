"""The API fixtures (app per test on SQLite and PostgreSQL, alice/bob/admin with tokens) for the
media tests, which call routes of the same app; and the fake web their downloads reach."""

from collections.abc import Iterator

import pytest

from tests.api.conftest import api, client, settings, users  # noqa: F401
from tests.media.fakes import TRACK, FakeWeb


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeWeb]:
    """The fake web on 127.0.0.1, one per test module; it knows Deezer track ``TRACK``."""
    with FakeWeb(tmp_path_factory.mktemp("web")).running() as web:
        web.add_track(TRACK, "Harder, Better, Faster, Stronger", "Daft Punk", "Discovery")
        yield web
