"""The output formats as data: mime type, extension and codec per format name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class EncodeError(Exception):
    """The audio could not be encoded (unknown format, bad settings, codec failure)."""


@dataclass(frozen=True, kw_only=True)
class AudioFormat:
    """What a client needs to know about an output format, and how ffmpeg produces it."""

    fmt: str
    mime_type: str
    extension: str
    codec: str
    container: str
    sample_rate: int | None = None
    """Forced output rate (Opus works at 48 kHz); None keeps the source rate."""
    max_channels: int = 8
    """More channels than this are downmixed to stereo (LAME encodes at most two)."""
    default_bitrate: int | None = None
    """Bits per second for lossy codecs; None for lossless ones."""
    stream_options: dict[str, str] = field(default_factory=dict)
    """Muxer options when the sink cannot seek."""
    file_options: dict[str, str] = field(default_factory=dict)
    """Muxer options when writing a file."""


FORMATS: dict[str, AudioFormat] = {
    f.fmt: f
    for f in (
        AudioFormat(
            fmt="wav", mime_type="audio/wav", extension="wav", codec="pcm_s16le", container="wav"
        ),
        AudioFormat(
            fmt="flac", mime_type="audio/flac", extension="flac", codec="flac", container="flac"
        ),
        AudioFormat(
            fmt="mp3",
            mime_type="audio/mpeg",
            extension="mp3",
            codec="libmp3lame",
            container="mp3",
            max_channels=2,
            default_bitrate=192_000,
        ),
        AudioFormat(
            fmt="ogg",
            mime_type="audio/ogg",
            extension="ogg",
            codec="vorbis",
            container="ogg",
        ),
        AudioFormat(
            fmt="opus",
            mime_type="audio/ogg",
            extension="opus",
            codec="libopus",
            container="ogg",
            sample_rate=48_000,
            default_bitrate=128_000,
        ),
        AudioFormat(
            fmt="m4a",
            mime_type="audio/mp4",
            extension="m4a",
            codec="aac",
            container="ipod",
            default_bitrate=192_000,
            # a fragment per second: with keyframes alone, audio (all keyframes) was muxed
            # as one fragment written at the end, so nothing streamed before the last byte
            stream_options={
                "movflags": "frag_keyframe+empty_moov+default_base_moof",
                "frag_duration": "1000000",
            },
            file_options={"movflags": "+faststart"},
        ),
        AudioFormat(
            fmt="webm",
            mime_type="audio/webm",
            extension="webm",
            codec="libopus",
            container="webm",
            sample_rate=48_000,
            default_bitrate=128_000,
        ),
    )
}


def get_format(fmt: str) -> AudioFormat:
    """The format for a name or extension ("ogg", "m4a", ...); EncodeError if unknown."""
    try:
        return FORMATS[fmt.lower().lstrip(".")]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise EncodeError(f"unknown audio format {fmt!r} (known: {known})") from None


def format_table() -> list[dict[str, Any]]:
    """The formats as plain data (for the API and the CLI)."""
    return [
        {"format": f.fmt, "mime_type": f.mime_type, "extension": f.extension, "codec": f.codec}
        for f in FORMATS.values()
    ]
