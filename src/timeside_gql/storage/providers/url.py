"""Direct HTTP(S) audio: any URL no other provider claims."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from timeside_gql.storage.providers.base import Metadata, Provider, SourceRef

if TYPE_CHECKING:
    from timeside_gql.storage.fetch import Fetcher


class UrlProvider(Provider):
    """The URL is the reference; its external id is empty (URLs outgrow the id column)."""

    pid = "url"
    name = "Direct URL"

    def from_url(self, url: str) -> SourceRef:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise self.unknown(url)
        return SourceRef(self.pid, "", url)

    def from_id(self, external_id: str) -> SourceRef:
        return self.from_url(external_id)

    def metadata(self, ref: SourceRef, fetcher: Fetcher) -> Metadata:
        """Only the file name is known without downloading: 'My%20Song.mp3' → 'My Song'."""
        name = PurePosixPath(unquote(urlsplit(ref.url).path)).stem
        return Metadata(title=name.strip(), external_uri=ref.url)

    def download(self, ref: SourceRef, dest_dir: Path, fetcher: Fetcher) -> Path:
        return fetcher.download(ref.url, dest_dir).path
