"""Media over HTTP: an item's source and transcodes, a result's files and pictures.

Every route authenticates with http.auth (bearer token or signed URL) and answers 404 for
what the viewer may not see. Files on disk go through Starlette's FileResponse, which serves
HTTP Range (single and multiple ranges, suffix and open ranges, 416 with ``bytes */size``),
HEAD and If-Range; the ETag is the item's sha1 or the result's cache key, so it changes exactly
when the content does.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from anyio import to_thread
from sqlmodel import Session, select
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from timeside_gql.core.decode import DecodeError
from timeside_gql.core.encoders import EncodeError, get_format, transcode_chunks
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer
from timeside_gql.http.access import get_visible, read_visible
from timeside_gql.http.auth import app_services
from timeside_gql.jobs.execution import JobError
from timeside_gql.jobs.results import LocksBusy
from timeside_gql.services.transcodes import (
    ComputeFailed,
    NoAudio,
    cached_transcode,
    encoder_pids,
    source_file,
    transcode_result,
)
from timeside_gql.storage import deliver
from timeside_gql.storage.files import result_path

T = TypeVar("T")
_UNSAFE = re.compile(r"[^\w\-]+")


def safe_filename(title: str, extension: str) -> str:
    """A download name from a title: runs of anything but letters, digits and ``-`` become
    ``_``, so no path, quote or dot survives."""
    stem = _UNSAFE.sub("_", title).strip("_")[:100] or "audio"
    return f"{stem}.{extension}"


def content_disposition(kind: str, filename: str) -> dict[str, str]:
    """A Content-Disposition header; non-ASCII names as RFC 6266 ``filename*`` (as
    FileResponse writes them), since header values are Latin-1."""
    quoted = quote(filename)
    value = (
        f'{kind}; filename="{filename}"'
        if quoted == filename
        else f"{kind}; filename*=utf-8''{quoted}"
    )
    return {"content-disposition": value}


def _item(request: Request) -> Callable[[Session, Viewer], m.Item]:
    return lambda session, viewer: get_visible(session, m.Item, request.path_params["id"], viewer)


def _audio_of(request: Request, item: m.Item) -> Path:
    settings, _ = app_services(request)
    try:
        path = source_file(settings, item)
    except (NoAudio, FileNotFoundError) as exc:
        raise HTTPException(404, str(exc)) from exc
    if not path.is_file():
        raise HTTPException(404, f"the source file of item {item.id} is missing")
    return path


def _file(request: Request, path: Path, media_type: str, etag: str, filename: str) -> Response:
    """The file with Range support; 304 when the client already holds this version."""
    tag = f'"{etag}"'
    if _matches(request.headers.get("if-none-match", ""), tag):
        return Response(status_code=304, headers={"etag": tag})
    return _BytesRangeFile(
        path,
        media_type=media_type,
        filename=filename,
        content_disposition_type="inline",
        headers={"etag": tag},
    )


class _BytesRangeFile(FileResponse):
    """Starlette's FileResponse, but a Range in a unit other than bytes is ignored (the whole
    file, 200), as RFC 9110 14.2 requires, instead of answered 400."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        unit = Headers(scope=scope).get("range", "bytes=").split("=", 1)[0].strip().lower()
        if unit != "bytes":
            scope = {**scope, "headers": [h for h in scope["headers"] if h[0] != b"range"]}
        await super().__call__(scope, receive, send)


def _matches(if_none_match: str, tag: str) -> bool:
    """``If-None-Match``: ``*`` or a list of tags, compared weakly (RFC 9110 13.1.2)."""
    tags = {part.strip().removeprefix("W/") for part in if_none_match.split(",")}
    return "*" in tags or tag in tags


async def item_source(request: Request) -> Response:
    """The original file, as uploaded or downloaded."""
    item = await read_visible(request, _item(request))
    path = _audio_of(request, item)
    media_type = item.mime_type or "application/octet-stream"
    return _file(
        request, path, media_type, str(item.sha1), safe_filename(item.title, path.suffix[1:])
    )


def _float_param(request: Request, name: str) -> float | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise HTTPException(400, f"{name} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise HTTPException(400, f"{name} must be a finite number >= 0, got {value!r}")
    return number


def _window(request: Request, duration: float | None) -> tuple[float | None, float | None]:
    """``start``/``stop`` in seconds, checked against each other and the item's duration."""
    start, stop = _float_param(request, "start"), _float_param(request, "stop")
    if start is not None and stop is not None and stop <= start:
        raise HTTPException(400, f"stop ({stop}) must be after start ({start})")
    if start is not None and duration is not None and start >= duration:
        raise HTTPException(400, f"start ({start}) is past the end ({duration:.3f} s)")
    return start, stop


async def item_audio(request: Request) -> Response:
    """The item transcoded: whole (cached as an encoder Result) or a segment (streamed)."""
    fmt = request.path_params["fmt"]
    pids = encoder_pids()
    if fmt not in pids:
        raise HTTPException(404, f"unknown audio format {fmt!r} (formats: {', '.join(pids)})")
    item = await read_visible(request, _item(request))
    path = _audio_of(request, item)
    start, stop = _window(request, item.audio_duration)
    spec = get_format(fmt)
    filename = safe_filename(item.title, spec.extension)
    if not start and stop is None:
        settings, sessions = app_services(request)
        engine = sessions.kw["bind"]
        if request.method == "HEAD":  # headers of what is made; a HEAD never starts an encode
            made = await to_thread.run_sync(cached_transcode, engine, item, fmt)
        else:
            try:
                made = await _whole_transcode(engine, settings, item, fmt)
            except (ComputeFailed, JobError) as exc:
                raise HTTPException(500, f"transcoding failed: {exc}") from exc
        if made is not None:
            try:
                file = result_path(settings.data_dir, str(made.file_path))
            except FileNotFoundError as exc:
                raise HTTPException(404, str(exc)) from None
            return _file(request, file, spec.mime_type, str(made.cache_key), filename)
    disposition = content_disposition("inline", filename)
    if request.method == "HEAD":  # the length is known only once encoded: none is sent
        head = Response(media_type=spec.mime_type, headers=disposition)
        del head.headers["content-length"]
        return head
    try:
        chunks = await to_thread.run_sync(
            lambda: transcode_chunks(path, fmt, start=start or 0.0, stop=stop)
        )
    except (DecodeError, EncodeError) as exc:
        raise HTTPException(400, f"cannot transcode this segment: {exc}") from exc
    return StreamingResponse(chunks, media_type=spec.mime_type, headers=disposition)


#: Whole-file encodes (CPU-bound) run here, two at a time, apart from the threads that serve
#: requests; each (item, audio, format) once, however many requests ask for it meanwhile.
_ENCODES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="transcode")
_encoding: dict[tuple[Any, ...], Future[m.Result]] = {}
_encoding_guard = threading.RLock()  # a done future runs its callback at once, guard held

#: Seconds a client asked to come back after is told to retry.
RETRY_AFTER_S = 5


async def _whole_transcode(engine: Any, settings: Any, item: m.Item, fmt: str) -> m.Result:
    """The item's whole-file transcode: the cached one, or the encode waited for at most
    ``settings.transcode_wait_s``.

    Waiting requests hold no thread, connection or lock: they await the one encode of the
    process (jobs.results.result_locks, by trying, keeps processes apart). Past the wait, a
    503 with Retry-After while the encode goes on; the retry finds the cached file.
    """
    made = await to_thread.run_sync(cached_transcode, engine, item, fmt)
    if made is not None:
        return made
    key = (id(engine), item.id, item.sha1, fmt)
    with _encoding_guard:
        future = _encoding.get(key)
        if future is None:
            wait = settings.transcode_wait_s
            future = _ENCODES.submit(transcode_result, engine, settings, item.id, fmt, wait=wait)
            _encoding[key] = future
            future.add_done_callback(lambda _: _encoding.pop(key, None))
    waiting = asyncio.wrap_future(future)
    waiting.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved
    finished, _ = await asyncio.wait({waiting}, timeout=settings.transcode_wait_s)
    try:
        if finished:
            return waiting.result()
    except LocksBusy:
        pass
    raise HTTPException(
        503,
        "the transcode is still being made: retry shortly",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _result(request: Request) -> Callable[[Session, Viewer], tuple[m.Result, m.Item, str]]:
    """The result (visible with its item), its item and its processor's pid."""

    def load(session: Session, viewer: Viewer) -> tuple[m.Result, m.Item, str]:
        result = get_visible(session, m.Result, request.path_params["id"], viewer)
        item = session.get_one(m.Item, result.item_id)
        query = select(m.Processor.pid).join(m.Preset).where(m.Preset.id == result.preset_id)
        return result, item, session.exec(query).one()

    return load


async def result_file(request: Request) -> Response:
    """The result as HDF5, JSON, YAML, XML, CSV, NPZ, or its product file (PNG, audio)."""
    result, item, pid = await read_visible(request, _result(request))
    settings, _ = app_services(request)
    fmt = request.path_params["fmt"]
    output = request.query_params.get("output") or None
    payload = await _deliver(deliver.result_file, settings.data_dir, result, fmt, output)
    filename = safe_filename(f"{item.title}-{pid}", fmt)
    if payload.path is not None:
        return _file(request, payload.path, payload.media_type, str(result.cache_key), filename)
    disposition = content_disposition("attachment", filename)
    return Response(payload.data, media_type=payload.media_type, headers=disposition)


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise HTTPException(400, f"{name} must be an integer, got {value!r}") from None


async def result_visual(request: Request) -> Response:
    """A picture of the result over a time window, at the requested size."""
    result, item, _ = await read_visible(request, _result(request))
    settings, _ = app_services(request)
    width, height = deliver.DEFAULT_SIZE
    png = await _deliver(
        deliver.visual,
        settings.data_dir,
        result,
        duration=item.audio_duration,
        width=_int_param(request, "width", width),
        height=_int_param(request, "height", height),
        start=_float_param(request, "start"),
        stop=_float_param(request, "stop"),
        output=request.query_params.get("output") or None,
    )
    return Response(png, media_type="image/png")


async def _deliver(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a storage.deliver function in a thread; its errors become 404 and 400."""
    try:
        return await to_thread.run_sync(lambda: func(*args, **kwargs))
    except deliver.Unavailable as exc:
        raise HTTPException(404, str(exc)) from exc
    except deliver.BadRequest as exc:
        raise HTTPException(400, str(exc)) from exc


def _private(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[..., Any]:
    """Browsers may cache what a viewer was allowed to fetch; shared caches may not."""

    async def wrapped(request: Request) -> Response:
        response = await endpoint(request)
        response.headers["cache-control"] = "private"
        return response

    return wrapped


routes: list[BaseRoute] = [
    Route("/media/items/{id:uuid}/source", _private(item_source), methods=["GET", "HEAD"]),
    Route("/media/items/{id:uuid}/audio.{fmt}", _private(item_audio), methods=["GET", "HEAD"]),
    Route("/media/results/{id:uuid}.{fmt}", _private(result_file), methods=["GET", "HEAD"]),
    Route("/media/results/{id:uuid}/visual.png", _private(result_visual), methods=["GET"]),
]
