"""The API fixtures (app per test on SQLite and PostgreSQL, alice/bob/admin with tokens) for the
media tests, which call routes of the same app."""

from tests.api.conftest import api, client, settings, users  # noqa: F401
