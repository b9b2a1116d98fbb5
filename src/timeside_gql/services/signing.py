"""Signed media URLs: ``<audio>`` and ``<img>`` tags cannot send an ``Authorization`` header.

A signature is an HMAC-SHA256, keyed by a key derived from ``settings.signing_key``, over the
URL path, the viewer it was issued to (or anonymous) and an expiry time. The query string
carries ``sig=<user>.<expiry>.<mac>``: the route knows who asks without a database token, and a
signature works for one path only, for a short time. The query parameters besides ``sig``
(start, stop, width...) are not signed: they choose what of an object the viewer may already
read is sent, not whether it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode
from uuid import UUID

from timeside_gql.db.visibility import Viewer
from timeside_gql.settings import Settings

SIGNATURE_PARAM = "sig"
_ANONYMOUS = "-"
_PURPOSE = b"timeside-gql media url v1\0"


class InvalidSignature(Exception):
    """A signature that is malformed, forged, for another path, or expired."""


@dataclass(frozen=True, slots=True)
class Signed:
    """What a valid signature vouches for: the viewer's user id (None: anonymous)."""

    user_id: UUID | None
    expires: int


def sign(settings: Settings, path: str, viewer: Viewer, ttl: int | None = None) -> str:
    """The query string (``sig=...``) granting ``viewer`` access to ``path`` for ~``ttl`` s.

    The expiry is rounded up to a quarter of the lifetime so a page asking twice within that
    window gets the same URL and the browser's cache keeps working.
    """
    ttl = settings.media_url_ttl_s if ttl is None else ttl
    step = max(1, ttl // 4)
    expires = (int(time.time()) + ttl + step - 1) // step * step
    user = _ANONYMOUS if viewer.user_id is None else viewer.user_id.hex
    mac = _mac(settings, path, user, expires)
    return urlencode({SIGNATURE_PARAM: f"{user}.{expires}.{mac}"})


def signed_url(
    settings: Settings,
    path: str,
    viewer: Viewer,
    params: Mapping[str, object] | None = None,
    *,
    prefix: str = "",
) -> str:
    """``prefix + path`` with ``params`` (None values left out) and a fresh signature."""
    query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
    signature = sign(settings, path, viewer)
    return f"{prefix}{path}?{query + '&' if query else ''}{signature}"


def verify(settings: Settings, path: str, value: str, *, now: float | None = None) -> Signed:
    """Check a ``sig`` value for ``path``; raises InvalidSignature saying why not."""
    user, expires_text, mac = _split(value)
    expected = _mac(settings, path, user, int(expires_text))
    if not hmac.compare_digest(mac, expected):
        raise InvalidSignature("invalid signature")
    expires = int(expires_text)
    if expires < (time.time() if now is None else now):
        raise InvalidSignature("expired signature")
    return Signed(user_id=None if user == _ANONYMOUS else UUID(hex=user), expires=expires)


def _split(value: str) -> tuple[str, str, str]:
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 12:
        raise InvalidSignature("malformed signature")
    user = parts[0]
    if user != _ANONYMOUS:
        try:
            UUID(hex=user)
        except ValueError:
            raise InvalidSignature("malformed signature") from None
    return user, parts[1], parts[2]


def _mac(settings: Settings, path: str, user: str, expires: int) -> str:
    message = f"{path}\n{user}\n{expires}".encode()
    digest = hmac.new(_key(settings.signing_key), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _key(secret: str) -> bytes:
    """A key for this purpose only: the secret key may sign other things later."""
    return hashlib.sha256(_PURPOSE + secret.encode()).digest()
