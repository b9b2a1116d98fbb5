"""Downloads of user-given URLs (and webhook POSTs) with limits and SSRF protection.

Every hop (the URL, then each redirect) is checked: http(s) only, and the host's addresses must
all be public unless ``allow_private_urls``. The connection then goes to the checked address
itself (the URL's host replaced by the IP, the name kept in the Host header and as TLS SNI, so
certificates are still verified against the name): a DNS answer changing between the check and
the connection (DNS rebinding) cannot redirect it. Each hop uses its own client so a pooled TLS
connection made for one name is never reused for another name on the same address.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import mimetypes
import os
import socket
import ssl
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from timeside_gql.storage.errors import DownloadError, UnsafeURL

if TYPE_CHECKING:
    from timeside_gql.settings import Settings

_SCHEMES = {"http": 80, "https": 443}
_MAX_REDIRECTS = 5
_USER_AGENT = "timeside-gql"


@dataclass(frozen=True)
class Downloaded:
    path: Path
    sha1: str
    size: int
    content_type: str | None


@dataclass(frozen=True)
class Target:
    """A checked hop: the URL as given, and the address to connect to instead of its host."""

    url: str
    host: str
    address: str


@dataclass(frozen=True)
class Fetcher:
    """Network access for providers: limits per download and address checks on every hop."""

    timeout_s: float
    max_bytes: int
    allow_private: bool
    deezer_api_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Fetcher:
        return cls(
            timeout_s=settings.download_timeout_s,
            max_bytes=settings.max_download_mb * 1024 * 1024,
            allow_private=settings.allow_private_urls,
            deezer_api_url=settings.deezer_api_url,
        )

    @property
    def socket_timeout(self) -> float:
        """Connect and read timeout of one socket operation, never beyond the total limit."""
        return min(15.0, self.timeout_s)

    def check(self, url: str) -> Target:
        """The address to connect to for ``url``; UnsafeURL when the scheme or host is refused."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise UnsafeURL(f"only http and https URLs are fetched, not {scheme or 'no'} scheme")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise UnsafeURL(f"{url!r} has no host")
        addresses = _addresses(host, parts.port or _SCHEMES[scheme])
        if not self.allow_private:
            for address in addresses:
                if not _public(address):
                    raise UnsafeURL(f"{host} is a private or reserved address ({address})")
        return Target(url=url, host=host, address=str(addresses[0]))

    def get_json(self, url: str) -> Any:
        """A small JSON document (API answers), under the same limits as downloads."""
        deadline = time.monotonic() + self.timeout_s
        with self._open(url, deadline) as (response, _):
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                self.check_limits(url, len(body), deadline)
        try:
            return json.loads(body)
        except ValueError as error:
            raise DownloadError(f"{url} did not answer JSON: {error}") from None

    def download(self, url: str, dest_dir: Path) -> Downloaded:
        """Stream ``url`` into a new file of ``dest_dir``; nothing is left there on failure.

        Limits are checked at every piece received (not per large buffer) so a slow server
        cannot stretch the time limit; a stalled one is cut by the socket read timeout.
        """
        deadline = time.monotonic() + self.timeout_s
        dest_dir.mkdir(parents=True, exist_ok=True)
        partial = dest_dir / f".download-{uuid.uuid4().hex}.part"
        try:
            with self._open(url, deadline) as (response, final_url), partial.open("wb") as out:
                sha1, size = hashlib.sha1(), 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    self.check_limits(url, size, deadline)
                    sha1.update(chunk)
                    out.write(chunk)
                content_type = response.headers.get("content-type")
            target = dest_dir / f"{uuid.uuid4().hex}{_suffix(final_url, content_type)}"
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return Downloaded(target, sha1.hexdigest(), size, content_type)

    def post(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> int:
        """POST ``body`` to ``url`` once and return the response's status, without reading its
        body or following a redirect (a 3xx is the answer). The same address checks and time
        limit as a download; UnsafeURL or DownloadError when no answer came."""
        deadline = time.monotonic() + self.timeout_s
        target = self.check(url)
        with (
            self._client() as client,
            _stream(client, target, deadline, self, method="POST", body=body, headers=headers) as r,
        ):
            return r.status_code

    def check_limits(self, url: str, size: int, deadline: float) -> None:
        """DownloadError once ``size`` bytes pass the size limit or the deadline has passed."""
        if size > self.max_bytes:
            raise self.too_large(url)
        if time.monotonic() > deadline:
            raise DownloadError(f"{url} took longer than the {self.timeout_s:g} s limit")

    def too_large(self, url: str) -> DownloadError:
        mib = self.max_bytes / 2**20
        limit = f"{mib:g} MiB" if mib >= 1 else f"{self.max_bytes} bytes"
        return DownloadError(f"{url} is larger than the {limit} limit")

    @contextmanager
    def _open(self, url: str, deadline: float) -> Iterator[tuple[httpx.Response, str]]:
        """The final response and URL after checked redirects; DownloadError unless 2xx."""
        for _ in range(_MAX_REDIRECTS + 1):
            target = self.check(url)
            with self._client() as client, _stream(client, target, deadline, self) as response:
                location = response.headers.get("location")
                if response.is_redirect and location:
                    url = urljoin(url, location)
                    continue
                if not response.is_success:
                    raise DownloadError(f"{url} answered HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise self.too_large(url)
                yield response, url
                return
        raise DownloadError(f"{url}: more than {_MAX_REDIRECTS} redirects")

    def _client(self) -> httpx.Client:
        # trust_env off: an environment proxy would connect to names we did not check
        timeout = httpx.Timeout(self.socket_timeout)
        return httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls_context()
        )


@cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CAs), built once: building it loads the CA
    bundle, about 100 ms, which a client per hop would otherwise pay on every request."""
    return httpx.create_ssl_context(trust_env=False)


@contextmanager
def _stream(
    client: httpx.Client,
    target: Target,
    deadline: float,
    fetcher: Fetcher,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> Iterator[httpx.Response]:
    """Send ``method`` to the checked address, naming the original host in Host and SNI;
    errors typed."""
    parts = urlsplit(target.url)
    address = f"[{target.address}]" if ":" in target.address else target.address
    netloc = f"{address}:{parts.port}" if parts.port else address
    direct = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = parts.netloc.rpartition("@")[2]  # as written ([::1]:8080), no credentials
    fetcher.check_limits(target.url, 0, deadline)
    remaining = deadline - time.monotonic()
    request = client.build_request(
        method,
        direct,
        content=body,
        headers={**(headers or {}), "Host": host_header, "User-Agent": _USER_AGENT},
        extensions={"sni_hostname": target.host},
        timeout=httpx.Timeout(min(fetcher.socket_timeout, remaining)),
    )
    try:
        response = client.send(request, stream=True)
    except httpx.HTTPError as error:
        raise DownloadError(f"{target.url}: {error or type(error).__name__}") from None
    try:
        yield response
    except httpx.HTTPError as error:
        raise DownloadError(f"{target.url}: {error or type(error).__name__}") from None
    finally:
        response.close()


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Routable on the internet: not private, loopback, link-local, multicast, reserved, 0.0.0.0."""
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise DownloadError(f"cannot resolve {host}: {error}") from None
    # an IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged as the IPv4 address it carries
    found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return [getattr(a, "ipv4_mapped", None) or a for a in found]


def _suffix(url: str, content_type: str | None) -> str:
    """A short extension from the URL path or the content type, for tools that go by it."""
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if 1 < len(suffix) <= 6 and suffix[1:].isalnum():
        return suffix
    guessed = mimetypes.guess_extension((content_type or "").split(";")[0].strip())
    return guessed or ""
