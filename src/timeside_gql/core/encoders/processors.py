"""Encoders as pipeline processors (TimeSide's ids): transcode while the analyzers run.

Each block of native samples is encoded as it passes, into a scratch file; ``finish`` moves
the finished file into the run's work directory under ``<pid>.<ext>``. ``start``/``stop``
(seconds into the decoded source) cut a segment.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from timeside_gql.core.context import Context, Need, Signal
from timeside_gql.core.encoders.formats import EncodeError, get_format
from timeside_gql.core.encoders.writers import EncodeSettings, Writer, open_writer
from timeside_gql.core.params import schema
from timeside_gql.core.processor import Artifact, Done, Output, Processor

_NATIVE = Signal(None, mono=False)
_SEGMENT = {
    "start": {"type": "number", "minimum": 0, "default": 0, "description": "seconds"},
    "stop": {
        "type": ["number", "null"],
        "exclusiveMinimum": 0,
        "default": None,
        "description": "seconds; null: to the end",
    },
}


def _bitrate(low: int, high: int, default: int) -> dict[str, Any]:
    return {
        "bitrate": {
            "type": "integer",
            "minimum": low,
            "maximum": high,
            "default": default,
            "description": "kbit/s",
        }
    }


@dataclass(frozen=True, slots=True)
class SegmentParams:
    """What every encoder takes (``_SEGMENT``); subclasses add their codec's settings."""

    start: float
    stop: float | None

    def codec(self, settings: EncodeSettings) -> EncodeSettings:
        """``settings`` with this format's options set."""
        return settings


@dataclass(frozen=True, slots=True)
class BitrateParams(SegmentParams):
    bitrate: int

    def codec(self, settings: EncodeSettings) -> EncodeSettings:
        return replace(settings, bitrate=self.bitrate * 1000)


@dataclass(frozen=True, slots=True)
class FlacParams(SegmentParams):
    compression_level: int

    def codec(self, settings: EncodeSettings) -> EncodeSettings:
        return replace(settings, compression_level=self.compression_level)


@dataclass(frozen=True, slots=True)
class VorbisParams(SegmentParams):
    quality: float

    def codec(self, settings: EncodeSettings) -> EncodeSettings:
        return replace(settings, quality=self.quality)


S = TypeVar("S", bound=SegmentParams)


class Encoder(Processor[S]):
    """Base of the encoder processors; subclasses name a format and their parameters."""

    kind = "encoder"
    fmt: ClassVar[str]

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._writer: Writer | None = None
        self._written = 0

    def needs(self) -> tuple[Need, ...]:
        return (_NATIVE,)

    def settings(self, ctx: Context) -> EncodeSettings:
        return self.params.codec(EncodeSettings(samplerate=ctx.samplerate, channels=ctx.channels))

    def process(self, ctx: Context) -> None:
        if self._writer is None:
            # a TemporaryDirectory is removed when collected, even if finish never runs
            self._scratch = tempfile.TemporaryDirectory(prefix="timeside-encode-")
            target = os.path.join(self._scratch.name, "partial")
            self._writer = open_writer(target, get_format(self.fmt), self.settings(ctx))
        block = self._segment(ctx.get(_NATIVE).data, ctx)
        if block.shape[-1]:
            self._writer.write(np.ascontiguousarray(block, dtype=np.float32))
            self._written += block.shape[-1]

    def _segment(self, data: np.ndarray, ctx: Context) -> np.ndarray:
        first = round(self.params.start * ctx.samplerate) - ctx.position
        stop = self.params.stop
        last = data.shape[-1] if stop is None else round(stop * ctx.samplerate) - ctx.position
        return data[:, max(first, 0) : max(min(last, data.shape[-1]), 0)]

    def finish(self, done: Done) -> Output:
        if self._writer is None or self._scratch is None:
            raise EncodeError("no audio was decoded")
        self._writer.close()
        try:
            if not self._written:
                start, stop = self.params.start, self.params.stop
                raise EncodeError(f"empty segment: {start}..{stop} s holds no audio")
            spec = get_format(self.fmt)
            dest = Path(done.workdir) / f"{self.pid}.{spec.extension}"
            partial = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
            shutil.move(os.path.join(self._scratch.name, "partial"), partial)
            os.replace(partial, dest)
        finally:
            self._scratch.cleanup()
        return Output(artifacts=[Artifact(dest.name, spec.mime_type, path=dest)])


class WavEncoder(Encoder[SegmentParams]):
    pid = "wav_encoder"
    name = "WAV encoder"
    fmt = "wav"
    description = "16-bit PCM WAV."
    parameters_schema = schema(_SEGMENT)


class FlacEncoder(Encoder[FlacParams]):
    pid = "flac_encoder"
    name = "FLAC encoder"
    fmt = "flac"
    description = "Lossless FLAC, 16 bits."
    parameters_schema = schema(
        {
            **_SEGMENT,
            "compression_level": {"type": "integer", "minimum": 0, "maximum": 12, "default": 5},
        }
    )


class Mp3Encoder(Encoder[BitrateParams]):
    pid = "mp3_encoder"
    name = "MP3 encoder"
    fmt = "mp3"
    description = "MPEG-1 Layer III (LAME), constant bitrate."
    parameters_schema = schema({**_SEGMENT, **_bitrate(32, 320, 192)})


class VorbisEncoder(Encoder[VorbisParams]):
    pid = "vorbis_encoder"
    name = "Ogg Vorbis encoder"
    fmt = "ogg"
    description = "Vorbis in Ogg (libvorbis), variable bitrate."
    parameters_schema = schema(
        {
            **_SEGMENT,
            "quality": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.9},
        }
    )


class OpusEncoder(Encoder[BitrateParams]):
    pid = "opus_encoder"
    name = "Opus encoder"
    fmt = "opus"
    description = "Opus in Ogg at 48 kHz."
    parameters_schema = schema({**_SEGMENT, **_bitrate(6, 510, 128)})


class AacEncoder(Encoder[BitrateParams]):
    pid = "aac_encoder"
    name = "AAC encoder"
    fmt = "m4a"
    description = "AAC-LC in an MP4 (.m4a) file."
    parameters_schema = schema({**_SEGMENT, **_bitrate(32, 512, 192)})


class WebmEncoder(Encoder[BitrateParams]):
    pid = "webm_encoder"
    name = "WebM encoder"
    fmt = "webm"
    description = "Opus in WebM at 48 kHz, for browsers."
    parameters_schema = schema({**_SEGMENT, **_bitrate(6, 510, 128)})
