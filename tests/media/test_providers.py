"""Providers: which one a URL or id means, their metadata and audio from a local fake web,
and their rows in the providers table."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.media.fakes import FakeWeb
from timeside_gql.core.decode import probe
from timeside_gql.db.models import Provider as ProviderRow
from timeside_gql.db.providers import sync_providers
from timeside_gql.storage.errors import DownloadError, NoSourceAccess, UnknownSource, UnsafeURL
from timeside_gql.storage.fetch import Fetcher
from timeside_gql.storage.providers import (
    Metadata,
    SourceRef,
    all_providers,
    get_provider,
    resolve,
)
from timeside_gql.storage.providers.youtube import metadata_from_info
from timeside_gql.storage.ytdlp import ytdlp_download, ytdlp_info

YT = "dQw4w9WgXcQ"


@pytest.fixture
def fetcher(web: FakeWeb) -> Fetcher:
    """The fake web is on 127.0.0.1: private addresses allowed (test_fetch tests the refusal)."""
    return Fetcher(timeout_s=10, max_bytes=2**20, allow_private=True, deezer_api_url=web.base)


# --- which provider ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"https://www.youtube.com/watch?v={YT}",
        f"https://youtube.com/watch?feature=share&v={YT}&t=42",
        f"https://m.youtube.com/watch?v={YT}",
        f"https://music.youtube.com/watch?v={YT}&list=RDAMVM",
        f"https://youtu.be/{YT}?si=abc",
        f"https://www.youtube.com/shorts/{YT}",
        f"https://www.youtube.com/embed/{YT}",
        f"https://www.youtube-nocookie.com/embed/{YT}",
        YT,
        f"  {YT}\n",
    ],
)
def test_youtube_urls_and_bare_ids(url: str) -> None:
    assert resolve(url) == SourceRef("youtube", YT, f"https://www.youtube.com/watch?v={YT}")


@pytest.mark.parametrize(
    "url",
    [
        "https://www.deezer.com/track/3135556",
        "https://deezer.com/track/3135556/",
        "https://www.deezer.com/fr/track/3135556",
        "https://www.deezer.com/en-gb/track/3135556?utm=x",
    ],
)
def test_deezer_urls_mean_the_preview(url: str) -> None:
    assert resolve(url) == SourceRef(
        "deezer_preview", "3135556", "https://www.deezer.com/track/3135556"
    )


def test_explicit_provider_and_id() -> None:
    assert resolve(provider="deezer_complete", external_id="3135556").provider == "deezer_complete"
    assert (
        resolve("https://www.deezer.com/fr/track/7", provider="deezer_complete").external_id == "7"
    )
    assert resolve(provider="youtube", external_id=YT).url.endswith(YT)
    assert resolve(provider="url", external_id="https://x.org/a.mp3").url == "https://x.org/a.mp3"


def test_other_http_urls_are_direct_audio() -> None:
    assert resolve("https://cdn.example.org/music/A%20Song.mp3") == SourceRef(
        "url", "", "https://cdn.example.org/music/A%20Song.mp3"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "https://www.youtube.com/watch?v=short"}, "not a YouTube reference"),
        ({"url": "https://www.youtube.com/feed/trending"}, "not a YouTube reference"),
        ({"url": "https://www.deezer.com/album/302127"}, "not a Deezer"),
        ({"provider": "deezer_preview", "external_id": "12ab"}, "not a Deezer"),
        ({"url": "not an id"}, "not a YouTube reference"),
        ({"url": "ftp://example.org/a.mp3"}, "not a Direct URL reference"),
        ({"provider": "spotify", "external_id": "1"}, "unknown provider 'spotify'"),
        ({"external_id": "3135556"}, "needs its provider"),
        ({"provider": "youtube"}, "needs a URL or an external id"),
        ({}, "give a URL"),
    ],
)
def test_unknown_sources_are_typed_and_readable(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(UnknownSource, match=message):
        resolve(**kwargs)


def test_registry() -> None:
    pids = [p.pid for p in all_providers()]
    assert pids == ["youtube", "deezer_preview", "deezer_complete", "url"]
    assert get_provider("deezer_complete").source_access is False
    assert all(get_provider(pid).source_access for pid in ("youtube", "deezer_preview", "url"))


# --- Deezer, against the fake API -------------------------------------------------------------


def test_deezer_metadata(web: FakeWeb, fetcher: Fetcher) -> None:
    for pid in ("deezer_preview", "deezer_complete"):
        ref = resolve(provider=pid, external_id="3135556")
        assert get_provider(pid).metadata(ref, fetcher) == Metadata(
            title="Harder, Better, Faster, Stronger",
            artist="Daft Punk",
            album="Discovery",
            duration=215.0,
            picture_url=web.url("/cover.jpg"),
            external_uri="https://www.deezer.com/track/3135556",
        )


def test_deezer_preview_downloads_the_30s_mp3(
    web: FakeWeb, fetcher: Fetcher, tmp_path: Path
) -> None:
    ref = resolve("https://www.deezer.com/fr/track/3135556")
    path = get_provider(ref.provider).download(ref, tmp_path, fetcher)
    assert path.parent == tmp_path and path.suffix == ".mp3"
    assert path.read_bytes() == web.files["preview.mp3"].read_bytes()
    info = probe(path)
    assert (info.mime_type, round(info.duration)) == ("audio/mpeg", 3)


def test_deezer_complete_never_downloads(fetcher: Fetcher, tmp_path: Path) -> None:
    ref = resolve(provider="deezer_complete", external_id="3135556")
    with pytest.raises(NoSourceAccess, match="metadata only"):
        get_provider("deezer_complete").download(ref, tmp_path, fetcher)
    assert list(tmp_path.iterdir()) == []


def test_deezer_unknown_track(fetcher: Fetcher, tmp_path: Path) -> None:
    """Deezer answers 200 with an error object; that is an unknown source, not a crash."""
    ref = resolve(provider="deezer_preview", external_id="999")
    with pytest.raises(UnknownSource, match=r"Deezer has no track 999 \(no data\)"):
        get_provider("deezer_preview").metadata(ref, fetcher)
    with pytest.raises(UnknownSource):
        get_provider("deezer_preview").download(ref, tmp_path, fetcher)


def test_deezer_api_troubles_are_download_errors(web: FakeWeb, fetcher: Fetcher) -> None:
    web.tracks["4"] = {"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}}
    ref = resolve(provider="deezer_preview", external_id="4")
    with pytest.raises(DownloadError, match="Deezer API error for track 4: Quota limit exceeded"):
        get_provider("deezer_preview").metadata(ref, fetcher)


def test_deezer_api_is_checked_like_any_url(web: FakeWeb) -> None:
    guarded = Fetcher(timeout_s=10, max_bytes=2**20, allow_private=False, deezer_api_url=web.base)
    with pytest.raises(UnsafeURL):
        get_provider("deezer_preview").metadata(
            resolve(provider="deezer_preview", external_id="1"), guarded
        )


# --- direct URLs ------------------------------------------------------------------------------


def test_url_metadata_is_the_file_name(fetcher: Fetcher) -> None:
    ref = resolve("https://cdn.example.org/music/A%20Song.final.mp3?sig=1")
    assert get_provider("url").metadata(ref, fetcher) == Metadata(
        title="A Song.final", external_uri=ref.url
    )


def test_url_download(web: FakeWeb, fetcher: Fetcher, tmp_path: Path) -> None:
    ref = resolve(web.url("/plain/song.wav"))
    path = get_provider("url").download(ref, tmp_path, fetcher)
    assert path.read_bytes() == web.files["song.wav"].read_bytes()


# --- yt-dlp -----------------------------------------------------------------------------------
# The YouTube extractor needs youtube.com itself, which tests never reach. Its URL → id parsing
# is tested above; the yt-dlp path YouTube.download and .metadata go through (ytdlp_download,
# ytdlp_info: checks, options, limits, file handling) runs here with yt-dlp's generic extractor
# on audio served locally. Only the extractor list differs.


@pytest.mark.parametrize("path", ["/media/song.webm", "/plain/song.webm"])
def test_ytdlp_downloads_the_audio_as_is(
    web: FakeWeb, fetcher: Fetcher, tmp_path: Path, path: str
) -> None:
    got = ytdlp_download(web.url(path), tmp_path, fetcher, ("generic",))
    assert got.parent == tmp_path and got.suffix == ".webm"
    assert got.read_bytes() == web.files["song.webm"].read_bytes()
    assert probe(got).duration == probe(web.files["song.webm"]).duration > 1.5
    assert list(tmp_path.iterdir()) == [got]  # yt-dlp's work folder is gone


def test_ytdlp_metadata(web: FakeWeb, fetcher: Fetcher) -> None:
    url = web.url("/media/song.webm")
    info = ytdlp_info(url, fetcher, ("generic",))
    assert metadata_from_info(info, url) == Metadata(title="song", external_uri=url)
    music = {**info, "artist": "Band", "uploader": "Label", "duration": 61, "thumbnail": "t.jpg"}
    assert metadata_from_info(music, url) == Metadata(
        title="song", artist="Band", duration=61.0, picture_url="t.jpg", external_uri=url
    )
    assert metadata_from_info({**info, "uploader": "Label"}, url).artist == "Label"


@pytest.mark.parametrize(
    ("path", "limits", "message"),
    [
        ("/media/song.webm", {"max_bytes": 4096}, "larger than the 4096 bytes limit"),
        ("/plain/song.webm", {"max_bytes": 4096}, "larger than the 4096 bytes limit"),
        ("/endless/song.webm", {"max_bytes": 4096}, "larger than the 4096 bytes limit"),
        ("/drip/song.webm?delay=0.1", {"timeout_s": 0.5}, "longer than the 0.5 s limit"),
    ],
)
def test_ytdlp_limits_abort_and_leave_no_file(
    web: FakeWeb, tmp_path: Path, path: str, limits: dict[str, float], message: str
) -> None:
    limited = Fetcher(
        timeout_s=limits.get("timeout_s", 10),
        max_bytes=int(limits.get("max_bytes", 2**20)),
        allow_private=True,
        deezer_api_url=web.base,
    )
    with pytest.raises(DownloadError, match=message):
        ytdlp_download(web.url(path), tmp_path, limited, ("generic",))
    assert list(tmp_path.iterdir()) == []


def test_ytdlp_refuses_private_addresses_before_any_request(web: FakeWeb, tmp_path: Path) -> None:
    guarded = Fetcher(timeout_s=10, max_bytes=2**20, allow_private=False, deezer_api_url=web.base)
    before = len(web.requests)
    with pytest.raises(UnsafeURL):
        ytdlp_download(web.url("/media/song.webm"), tmp_path, guarded, ("generic",))
    assert len(web.requests) == before


def test_the_youtube_provider_runs_only_the_youtube_extractor(
    web: FakeWeb, fetcher: Fetcher, tmp_path: Path
) -> None:
    """A local URL passed through the youtube path is not scraped by the generic extractor."""
    before = len(web.requests)
    with pytest.raises(DownloadError, match="No suitable extractor"):
        ytdlp_download(web.url("/media/song.webm"), tmp_path, fetcher, ("youtube",))
    assert len(web.requests) == before
    assert list(tmp_path.iterdir()) == []


# --- rows -------------------------------------------------------------------------------------


def test_sync_creates_rows_and_is_idempotent(session: Session) -> None:
    session.add(ProviderRow(pid="legacy", name="kept"))
    session.commit()
    first = {row.pid: row.id for row in sync_providers(session, all_providers())}
    session.commit()
    second = {row.pid: row.id for row in sync_providers(session, all_providers())}
    session.commit()
    assert first == second
    rows = {row.pid: row for row in session.exec(select(ProviderRow))}
    assert set(rows) == {"youtube", "deezer_preview", "deezer_complete", "url", "legacy"}
    assert rows["youtube"].domains == ["youtube.com", "youtu.be", "youtube-nocookie.com"]
    assert rows["deezer_complete"].source_access is False
    assert (rows["deezer_preview"].name, rows["deezer_preview"].source_access) == (
        "Deezer (30 s preview)",
        True,
    )
    assert rows["url"].domains == []
