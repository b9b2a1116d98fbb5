"""Signed media URLs: what a signature vouches for, and every way one is refused."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from timeside_gql.db.visibility import ANONYMOUS, Viewer
from timeside_gql.services.signing import InvalidSignature, sign, signed_url, verify
from timeside_gql.settings import Settings

PATH = "/media/items/5b0c2f8e-7a35-4a8f-9f1e-0d8d1f6b2c11/source"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key="k" * 48, media_url_ttl_s=600)


def sig_of(query: str) -> str:
    return parse_qs(query)["sig"][0]


def test_signature_names_the_viewer_and_expires_after_the_ttl(settings):
    user = uuid.uuid4()
    before = time.time()
    signed = verify(settings, PATH, sig_of(sign(settings, PATH, Viewer(user_id=user))))
    assert signed.user_id == user
    # the lifetime is the ttl, rounded up to a quarter of it (stable URLs for caches)
    assert before + 600 <= signed.expires <= before + 600 + 150 + 1


def test_anonymous_signature(settings):
    assert verify(settings, PATH, sig_of(sign(settings, PATH, ANONYMOUS))).user_id is None


def test_same_url_within_the_rounding_window(settings):
    viewer = Viewer(user_id=uuid.uuid4())
    assert sign(settings, PATH, viewer) == sign(settings, PATH, viewer)


def test_expired_signature_is_refused(settings):
    value = sig_of(sign(settings, PATH, ANONYMOUS, ttl=60))
    expires = int(value.split(".")[1])
    assert verify(settings, PATH, value, now=expires - 1).expires == expires
    with pytest.raises(InvalidSignature, match="expired"):
        verify(settings, PATH, value, now=expires + 1)


def test_signature_is_for_one_path(settings):
    value = sig_of(sign(settings, PATH, ANONYMOUS))
    with pytest.raises(InvalidSignature, match="invalid signature"):
        verify(settings, PATH.replace("source", "audio.mp3"), value)


@pytest.mark.parametrize("part", [0, 1, 2])
def test_tampering_with_any_part_is_refused(settings, part):
    value = sig_of(sign(settings, PATH, Viewer(user_id=uuid.uuid4())))
    parts = value.split(".")
    if part == 0:
        parts[0] = uuid.uuid4().hex  # claim to be someone else
    elif part == 1:
        parts[1] = str(int(parts[1]) + 3600)  # live longer
    else:
        parts[2] = parts[2][:-2] + ("AA" if not parts[2].endswith("AA") else "BB")
    with pytest.raises(InvalidSignature, match="invalid signature"):
        verify(settings, PATH, ".".join(parts))


@pytest.mark.parametrize("value", ["", "abc", "-.x.y", "-.1.2.3", "notauuid.99.abc", "-..abc"])
def test_malformed_signature_is_refused(settings, value):
    with pytest.raises(InvalidSignature, match="malformed"):
        verify(settings, PATH, value)


def test_another_secret_key_refuses_the_signature(settings, tmp_path):
    value = sig_of(sign(settings, PATH, ANONYMOUS))
    other = Settings(data_dir=tmp_path, secret_key="z" * 48)
    with pytest.raises(InvalidSignature):
        verify(other, PATH, value)


def test_signed_url_keeps_parameters_and_drops_none(settings):
    url = signed_url(settings, "/media/items/x/audio.mp3", ANONYMOUS, {"start": 1.5, "stop": None})
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path == "/media/items/x/audio.mp3"
    assert query["start"] == ["1.5"] and "stop" not in query
    assert verify(settings, parts.path, query["sig"][0]).user_id is None
    assert signed_url(settings, "/a", ANONYMOUS, prefix="/root").startswith("/root/a?sig=")
