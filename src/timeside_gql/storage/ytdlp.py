"""yt-dlp used as a library, under the fetcher's limits and address checks.

yt-dlp makes its own connections: the page URL and the chosen media URLs are checked before
any request (scheme and addresses, as for plain downloads), the size limit is given to yt-dlp
and enforced again while bytes arrive, and the total time is enforced from the progress hook.
What yt-dlp cannot offer is pinning the checked address (DNS rebinding) or checking its own
redirects; only the extractors named by the provider may run, never the generic scraper.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yt_dlp
from yt_dlp.utils import YoutubeDLError

from timeside_gql.storage.errors import DownloadError, MediaError

if TYPE_CHECKING:
    from timeside_gql.storage.fetch import Fetcher


class _Logger:
    """yt-dlp reports failures as exceptions too; its chatter stays out of the server log."""

    def debug(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...
    def error(self, msg: str) -> None: ...


def _options(fetcher: Fetcher, extractors: Iterable[str]) -> dict[str, Any]:
    return {
        "logger": _Logger(),
        "quiet": True,
        "noprogress": True,
        "noplaylist": True,
        "cachedir": False,
        "proxy": "",  # no environment proxy: it would connect to names we did not check
        "socket_timeout": fetcher.socket_timeout,
        "retries": 0,
        "allowed_extractors": list(extractors),
        "format": "bestaudio/best",
        "max_filesize": fetcher.max_bytes,
    }


def ytdlp_info(url: str, fetcher: Fetcher, extractors: Iterable[str]) -> dict[str, Any]:
    """What the extractor says about ``url``, without choosing a format or downloading."""
    fetcher.check(url)
    with yt_dlp.YoutubeDL(_options(fetcher, extractors)) as ydl:
        try:
            return ydl.extract_info(url, download=False, process=False)
        except YoutubeDLError as error:
            raise DownloadError(f"{url}: {_reason(error)}") from None


def ytdlp_download(url: str, dest_dir: Path, fetcher: Fetcher, extractors: Iterable[str]) -> Path:
    """The best audio stream of ``url`` as a new file of ``dest_dir``; nothing left on failure."""
    fetcher.check(url)
    dest_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".ytdlp-", dir=dest_dir))
    deadline = time.monotonic() + fetcher.timeout_s
    options = _options(fetcher, extractors) | {
        "paths": {"home": str(work), "temp": str(work)},
        "outtmpl": "audio.%(ext)s",
        "progress_hooks": [_limits_hook(fetcher, deadline, url)],
    }
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            try:
                info = ydl.extract_info(url, download=False)
                for media_url in _media_urls(info):
                    fetcher.check(media_url)
                ydl.process_ie_result(info, download=True)
            except YoutubeDLError as error:
                raise _unwrap(error, url) from None
        return _move_result(work, dest_dir, url, fetcher)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _limits_hook(fetcher: Fetcher, deadline: float, url: str):
    """Abort from inside yt-dlp's download loop when a limit is passed."""

    def hook(progress: dict[str, Any]) -> None:
        fetcher.check_limits(url, progress.get("downloaded_bytes") or 0, deadline)

    return hook


def _media_urls(info: dict[str, Any]) -> list[str]:
    formats = info.get("requested_formats") or [info]
    return [f["url"] for f in formats if f.get("url")]


def _move_result(work: Path, dest_dir: Path, url: str, fetcher: Fetcher) -> Path:
    """yt-dlp returns normally when it skips a file over max_filesize: no file means too large."""
    files = [p for p in work.iterdir() if p.is_file() and p.name.startswith("audio.")]
    if len(files) != 1 or files[0].suffix == ".part":
        raise fetcher.too_large(url)
    target = dest_dir / f"{uuid.uuid4().hex}{files[0].suffix}"
    os.replace(files[0], target)
    return target


def _unwrap(error: YoutubeDLError, url: str) -> MediaError:
    """Our own errors raised in hooks come back wrapped by yt-dlp: give the original."""
    cause = getattr(error, "exc_info", None)
    original = cause[1] if cause else error.__cause__ or error.__context__
    if isinstance(original, MediaError):
        return original
    return DownloadError(f"{url}: {_reason(error)}")


def _reason(error: YoutubeDLError) -> str:
    return str(error.msg if getattr(error, "msg", None) else error).removeprefix("ERROR: ")
