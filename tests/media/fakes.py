"""A local web for the media tests: plays the Deezer API and serves real audio files.

A threaded ``http.server`` on 127.0.0.1 with a free port; tests never reach the internet.
Every request path is logged so tests can prove that a refused URL was never requested.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from timeside_gql.core import samples

TRACK = "3135556"  # the Deezer track id the ``web`` fixture knows
MEDIA_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".webm": "audio/webm"}


class FakeWeb:
    """Routes:

    /track/ID                 Deezer API track object, or Deezer's 200 error object
    /media/NAME               an audio file with HTTP Range support (206)
    /plain/NAME               the same file, Range ignored, no Content-Length (close-delimited)
    /redirect?to=URL          302 to URL
    /drip/NAME?delay=S        the file in 1 KiB pieces, S seconds apart (with &once=1, the
                              first request only: the next ones get it at once)
    /endless/NAME             never-ending bytes (no Content-Length)
    /declared/NAME?size=N     claims Content-Length N, sends nothing
    /status/CODE              an empty answer with that status
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = {
            "preview.mp3": samples.write(root / "preview.mp3", samples.sine(440, 3.0), 44100),
            "song.wav": samples.write(root / "song.wav", samples.c4_scale(22050), 22050),
            "song.webm": samples.write(root / "song.webm", samples.sine(330, 2.0), 48000),
        }
        self.requests: list[str] = []
        self.tracks: dict[str, dict[str, Any]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def add_track(self, track_id: str, title: str, artist: str, album: str) -> dict[str, Any]:
        """A track object shaped like api.deezer.com's, previewing preview.mp3 from here."""
        track = {
            "id": int(track_id),
            "title": title,
            "duration": 215,
            "link": f"https://www.deezer.com/track/{track_id}",
            "preview": self.url("/media/preview.mp3"),
            "artist": {"id": 27, "name": artist},
            "album": {"id": 302127, "title": album, "cover_xl": self.url("/cover.jpg")},
        }
        self.tracks[track_id] = track
        return track

    @contextmanager
    def running(self) -> Iterator[FakeWeb]:
        with serving(self._server):
            yield self


@contextmanager
def serving(server: HTTPServer) -> Iterator[None]:
    """``server`` answering from a thread until the block ends (tests' local HTTP servers)."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _handler(web: FakeWeb) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            web.requests.append(self.path)
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            route, _, arg = parts.path.strip("/").partition("/")
            # the client may give up (a limit was reached): expected in these tests
            with suppress(BrokenPipeError, ConnectionResetError):
                getattr(self, f"route_{route}", self.not_found)(arg, query)

        def not_found(self, arg: str, query: dict[str, str]) -> None:
            self.send_error(404)

        def head(self, status: int, content_type: str, length: int | None, **extra: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if length is not None:
                self.send_header("Content-Length", str(length))
            for name, value in extra.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()

        def file(self, name: str) -> tuple[bytes, str]:
            path = web.files[name]
            return path.read_bytes(), MEDIA_TYPES[path.suffix]

        def route_track(self, arg: str, query: dict[str, str]) -> None:
            track = web.tracks.get(arg) or {
                "error": {"type": "DataException", "message": "no data", "code": 800}
            }
            body = json.dumps(track).encode()
            self.head(200, "application/json", len(body))
            self.wfile.write(body)

        def route_media(self, arg: str, query: dict[str, str]) -> None:
            data, kind = self.file(arg)
            start, end = _range(self.headers.get("Range"), len(data))
            if start is None:
                self.head(200, kind, len(data), Accept_Ranges="bytes")
                self.wfile.write(data)
                return
            self.head(
                206,
                kind,
                end - start + 1,
                Accept_Ranges="bytes",
                Content_Range=f"bytes {start}-{end}/{len(data)}",
            )
            self.wfile.write(data[start : end + 1])

        def route_plain(self, arg: str, query: dict[str, str]) -> None:
            data, kind = self.file(arg)
            self.head(200, kind, None)
            self.wfile.write(data)

        def route_redirect(self, arg: str, query: dict[str, str]) -> None:
            self.head(302, "text/plain", 0, Location=query["to"])

        def route_drip(self, arg: str, query: dict[str, str]) -> None:
            data, kind = self.file(arg)
            if query.get("once") and web.requests.count(self.path) > 1:
                self.route_media(arg, {})
                return
            self.head(200, kind, len(data))
            for offset in range(0, len(data), 1024):
                self.wfile.write(data[offset : offset + 1024])
                self.wfile.flush()
                time.sleep(float(query.get("delay", "0.2")))

        def route_endless(self, arg: str, query: dict[str, str]) -> None:
            data, kind = self.file(arg)
            self.head(200, kind, None)
            while True:
                self.wfile.write(data)

        def route_declared(self, arg: str, query: dict[str, str]) -> None:
            _, kind = self.file(arg)
            self.head(200, kind, int(query["size"]))

        def route_status(self, arg: str, query: dict[str, str]) -> None:
            self.head(int(arg), "text/plain", 0)

    return Handler


def _range(header: str | None, size: int) -> tuple[int | None, int]:
    """A single ``bytes=a-b`` / ``bytes=a-`` range (what downloaders send); else the whole file."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None, size - 1
    first, _, last = header.removeprefix("bytes=").partition("-")
    if not first:
        return size - int(last), size - 1
    return int(first), min(int(last), size - 1) if last else size - 1
