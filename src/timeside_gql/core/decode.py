"""Decoding any common audio file to float32 numpy blocks with PyAV (ffmpeg).

Samples are laid out the librosa way: ``(channels, n)`` float32 in [-1, 1].
:func:`iter_blocks` streams a file in blocks so that memory stays bounded on long
recordings; it optionally cuts a ``start``/``duration`` segment, downmixes to mono
and resamples (soxr, streaming). :func:`probe` reads only the container header and
hashes the file in a streamed pass: no audio is decoded.

Every failure on bad input (missing, empty, truncated, corrupt, not audio, bad
segment) raises :class:`DecodeError` with a message meant for a human.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soxr

DEFAULT_BLOCK_SIZE = 1 << 16
_HASH_CHUNK = 1 << 20
# ffmpeg reads 5 MB to guess stream parameters by default (30 ms per file); audio headers
# need far less. PCM demuxers (wav, aiff) hand out 4 KB packets unless told otherwise.
_PROBE = {"probesize": "65536", "max_size": "65536"}

# (container format name, codec name or None for any) -> mime type
_MIME_BY_FORMAT: dict[str, str] = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "mp3": "audio/mpeg",
    "aiff": "audio/aiff",
    "mov,mp4,m4a,3gp,3g2,mj2": "audio/mp4",
    "matroska,webm": "audio/webm",
    "caf": "audio/x-caf",
    "w64": "audio/x-w64",
}
_MAX_PLANES = 8  # AV_NUM_DATA_POINTERS
# sample formats (packed names) numpy converts to float32, and their scale
_NUMPY_SCALES = {"s16": 2.0**-15, "s32": 2.0**-31, "flt": 1.0, "dbl": 1.0}
_AV_ERRORS = (av.FFmpegError, OSError, ValueError, IndexError, RuntimeError, EOFError)


class DecodeError(Exception):
    """The input cannot be decoded as audio (or the requested segment is outside it)."""


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What a cheap probe tells about an audio file."""

    duration: float
    samplerate: int
    channels: int
    codec: str
    mime_type: str
    sha1: str
    size: int


def file_sha1(path: str | os.PathLike[str]) -> str:
    """SHA-1 of the file bytes, read in 1 MiB chunks."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_regular_file(path: Path) -> int:
    """Refuse what is not a non-empty regular file *before* ffmpeg touches it (FIFOs hang)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DecodeError(f"{path}: no such file") from None
    except OSError as exc:
        raise DecodeError(f"{path}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise DecodeError(f"{path}: not a regular file")
    if st.st_size == 0:
        raise DecodeError(f"{path}: empty file")
    return st.st_size


def _open(path: Path) -> tuple[av.container.InputContainer, av.audio.stream.AudioStream]:
    _check_regular_file(path)
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore", options=_PROBE)
    except _AV_ERRORS as exc:
        raise DecodeError(f"{path.name}: not a readable audio file ({_reason(exc)})") from None
    if not container.streams.audio:
        container.close()
        raise DecodeError(f"{path.name}: contains no audio stream")
    stream = container.streams.audio[0]
    codec = stream.codec_context  # None when FFmpeg knows no decoder (e.g. 0 bits per sample)
    if codec is None or not codec.sample_rate or not codec.channels:
        container.close()
        raise DecodeError(f"{path.name}: audio stream without decoder, samplerate or channels")
    return container, stream


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _duration(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    # Header carries no duration (e.g. some raw streams): sum packet durations, no decoding.
    total = Fraction(0)
    for packet in container.demux(stream):
        if packet.duration and packet.time_base:
            total += packet.duration * packet.time_base
    container.seek(0)  # rewind for decoding (e.g. a streamed FLAC without total samples)
    return float(total)


def _mime_type(path: Path, format_name: str, codec: str) -> str:
    if format_name == "matroska,webm" and path.suffix.lower() in {".mka", ".mkv"}:
        return "audio/x-matroska"
    if format_name == "ogg" and codec == "opus" and path.suffix.lower() == ".opus":
        return "audio/ogg"
    mime = _MIME_BY_FORMAT.get(format_name)
    if mime is None:
        guessed, _ = mimetypes.guess_type(path.name)
        mime = guessed or "application/octet-stream"
    return mime


def probe(path: str | os.PathLike[str], *, sha1: str | None = None) -> AudioInfo:
    """Read duration, rate, channels, codec and mime type from the header; hash the file,
    unless the caller passes the ``sha1`` it computed while the bytes streamed in."""
    path = Path(path)
    size = _check_regular_file(path)
    container, stream = _open(path)
    with container:
        ctx = stream.codec_context
        try:
            duration = _duration(container, stream)
        except _AV_ERRORS as exc:
            raise DecodeError(f"{path.name}: unreadable stream ({_reason(exc)})") from None
        codec = ctx.codec.canonical_name if ctx.codec else ctx.name
        samplerate, channels = int(ctx.sample_rate), int(ctx.channels)
        mime_type = _mime_type(path, container.format.name, codec)
    return AudioInfo(
        duration=duration,
        samplerate=samplerate,
        channels=channels,
        codec=codec,
        mime_type=mime_type,
        sha1=sha1 or file_sha1(path),
        size=size,
    )


def _check_segment(path: Path, start: float, duration: float | None, total: float) -> None:
    if start < 0:
        raise DecodeError(f"{path.name}: segment start {start} s is negative")
    if duration is not None and duration <= 0:
        raise DecodeError(f"{path.name}: segment duration {duration} s is not positive")
    if total > 0 and start >= total:
        raise DecodeError(f"{path.name}: segment start {start} s is beyond the end ({total:.3f} s)")


def _native_frames(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream, path: Path
) -> Iterator[tuple[float | None, np.ndarray]]:
    """Yield (start time in s or None, (channels, n) float32) for each decoded frame.

    The usual sample formats (16 and 32-bit integers, float, double; packed or planar) are
    converted by numpy as swresample would (integers times 2^-15 or 2^-31), which costs a
    third of a resampler pass; others go through a resampler to planar float32, except
    beyond 8 channels: PyAV reads planar frames through at most 8 plane pointers and
    crashes on more, so those go through packed float32 and are deinterleaved with numpy.
    """
    ctx = stream.codec_context
    channels = int(ctx.channels)
    layout = ctx.layout.name if ctx.layout and ctx.layout.name else f"{channels}c"
    packed = channels > _MAX_PLANES
    resampler: av.AudioResampler | None = None

    def planar(frame: av.AudioFrame) -> np.ndarray:
        data = frame.to_ndarray()
        return np.ascontiguousarray(data.reshape(-1, channels).T) if packed else data

    try:
        for frame in container.decode(stream):
            converted = _numpy_float(frame, channels)
            if converted is not None:
                yield frame.time, converted
                continue
            if resampler is None:
                resampler = av.AudioResampler(
                    format="flt" if packed else "fltp", layout=layout, rate=ctx.sample_rate
                )
            start = frame.time  # seconds, None without pts
            for resampled in resampler.resample(frame):
                yield start, planar(resampled)
                start = None
        for resampled in resampler.resample(None) if resampler else ():
            yield None, planar(resampled)
    except _AV_ERRORS as exc:
        raise DecodeError(f"{path.name}: corrupt audio data ({_reason(exc)})") from None


def _numpy_float(frame: av.AudioFrame, channels: int) -> np.ndarray | None:
    """``frame`` as (channels, n) float32 in [-1, 1], or None for formats left to swresample."""
    fmt = frame.format
    scale = _NUMPY_SCALES.get(fmt.name[:-1] if fmt.is_planar else fmt.name)
    if scale is None or (fmt.is_planar and channels > _MAX_PLANES):
        return None
    data = frame.to_ndarray()
    if not fmt.is_planar:
        data = data.reshape(-1, channels).T
    elif data.dtype == np.float32:
        return data  # (mp3, aac, vorbis, opus) already what the resampler would give
    return np.multiply(data, np.float32(scale), dtype=np.float32, order="C")


def _segment_samples(
    frames: Iterator[tuple[float | None, np.ndarray]], sr: int, start: float, duration: float | None
) -> Iterator[np.ndarray]:
    """Cut [start, start + duration) out of the frame stream, using pts when known."""
    first = round(start * sr)
    stop = None if duration is None else first + round(duration * sr)
    position: int | None = None
    for pts, data in frames:
        if pts is not None and (position is None or start > 0):
            position = round(pts * sr)
        if position is None:
            position = 0
        lo, hi = position, position + data.shape[1]
        position = hi
        if hi <= first:
            continue
        if stop is not None and lo >= stop:
            return
        cut_lo = max(first - lo, 0)
        cut_hi = data.shape[1] if stop is None else min(stop - lo, data.shape[1])
        yield data[:, cut_lo:cut_hi]


def _rechunk(pieces: Iterator[np.ndarray], block_size: int) -> Iterator[np.ndarray]:
    """Pieces copied once into C-contiguous blocks of ``block_size`` (the last one shorter),
    so that every consumer reads them as one run of memory per channel."""
    block: np.ndarray | None = None
    filled = 0
    for piece in pieces:
        used = 0
        while used < piece.shape[-1]:
            if block is None:
                block = np.empty((*piece.shape[:-1], block_size), piece.dtype)
            take = min(block_size - filled, piece.shape[-1] - used)
            block[..., filled : filled + take] = piece[..., used : used + take]
            filled += take
            used += take
            if filled == block_size:
                yield block
                block, filled = None, 0
    if block is not None and filled:
        yield np.ascontiguousarray(block[..., :filled])


def _convert(
    blocks: Iterator[np.ndarray], in_sr: int, out_sr: int, mono: bool
) -> Iterator[np.ndarray]:
    """Downmix (channel mean) then resample with a streaming soxr resampler."""
    resampler: soxr.ResampleStream | None = None
    channels = 1
    for block in blocks:
        data = block.mean(axis=0, keepdims=True, dtype=np.float32) if mono else block
        if out_sr == in_sr:
            yield data
            continue
        if resampler is None:
            channels = data.shape[0]
            resampler = soxr.ResampleStream(in_sr, out_sr, channels, dtype="float32")
        out = resampler.resample_chunk(np.ascontiguousarray(data.T), last=False)
        if len(out):
            yield np.ascontiguousarray(out.T).reshape(channels, -1)
    if resampler is not None:
        tail = resampler.resample_chunk(np.zeros((0, channels), np.float32), last=True)
        if len(tail):
            yield np.ascontiguousarray(tail.T).reshape(channels, -1)


@dataclass(frozen=True, slots=True)
class StreamFormat:
    """The format :func:`iter_blocks` yields: output rate and channel count."""

    samplerate: int
    channels: int
    duration: float


def open_blocks(
    path: str | os.PathLike[str],
    *,
    start: float = 0.0,
    duration: float | None = None,
    samplerate: int | None = None,
    mono: bool = False,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> tuple[StreamFormat, Iterator[np.ndarray]]:
    """Open ``path`` eagerly (errors raise here) and return its format and a block iterator.

    Blocks are ``(channels, block_size)`` float32 except the last, shorter one. The stated
    duration is the header's (segment-clipped); the decoded count may differ slightly for
    lossy codecs.
    """
    path = Path(path)
    container, stream = _open(path)
    try:
        total = _duration(container, stream)
        _check_segment(path, start, duration, total)
        if start > 0 and stream.time_base:
            container.seek(int(start / stream.time_base), stream=stream, backward=True)
    except DecodeError:
        container.close()
        raise
    except _AV_ERRORS as exc:
        container.close()
        raise DecodeError(f"{path.name}: unreadable stream ({_reason(exc)})") from None
    in_sr = int(stream.codec_context.sample_rate)
    out_sr = int(samplerate or in_sr)
    available = max(total - start, 0.0)
    fmt = StreamFormat(
        samplerate=out_sr,
        channels=1 if mono else int(stream.codec_context.channels),
        duration=available if duration is None else min(duration, available),
    )
    pieces = _segment_samples(_native_frames(container, stream, path), in_sr, start, duration)
    blocks = _rechunk(_convert(pieces, in_sr, out_sr, mono), block_size)
    return fmt, _closing(path, container, blocks)


def _closing(
    path: Path, container: av.container.InputContainer, blocks: Iterator[np.ndarray]
) -> Iterator[np.ndarray]:
    """Yield ``blocks``, close the file at the end, and refuse a stream without samples."""
    produced = 0
    with container:
        for block in blocks:
            produced += block.shape[-1]
            yield block
    if produced == 0:
        raise DecodeError(f"{path.name}: no audio samples could be decoded")


def iter_blocks(
    path: str | os.PathLike[str],
    *,
    start: float = 0.0,
    duration: float | None = None,
    samplerate: int | None = None,
    mono: bool = False,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> Iterator[np.ndarray]:
    """Stream ``path`` as float32 ``(channels, n)`` blocks; see :func:`open_blocks`."""
    _, blocks = open_blocks(
        path,
        start=start,
        duration=duration,
        samplerate=samplerate,
        mono=mono,
        block_size=block_size,
    )
    return blocks


def load(
    path: str | os.PathLike[str],
    *,
    start: float = 0.0,
    duration: float | None = None,
    samplerate: int | None = None,
    mono: bool = False,
) -> tuple[np.ndarray, int]:
    """Decode a whole file (or segment) into one ``(channels, n)`` array and its rate."""
    fmt, blocks = open_blocks(
        path, start=start, duration=duration, samplerate=samplerate, mono=mono
    )
    return np.concatenate(list(blocks), axis=-1), fmt.samplerate
