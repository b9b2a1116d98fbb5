"""URL fields of items and results: where a player or a page fetches audio, files and pictures.

``<audio>`` and ``<img>`` cannot send an Authorization header, so each URL carries a fresh
signature for the viewer who asked (services.signing); it stays valid TIMESIDE_MEDIA_URL_TTL_S
seconds. The URLs are absolute, built on the request's base URL, so a page on another origin
can use them too. A field is null when there is nothing to fetch (no audio yet, result not
done, no file in that format).
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import strawberry
from starlette.requests import HTTPConnection
from strawberry import Info

from timeside_gql.core.encoders import FORMATS
from timeside_gql.db.models import ResultStatus
from timeside_gql.services.signing import signed_url

_HTTP_OF = {"ws": "http", "wss": "https"}

# one value per encoder format, so a new format reaches the schema without an edit here
AudioFormat = enum.Enum("AudioFormat", {fmt.upper(): fmt for fmt in FORMATS})  # type: ignore[misc]
strawberry.enum(
    AudioFormat, description="Audio formats of transcoded streams (the encoder formats)."
)


@strawberry.enum(description="How to download a result.")
class ResultFormat(enum.Enum):
    HDF5 = "hdf5"
    JSON = "json"
    YAML = "yaml"
    XML = "xml"
    CSV = "csv"
    NPZ = "npz"
    FILE = strawberry.enum_value("file", description="The product: a PNG image, an audio file.")


def field(resolver: Callable[..., str | None]) -> Any:
    """A field of ``resolver`` described by its docstring."""
    return strawberry.field(resolver=resolver, description=inspect.getdoc(resolver))


def base_url(conn: HTTPConnection) -> str:
    """Where the app is reached over HTTP, also when asked over a WebSocket (subscriptions)."""
    base = conn.base_url
    if base.scheme in _HTTP_OF:
        base = base.replace(scheme=_HTTP_OF[base.scheme])
    return str(base).rstrip("/")


def _url(info: Info, path: str, **params: object) -> str:
    context = info.context
    prefix = base_url(context.request)
    return signed_url(context.settings, path, context.viewer, params, prefix=prefix)


def _has_audio(item: Any) -> bool:
    return bool(item.source_file and item.sha1)


def stream_url(root: strawberry.Parent[Any], info: Info) -> str | None:
    """Signed URL of the original file, served with HTTP Range; null without audio."""
    return _url(info, f"/media/items/{root.id}/source") if _has_audio(root) else None


def audio_url(
    root: strawberry.Parent[Any],
    info: Info,
    format: AudioFormat,  # type: ignore[valid-type]
    start: float | None = None,
    stop: float | None = None,
) -> str | None:
    """Signed URL of the audio transcoded; with start/stop (seconds) only that segment,
    streamed as it encodes."""
    if not _has_audio(root):
        return None
    path = f"/media/items/{root.id}/audio.{format.value}"  # type: ignore[attr-defined]
    return _url(info, path, start=start, stop=stop)


def file_url(
    root: strawberry.Parent[Any],
    info: Info,
    format: ResultFormat | None = None,
    output: str | None = None,
) -> str | None:
    """Signed URL of the result as a file: FILE is its product (the default when it has one,
    else HDF5); output keeps one of its outputs (CSV holds exactly one). Null if not done."""
    if root.status != ResultStatus.DONE:
        return None
    fmt = format or (ResultFormat.FILE if root.file_path else ResultFormat.HDF5)
    if fmt == ResultFormat.FILE:
        if not root.file_path:
            return None
        return _url(info, f"/media/results/{root.id}{Path(root.file_path).suffix}")
    if not root.hdf5_path:
        return None
    return _url(info, f"/media/results/{root.id}.{fmt.value}", output=output)


def visual_url(
    root: strawberry.Parent[Any],
    info: Info,
    start: float | None = None,
    stop: float | None = None,
    width: int | None = None,
    height: int | None = None,
    output: str | None = None,
) -> str | None:
    """Signed URL of a PNG of the result over [start, stop] seconds: an output drawn, or its
    image cropped and scaled to width x height."""
    if root.status != ResultStatus.DONE:
        return None
    params = {"start": start, "stop": stop, "width": width, "height": height, "output": output}
    return _url(info, f"/media/results/{root.id}/visual.png", **params)
