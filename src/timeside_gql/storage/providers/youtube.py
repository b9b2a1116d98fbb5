"""YouTube through yt-dlp, used as a library: metadata, and the best audio stream as it is.

No ffmpeg post-processing: the decoder reads the webm/m4a audio streams YouTube serves.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from timeside_gql.storage.providers.base import Metadata, Provider, SourceRef
from timeside_gql.storage.ytdlp import ytdlp_download, ytdlp_info

if TYPE_CHECKING:
    from timeside_gql.storage.fetch import Fetcher

_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
# Paths carrying the id as their second segment: /shorts/ID, /embed/ID, /live/ID, /v/ID.
_PATH_ID = re.compile(r"^/(?:shorts|embed|live|v)/([A-Za-z0-9_-]{11})(?:[/?#]|$)")
# Only the YouTube extractor may run: a YouTube reference never falls back to generic scraping.
_EXTRACTORS = ("youtube",)


class YouTube(Provider):
    pid = "youtube"
    name = "YouTube"
    domains = ("youtube.com", "youtu.be", "youtube-nocookie.com")

    def from_url(self, url: str) -> SourceRef:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host == "youtu.be":
            candidate = parts.path.strip("/").split("/")[0]
        elif match := _PATH_ID.match(parts.path):
            candidate = match.group(1)
        else:
            candidate = (parse_qs(parts.query).get("v") or [""])[0]
        if not _ID.match(candidate):
            raise self.unknown(url)
        return self.from_id(candidate)

    def from_id(self, external_id: str) -> SourceRef:
        if not _ID.match(external_id):
            raise self.unknown(external_id)
        return SourceRef(self.pid, external_id, f"https://www.youtube.com/watch?v={external_id}")

    def metadata(self, ref: SourceRef, fetcher: Fetcher) -> Metadata:
        return metadata_from_info(ytdlp_info(ref.url, fetcher, _EXTRACTORS), ref.url)

    def download(self, ref: SourceRef, dest_dir: Path, fetcher: Fetcher) -> Path:
        return ytdlp_download(ref.url, dest_dir, fetcher, _EXTRACTORS)


def metadata_from_info(info: dict[str, Any], url: str) -> Metadata:
    """yt-dlp's info dict as our fields; music videos carry artist/album, others an uploader."""
    duration = info.get("duration")
    return Metadata(
        title=info.get("title") or "",
        artist=info.get("artist") or info.get("uploader") or "",
        album=info.get("album") or "",
        description=info.get("description") or "",
        duration=float(duration) if duration else None,
        picture_url=info.get("thumbnail") or None,
        external_uri=info.get("webpage_url") or url,
    )
