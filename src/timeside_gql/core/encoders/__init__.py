"""Audio encoders: the format table, file and streamed encoding, and the encoder processors."""

from timeside_gql.core.encoders import processors as processors
from timeside_gql.core.encoders.formats import (
    FORMATS,
    AudioFormat,
    EncodeError,
    format_table,
    get_format,
)
from timeside_gql.core.encoders.writers import (
    EncodeSettings,
    encode_chunks,
    encode_file,
    transcode_chunks,
    transcode_file,
)

__all__ = [
    "FORMATS",
    "AudioFormat",
    "EncodeError",
    "EncodeSettings",
    "encode_chunks",
    "encode_file",
    "format_table",
    "get_format",
    "transcode_chunks",
    "transcode_file",
]
