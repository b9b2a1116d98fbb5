"""Audio providers: which one a URL or id belongs to, its metadata and its audio.

Interface shared with intake (ingest) and the API: ``resolve`` turns what a user gave into a
``SourceRef``; ``get_provider(ref.provider)`` then gives metadata and downloads through a
``timeside_gql.storage.fetch.Fetcher`` (limits and SSRF checks).
"""

from __future__ import annotations

from timeside_gql.storage.errors import UnknownSource
from timeside_gql.storage.providers.base import Metadata, Provider, SourceRef, host_of
from timeside_gql.storage.providers.deezer import DeezerComplete, DeezerPreview
from timeside_gql.storage.providers.url import UrlProvider
from timeside_gql.storage.providers.youtube import YouTube

__all__ = ["Metadata", "Provider", "SourceRef", "all_providers", "get_provider", "resolve"]

# Order matters for URLs: the first provider claiming a domain wins (a deezer.com URL means the
# preview, the provider with audio); ``url`` claims no domain and takes any other http(s) URL.
_REGISTRY: dict[str, Provider] = {
    p.pid: p for p in (YouTube(), DeezerPreview(), DeezerComplete(), UrlProvider())
}


def all_providers() -> list[Provider]:
    return list(_REGISTRY.values())


def get_provider(pid: str) -> Provider:
    try:
        return _REGISTRY[pid]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise UnknownSource(f"unknown provider {pid!r} (known: {known})") from None


def resolve(
    url: str | None = None, *, provider: str | None = None, external_id: str | None = None
) -> SourceRef:
    """The source a user designates by URL, by bare YouTube id, or by provider and id."""
    if provider is not None:
        chosen = get_provider(provider)
        if external_id:
            return chosen.from_id(external_id.strip())
        if url:
            return chosen.from_url(url.strip())
        raise UnknownSource(f"provider {provider!r} needs a URL or an external id")
    if external_id:
        raise UnknownSource("an external id needs its provider")
    if not url or not url.strip():
        raise UnknownSource("give a URL, or a provider with an external id")
    return _by_url(url.strip())


def _by_url(url: str) -> SourceRef:
    host = host_of(url)
    if not host and "://" not in url:
        return _REGISTRY["youtube"].from_id(url)
    for candidate in _REGISTRY.values():
        if candidate.handles(host):
            return candidate.from_url(url)
    return _REGISTRY["url"].from_url(url)
