"""Deezer through its public API: a 30 s preview, or metadata only for complete tracks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from timeside_gql.storage.errors import DownloadError, UnknownSource
from timeside_gql.storage.providers.base import Metadata, Provider, SourceRef

if TYPE_CHECKING:
    from timeside_gql.storage.fetch import Fetcher

# deezer.com/track/3135556, deezer.com/fr/track/3135556, deezer.com/en-gb/track/3135556/
_NO_DATA = 800  # the API's error code for an id it does not know
_TRACK_PATH = re.compile(r"^/(?:[a-z]{2}(?:-[a-z]{2})?/)?track/(\d+)/?$", re.IGNORECASE)


class _Deezer(Provider):
    domains = ("deezer.com",)

    def from_url(self, url: str) -> SourceRef:
        match = _TRACK_PATH.match(urlsplit(url).path)
        if not match:
            raise self.unknown(url)
        return self.from_id(match.group(1))

    def from_id(self, external_id: str) -> SourceRef:
        if not external_id.isdigit():
            raise self.unknown(external_id)
        return SourceRef(self.pid, external_id, f"https://www.deezer.com/track/{external_id}")

    def metadata(self, ref: SourceRef, fetcher: Fetcher) -> Metadata:
        track = self.track(ref, fetcher)
        album = track.get("album") or {}
        duration = track.get("duration")
        return Metadata(
            title=track.get("title") or "",
            artist=(track.get("artist") or {}).get("name") or "",
            album=album.get("title") or "",
            duration=float(duration) if duration else None,
            picture_url=album.get("cover_xl") or None,
            external_uri=track.get("link") or ref.url,
        )

    def track(self, ref: SourceRef, fetcher: Fetcher) -> dict[str, Any]:
        """The API's track object. Deezer answers 200 with an ``error`` object, code 800 for
        an unknown id, others for its own troubles (quota: code 4), which are not the user's."""
        data = fetcher.get_json(f"{fetcher.deezer_api_url.rstrip('/')}/track/{ref.external_id}")
        if not isinstance(data, dict):
            raise DownloadError(f"Deezer answered something else than a track for {ref.url}")
        if "error" in data:
            error = data["error"] or {}
            message = error.get("message", "error")
            if error.get("code") == _NO_DATA:
                raise UnknownSource(f"Deezer has no track {ref.external_id} ({message})")
            raise DownloadError(f"Deezer API error for track {ref.external_id}: {message}")
        return data


class DeezerPreview(_Deezer):
    pid = "deezer_preview"
    name = "Deezer (30 s preview)"

    def download(self, ref: SourceRef, dest_dir: Path, fetcher: Fetcher) -> Path:
        preview = self.track(ref, fetcher).get("preview")
        if not preview:
            raise DownloadError(f"Deezer gives no preview for track {ref.external_id}")
        return fetcher.download(preview, dest_dir).path


class DeezerComplete(_Deezer):
    """Complete tracks need a Deezer licence we do not have: metadata, never audio."""

    pid = "deezer_complete"
    name = "Deezer (metadata only)"
    source_access = False
