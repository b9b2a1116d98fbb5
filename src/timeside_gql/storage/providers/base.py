"""What every provider gives: a reference to a source, its metadata, and the audio itself."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from timeside_gql.storage.errors import NoSourceAccess, UnknownSource

if TYPE_CHECKING:
    from timeside_gql.storage.fetch import Fetcher


@dataclass(frozen=True)
class SourceRef:
    """A source as one provider knows it: ``url`` is what is fetched or shown to users."""

    provider: str
    external_id: str
    url: str


@dataclass(frozen=True)
class Metadata:
    """Descriptive fields a provider knows; empty strings and None mean "unknown"."""

    title: str = ""
    artist: str = ""
    album: str = ""
    description: str = ""
    duration: float | None = None
    picture_url: str | None = None
    external_uri: str | None = None


class Provider(ABC):
    """A source of audio; subclasses are stateless singletons listed in the registry."""

    pid: ClassVar[str]
    name: ClassVar[str]
    domains: ClassVar[tuple[str, ...]] = ()
    source_access: ClassVar[bool] = True

    def handles(self, host: str) -> bool:
        """Whether a URL of this host belongs to this provider (subdomains included)."""
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)

    @abstractmethod
    def from_url(self, url: str) -> SourceRef:
        """The reference a URL of this provider designates; UnknownSource if it names none."""

    @abstractmethod
    def from_id(self, external_id: str) -> SourceRef:
        """The reference of an id of this provider; UnknownSource if it is malformed."""

    @abstractmethod
    def metadata(self, ref: SourceRef, fetcher: Fetcher) -> Metadata:
        """What the provider says about the source (network access through ``fetcher``)."""

    def download(self, ref: SourceRef, dest_dir: Path, fetcher: Fetcher) -> Path:
        """Fetch the audio into a new file of ``dest_dir`` and return its path."""
        raise NoSourceAccess(f"provider {self.pid!r} gives metadata only, not the audio")

    def unknown(self, what: str) -> UnknownSource:
        return UnknownSource(f"{what!r} is not a {self.name} reference")


def host_of(url: str) -> str:
    """The lower-case host of a URL, '' when it has none."""
    return (urlsplit(url.strip()).hostname or "").lower()
