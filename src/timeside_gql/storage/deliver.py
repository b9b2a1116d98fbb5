"""A Result as a file: its HDF5, a serialisation of it, its product (image, audio), a picture.

Pure of HTTP: each function returns what to send (bytes or a file path and a content type) or
raises Unavailable with a message listing what is available; http.media turns that into
responses. Content types: HDF5 ``application/x-hdf5``, NPZ (a ZIP archive)
``application/zip``, YAML ``application/yaml`` (RFC 9512), the product's own type otherwise.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
from PIL import Image

from timeside_gql.core import hdf5, serialize
from timeside_gql.core.graphers import RenderError, render
from timeside_gql.core.graphers.base import png_bytes
from timeside_gql.core.results import AnalyzerResult
from timeside_gql.db.models import Result, ResultStatus
from timeside_gql.storage.files import result_path

MAX_WIDTH = 8192
MAX_HEIGHT = 4096
DEFAULT_SIZE = (1024, 256)

SERIALIZED: dict[str, str] = {
    "json": "application/json",
    "yaml": "application/yaml",
    "xml": "application/xml",
    "csv": "text/csv; charset=utf-8",
    "npz": "application/zip",
}
HDF5_TYPE = "application/x-hdf5"


class Unavailable(LookupError):
    """The result has no such format or output (or is not done): a 404 with the alternatives."""


class BadRequest(ValueError):
    """Parameters out of bounds (image size, time window)."""


@dataclass(frozen=True, slots=True)
class Payload:
    """What to send: bytes, or a file (served with Range), and its content type."""

    media_type: str
    data: bytes | None = None
    path: Path | None = None


def formats(result: Result) -> list[str]:
    """The file formats a done result is available in (extensions)."""
    if result.status != ResultStatus.DONE:
        return []
    available = ["hdf5", *SERIALIZED] if result.hdf5_path else []
    if result.file_path:
        available.append(Path(result.file_path).suffix.lstrip("."))
    return available


def result_file(data_dir: Path, result: Result, fmt: str, output: str | None = None) -> Payload:
    """The result in ``fmt`` (one of :func:`formats`); ``output`` keeps one of its outputs."""
    available = formats(result)
    if fmt not in available:
        if not available:
            raise Unavailable(f"result {result.id} is {result.status.value}, not done")
        raise Unavailable(
            f"result {result.id} has no {fmt!r} file (formats: {', '.join(available)})"
        )
    if result.file_path and fmt == Path(result.file_path).suffix.lstrip("."):
        product = _on_disk(data_dir, result.file_path)
        return Payload(result.mime_type or "application/octet-stream", path=product)
    path = _on_disk(data_dir, result.hdf5_path)
    if fmt == "hdf5" and output is None:
        return Payload(HDF5_TYPE, path=path)
    results = _outputs(path, output)
    if fmt == "hdf5":
        return Payload(HDF5_TYPE, data=_through_file(lambda out: hdf5.write(out, results)))
    if fmt == "csv":
        if len(results) > 1:
            names = ", ".join(r.id for r in results)
            raise BadRequest(f"CSV holds one output: choose it with output= ({names})")
        return Payload(SERIALIZED[fmt], data=serialize.to_csv(results[0]).encode())
    if fmt == "npz":
        return Payload(
            SERIALIZED[fmt], data=_through_file(lambda out: serialize.to_npz(results, out))
        )
    text = {"json": serialize.to_json, "yaml": serialize.to_yaml, "xml": serialize.to_xml}[fmt]
    return Payload(SERIALIZED[fmt], data=text(results).encode())


def visual(
    data_dir: Path,
    result: Result,
    *,
    duration: float | None,
    width: int,
    height: int,
    start: float | None = None,
    stop: float | None = None,
    output: str | None = None,
) -> bytes:
    """A PNG of ``width`` x ``height``: the output drawn over [start, stop], or the result's own
    image cropped to that window (an image spans the item's ``duration``) and resized."""
    _check_size(width, height)
    _check_window(start, stop)
    image_file = result.file_path and (result.mime_type or "").startswith("image/")
    if result.status == ResultStatus.DONE and image_file and output is None:
        return _crop(_on_disk(data_dir, result.file_path), duration, width, height, start, stop)
    if result.status != ResultStatus.DONE or not result.hdf5_path:
        available = ", ".join(formats(result)) or "none"
        raise Unavailable(f"result {result.id} has no data to draw (formats: {available})")
    [first, *_] = _outputs(_on_disk(data_dir, result.hdf5_path), output)
    try:
        return png_bytes(render(first, width, height, start, stop))
    except RenderError as exc:
        raise BadRequest(str(exc)) from exc


def _on_disk(data_dir: Path, relative: str | None) -> Path:
    """The file, or Unavailable: a done row whose file went (deleted by hand, a lost disk), or
    a path outside the results dir."""
    try:
        path = result_path(data_dir, str(relative))
    except FileNotFoundError as exc:
        raise Unavailable(f"the file of this result is unavailable: {exc}") from None
    if not path.is_file():
        raise Unavailable(f"the file of this result is missing: {path.name}")
    return path


def _outputs(path: Path, output: str | None) -> list[AnalyzerResult]:
    """Every output of the file, or the one named ``output``."""
    if output is None:
        return hdf5.read(path)
    with h5py.File(path, "r") as h5:
        names = list(h5)
    if output not in names:
        raise Unavailable(f"no output {output!r} (outputs: {', '.join(names)})")
    return hdf5.read(path, ids=[output])


def _through_file(write: Callable[[Path], object]) -> bytes:
    """Writers that want a path (h5py, numpy): write to a scratch file and read it back."""
    with tempfile.TemporaryDirectory(prefix="timeside-deliver-") as scratch:
        target = Path(scratch) / "out"
        write(target)
        return target.read_bytes()


def _check_size(width: int, height: int) -> None:
    if not (1 <= width <= MAX_WIDTH and 1 <= height <= MAX_HEIGHT):
        raise BadRequest(
            f"image size must be within 1..{MAX_WIDTH} x 1..{MAX_HEIGHT}, got {width}x{height}"
        )


def _check_window(start: float | None, stop: float | None) -> None:
    if start is not None and start < 0:
        raise BadRequest(f"start must be >= 0, got {start}")
    if start is not None and stop is not None and not stop > start:
        raise BadRequest(f"stop ({stop}) must be after start ({start})")


def _crop(
    path: Path,
    duration: float | None,
    width: int,
    height: int,
    start: float | None,
    stop: float | None,
) -> bytes:
    with Image.open(path) as opened:
        image: Image.Image = opened.copy()
    if start is not None or stop is not None:
        if not duration:
            raise BadRequest("the item's duration is unknown: the image cannot be cropped in time")
        left = math.floor((start or 0.0) / duration * image.width)
        right = math.ceil(
            (duration if stop is None else min(stop, duration)) / duration * image.width
        )
        if right <= left:
            raise BadRequest(f"empty time window: start {start} s, stop {stop} s of {duration} s")
        image = image.crop((left, 0, right, image.height))
    return png_bytes(image.resize((width, height), Image.Resampling.LANCZOS))
