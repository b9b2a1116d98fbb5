"""Downloads: limits, checked redirects and SSRF refusals, against a local web server."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.media.fakes import FakeWeb
from timeside_gql.core.decode import probe
from timeside_gql.settings import Settings
from timeside_gql.storage import fetch
from timeside_gql.storage.errors import DownloadError, UnsafeURL
from timeside_gql.storage.fetch import Fetcher

MiB = 2**20


def fetcher(web: FakeWeb, *, allow_private: bool = True, **limits: float) -> Fetcher:
    """Tests serve from 127.0.0.1, so they allow private addresses unless testing the refusal."""
    return Fetcher(
        timeout_s=limits.get("timeout_s", 10),
        max_bytes=int(limits.get("max_bytes", 10 * MiB)),
        allow_private=allow_private,
        deezer_api_url=web.base,
    )


def test_from_settings_reads_the_limits(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        download_timeout_s=7,
        max_download_mb=3,
        allow_private_urls=True,
        deezer_api_url="http://deezer.test",
    )
    made = Fetcher.from_settings(settings)
    assert (made.timeout_s, made.max_bytes, made.allow_private) == (7, 3 * MiB, True)
    assert made.deezer_api_url == "http://deezer.test"
    assert Fetcher.from_settings(Settings(data_dir=tmp_path)).allow_private is False


@pytest.mark.parametrize("path", ["/media/song.wav", "/plain/song.wav"])
def test_download_streams_real_audio_with_its_sha1(web: FakeWeb, tmp_path: Path, path: str) -> None:
    got = fetcher(web).download(web.url(path), tmp_path)
    served = web.files["song.wav"].read_bytes()
    assert got.path.read_bytes() == served
    assert got.sha1 == hashlib.sha1(served).hexdigest()
    assert (got.size, got.content_type, got.path.suffix) == (len(served), "audio/wav", ".wav")
    assert probe(got.path).duration == pytest.approx(9.4, abs=0.01)  # c4_scale
    assert list(tmp_path.iterdir()) == [got.path]


def test_redirects_are_followed(web: FakeWeb, tmp_path: Path) -> None:
    got = fetcher(web).download(web.url("/redirect?to=/media/preview.mp3"), tmp_path)
    assert got.path.read_bytes() == web.files["preview.mp3"].read_bytes()
    assert got.path.suffix == ".mp3"


def chain(hops: int, target: str) -> str:
    """A path redirecting ``hops`` times before reaching ``target``."""
    for _ in range(hops):
        target = "/redirect?to=" + quote(target, safe="")
    return target


def test_redirect_chains_are_bounded(web: FakeWeb, tmp_path: Path) -> None:
    assert fetcher(web).download(web.url(chain(5, "/media/song.wav")), tmp_path).size > 0
    with pytest.raises(DownloadError, match="more than 5 redirects"):
        fetcher(web).download(web.url(chain(6, "/media/song.wav")), tmp_path)


def test_http_errors_are_typed(web: FakeWeb, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetcher(web).download(web.url("/status/404"), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/endless/song.wav", "while streaming (no Content-Length)"),
        ("/declared/song.wav?size=999999999", "from the declared Content-Length"),
    ],
)
def test_size_limit_aborts_and_leaves_no_file(
    web: FakeWeb, tmp_path: Path, path: str, where: str
) -> None:
    with pytest.raises(DownloadError, match="larger than the 65536 bytes limit"):
        fetcher(web, max_bytes=65536).download(web.url(path), tmp_path)
    assert list(tmp_path.iterdir()) == [], where


def test_time_limit_aborts_a_slow_download_and_leaves_no_file(web: FakeWeb, tmp_path: Path) -> None:
    # 1 KiB every 0.1 s: each read is quick, only the total time limit can stop it
    with pytest.raises(DownloadError, match=r"longer than the 0\.5 s limit"):
        fetcher(web, timeout_s=0.5).download(web.url("/drip/song.wav?delay=0.1"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_get_json_reads_the_api(web: FakeWeb) -> None:
    web.add_track("42", "Song", "Band", "Record")
    assert fetcher(web).get_json(web.url("/track/42"))["artist"]["name"] == "Band"
    with pytest.raises(DownloadError, match="did not answer JSON"):
        fetcher(web).get_json(web.url("/media/song.wav"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/a.mp3", "gopher://x/"])
def test_other_schemes_are_refused(web: FakeWeb, tmp_path: Path, url: str) -> None:
    with pytest.raises(UnsafeURL, match="only http and https"):
        fetcher(web).download(url, tmp_path)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "169.254.169.254",  # cloud metadata
        "[::1]",
        "[fe80::1]",
        "[::ffff:127.0.0.1]",  # IPv4-mapped loopback
        "0.0.0.0",
        "224.0.0.1",
        "localhost",  # a name resolving to loopback
    ],
)
def test_private_addresses_are_refused_by_default(web: FakeWeb, tmp_path: Path, host: str) -> None:
    port = web.base.rsplit(":", 1)[1]
    before = len(web.requests)
    with pytest.raises(UnsafeURL, match="private or reserved"):
        fetcher(web, allow_private=False).download(f"http://{host}:{port}/media/song.wav", tmp_path)
    assert len(web.requests) == before, "the refused URL must never be requested"
    assert list(tmp_path.iterdir()) == []


def test_a_redirect_to_a_private_address_is_refused(
    web: FakeWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 127.0.0.1 plays a public host here; its redirect to the metadata address must be refused
    public = fetch._public
    monkeypatch.setattr(
        fetch, "_public", lambda a: a == ipaddress.ip_address("127.0.0.1") or public(a)
    )
    url = web.url("/redirect?to=http://169.254.169.254/latest/meta-data/")
    before = len(web.requests)
    with pytest.raises(UnsafeURL, match=re.escape("169.254.169.254")):
        fetcher(web, allow_private=False).download(url, tmp_path)
    assert web.requests[before:] == [url.removeprefix(web.base)]
    assert list(tmp_path.iterdir()) == []


def test_the_checked_address_is_the_one_connected(
    web: FakeWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name resolves once, and the connection goes to that address."""
    answers = iter([[ipaddress.ip_address("127.0.0.1")], [ipaddress.ip_address("10.9.9.9")]])
    monkeypatch.setattr(fetch, "_addresses", lambda host, port: next(answers))
    port = web.base.rsplit(":", 1)[1]
    got = fetcher(web).download(f"http://rebind.test:{port}/media/song.wav", tmp_path)
    assert got.path.read_bytes() == web.files["song.wav"].read_bytes()
