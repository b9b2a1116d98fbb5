"""Audio encoders: float32 ``(channels, n)`` blocks in, a file or a stream of byte chunks out.

Every format goes through PyAV (ffmpeg) except Ogg/Vorbis: ffmpeg's own Vorbis encoder is
experimental and stereo-only, and libvorbis is not in the PyAV wheels, so Vorbis goes
through libsndfile (soundfile), which links libvorbis.

Two outputs share one writer per format:
- a file, written to a temporary name beside the target and renamed, so readers never see a
  half file; a seekable target lets muxers finish their headers (WAV sizes, MP3 gapless
  info, MP4 index moved to the front);
- an iterator of byte chunks for HTTP responses; the muxer sees a non-seekable sink and the
  formats that need it are made streamable (fragmented MP4).
"""

from __future__ import annotations

import contextlib
import math
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

import av
import numpy as np
import soundfile as sf

from timeside_gql.core.decode import StreamFormat, open_blocks
from timeside_gql.core.encoders.formats import AudioFormat, EncodeError, get_format

CHUNK_SIZE = 64 * 1024
"""Bytes gathered before a chunk is yielded: few syscalls, bounded latency."""

#: Shortest audio handed to a codec: longer than any codec's frame (Opus 20 ms, AAC 1024
#: samples), since an encoder given less emits no packet and no file would be written.
MIN_SECONDS = 0.05
_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


@dataclass(frozen=True, kw_only=True)
class EncodeSettings:
    """Per-run settings of one encode; bitrate in bits/s, quality in 0..1 (Vorbis)."""

    samplerate: int
    channels: int
    bitrate: int | None = None
    quality: float | None = None
    compression_level: int | None = None


class Writer(Protocol):
    """An open encoder: blocks in, then close (or abort on failure)."""

    def write(self, block: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class _ChunkSink:
    """A write-only file object: what the muxer writes waits here until drained."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.pending = 0
        self._position = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.pending += len(data)
        self._position += len(data)
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.pending = 0
        return data


class _SeekableChunkSink(_ChunkSink):
    """libsndfile insists on seek/tell even for append-only Ogg; only no-op seeks are allowed."""

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = offset if whence == os.SEEK_SET else self._position + offset
        if target != self._position:
            raise EncodeError("this format needs a seekable output and cannot be streamed")
        return self._position

    def read(self, size: int = -1) -> bytes:
        return b""


class _PyAVWriter:
    def __init__(self, target: str | _ChunkSink, spec: AudioFormat, settings: EncodeSettings):
        streaming = not isinstance(target, str)
        options = spec.stream_options if streaming else spec.file_options
        in_layout = _LAYOUTS.get(settings.channels)
        if in_layout is None:
            raise EncodeError(f"cannot encode {settings.channels} channels")
        self._in_layout = in_layout
        self._samplerate = settings.samplerate
        self._channels = settings.channels
        self._written = 0
        try:
            self._container = av.open(target, "w", format=spec.container, options=dict(options))
            self._stream = cast(
                av.AudioStream,
                self._container.add_stream(
                    spec.codec,
                    rate=spec.sample_rate or settings.samplerate,
                    layout=in_layout if settings.channels <= spec.max_channels else "stereo",
                ),
            )
            context = self._stream.codec_context
            bitrate = settings.bitrate or spec.default_bitrate
            if bitrate:
                context.bit_rate = bitrate
            if settings.compression_level is not None:
                context.options = {"compression_level": str(settings.compression_level)}
        except (av.FFmpegError, ValueError) as exc:
            raise EncodeError(f"cannot start {spec.fmt} encoder: {exc}") from exc

    def write(self, block: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=self._in_layout)
        frame.sample_rate = self._samplerate
        self._mux(frame)
        self._written += block.shape[-1]

    def close(self) -> None:
        short = math.ceil(MIN_SECONDS * self._samplerate) - self._written
        if short > 0:  # a few samples: pad with silence to one codec frame
            self.write(np.zeros((self._channels, short), dtype=np.float32))
        self._mux(None)
        self._container.close()

    def abort(self) -> None:
        with contextlib.suppress(av.FFmpegError, OSError):
            self._container.close()

    def _mux(self, frame: av.AudioFrame | None) -> None:
        try:
            self._container.mux(self._stream.encode(frame))
        except av.FFmpegError as exc:
            raise EncodeError(f"encoding failed: {exc}") from exc


class _VorbisWriter:
    def __init__(self, target: str | _ChunkSink, spec: AudioFormat, settings: EncodeSettings):
        quality = 0.9 if settings.quality is None else settings.quality
        try:
            self._file = sf.SoundFile(
                target,
                "w",
                samplerate=settings.samplerate,
                channels=settings.channels,
                format="OGG",
                subtype="VORBIS",
                compression_level=1.0 - quality,
            )
        except (sf.LibsndfileError, ValueError, TypeError) as exc:
            raise EncodeError(f"cannot start {spec.fmt} encoder: {exc}") from exc

    def write(self, block: np.ndarray) -> None:
        self._file.write(block.T)

    def close(self) -> None:
        self._file.close()

    def abort(self) -> None:
        self._file.close()


def open_writer(target: str | _ChunkSink, spec: AudioFormat, settings: EncodeSettings) -> Writer:
    if spec.codec == "vorbis":
        return _VorbisWriter(target, spec, settings)
    return _PyAVWriter(target, spec, settings)


def _as_planes(block: np.ndarray, channels: int) -> np.ndarray:
    """Blocks are (channels, n) like the decoder's; a 1-D block is mono."""
    block = np.ascontiguousarray(np.atleast_2d(block), dtype=np.float32)
    if block.shape[0] != channels:
        raise EncodeError(f"block has {block.shape[0]} channels, expected {channels}")
    return block


def encode_chunks(
    blocks: Iterable[np.ndarray],
    fmt: str,
    settings: EncodeSettings,
    *,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[bytes]:
    """Encode (channels, n) float blocks into an iterator of byte chunks.

    The encoder starts here, so bad settings raise before the first chunk (before an HTTP
    response has begun); closing the iterator early (a client hanging up) releases it.
    """
    spec = get_format(fmt)
    sink = _SeekableChunkSink() if spec.codec == "vorbis" else _ChunkSink()
    writer = open_writer(sink, spec, settings)
    return _chunks(writer, sink, blocks, settings.channels, chunk_size)


def _chunks(
    writer: Writer, sink: _ChunkSink, blocks: Iterable[np.ndarray], channels: int, size: int
) -> Iterator[bytes]:
    try:
        for block in blocks:
            writer.write(_as_planes(block, channels))
            if sink.pending >= size:
                yield sink.drain()
        writer.close()
    except BaseException:
        writer.abort()
        raise
    if sink.pending:
        yield sink.drain()


def encode_file(
    blocks: Iterable[np.ndarray], path: str | os.PathLike[str], fmt: str, settings: EncodeSettings
) -> Path:
    """Encode to `path` atomically: a temporary sibling renamed into place once complete."""
    spec = get_format(fmt)
    path = Path(path)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        writer = open_writer(str(partial), spec, settings)
        try:
            for block in blocks:
                writer.write(_as_planes(block, settings.channels))
            writer.close()
        except BaseException:
            writer.abort()
            raise
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _open_source(
    source: str | os.PathLike[str], start: float, stop: float | None
) -> tuple[StreamFormat, Iterator[np.ndarray]]:
    duration = None if stop is None else stop - start
    return open_blocks(source, start=start, duration=duration)


def transcode_chunks(
    source: str | os.PathLike[str],
    fmt: str,
    *,
    start: float = 0.0,
    stop: float | None = None,
    bitrate: int | None = None,
    quality: float | None = None,
) -> Iterator[bytes]:
    """Stream ``source[start:stop]`` (seconds) re-encoded as ``fmt``; errors raise here."""
    stream, blocks = _open_source(source, start, stop)
    settings = EncodeSettings(
        samplerate=stream.samplerate, channels=stream.channels, bitrate=bitrate, quality=quality
    )
    return encode_chunks(blocks, fmt, settings)


def transcode_file(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    start: float = 0.0,
    stop: float | None = None,
    bitrate: int | None = None,
    quality: float | None = None,
) -> Path:
    """Write ``source[start:stop]`` to ``dest`` atomically; the format defaults to its suffix."""
    fmt = fmt or Path(dest).suffix
    get_format(fmt)
    stream, blocks = _open_source(source, start, stop)
    settings = EncodeSettings(
        samplerate=stream.samplerate, channels=stream.channels, bitrate=bitrate, quality=quality
    )
    return encode_file(blocks, dest, fmt, settings)
