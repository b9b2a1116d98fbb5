"""What every grapher shares: size and colour parameters, and the PNG artifact."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, TypeVar

from PIL import Image

from timeside_gql.core.graphers import colors
from timeside_gql.core.processor import Artifact, Done, Output, Processor

MAX_WIDTH = 16384
MAX_HEIGHT = 4096


def size_schema(width: int = 1024, height: int = 256) -> dict[str, Any]:
    return {
        "width": {"type": "integer", "minimum": 1, "maximum": MAX_WIDTH, "default": width},
        "height": {"type": "integer", "minimum": 1, "maximum": MAX_HEIGHT, "default": height},
    }


def color_schema(default: str, description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": colors.HEX_PATTERN,
        "default": default,
        "description": f"{description} (#rrggbb or #rrggbbaa)",
    }


def palette_schema(default: tuple[str, ...], description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string", "pattern": colors.HEX_PATTERN},
        "minItems": 2,
        "maxItems": 32,
        "default": list(default),
        "description": description,
    }


@dataclass(frozen=True, slots=True)
class SizeParams:
    """What :func:`size_schema` declares."""

    width: int
    height: int


G = TypeVar("G", bound=SizeParams)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Grapher(Processor[G]):
    """A processor whose product is one PNG image, ``<pid>.png``."""

    kind = "grapher"

    def draw(self, done: Done) -> Image.Image:
        raise NotImplementedError

    def finish(self, done: Done) -> Output:
        image = self.draw(done)
        return Output(artifacts=[Artifact(f"{self.pid}.png", "image/png", data=png_bytes(image))])
