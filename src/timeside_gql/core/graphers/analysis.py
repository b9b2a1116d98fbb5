"""Graphers that picture an analyzer's result (TimeSide's DisplayAnalyzer graphers).

The analyzer runs as a parent preset in the same pipeline (shared, deduplicated with any
identical preset); the picture is :func:`~timeside_gql.core.graphers.render.render` of one
of its results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from PIL import Image

from timeside_gql.core.graphers import colors
from timeside_gql.core.graphers.base import (
    Grapher,
    SizeParams,
    color_schema,
    palette_schema,
    size_schema,
)
from timeside_gql.core.graphers.render import render
from timeside_gql.core.params import schema
from timeside_gql.core.processor import Done
from timeside_gql.core.results import AnalyzerResult

_LOOK = {
    "background": color_schema("#ffffff", "background colour"),
    "color": color_schema("#1f3f9f", "colour of lines, marks and bars"),
    "palette": palette_schema(colors.SPECTROGRAM_PALETTE, "colours of matrix images"),
}
_ANALYZER = {"type": "string", "default": "level", "description": "id of the analyzer"}
_ANALYZER_PARAMETERS = {
    "type": "object",
    "default": {},
    "description": "parameters of the analyzer",
}
_RESULT = {
    "type": ["string", "null"],
    "default": None,
    "description": "result id; null: the analyzer's main result",
}


def pick(results: list[AnalyzerResult], wanted: str | None) -> AnalyzerResult:
    """The result ``wanted``, else the first time-varying one, else the first."""
    if not results:
        raise ValueError("the analyzer produced no result")
    if wanted:
        for result in results:
            if result.id == wanted:
                return result
        known = ", ".join(r.id for r in results)
        raise ValueError(f"no result {wanted!r} (has: {known})")
    return next((r for r in results if r.time_mode != "global"), results[0])


@dataclass(frozen=True, slots=True)
class AnalysisParams(SizeParams):
    analyzer_parameters: Mapping[str, Any]
    result: str | None
    background: str
    color: str
    palette: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AnyAnalysisParams(AnalysisParams):
    """Of the grapher that leaves the analyzer to its parameters."""

    analyzer: str


A = TypeVar("A", bound=AnalysisParams)


class AnalyzerGrapher(Grapher[A]):
    """Base: subclasses name the analyzer, or leave it to the ``analyzer`` parameter."""

    analyzer: ClassVar[str | None] = None
    result_id: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        chosen = {"analyzer": _ANALYZER} if cls.analyzer is None else {}
        cls.parameters_schema = schema(
            {
                **chosen,
                "analyzer_parameters": _ANALYZER_PARAMETERS,
                "result": {**_RESULT, "default": cls.result_id},
                **size_schema(),
                **_LOOK,
            }
        )
        super().__init_subclass__(**kwargs)

    def parents(self) -> tuple[tuple[str, Mapping[str, Any]], ...]:
        return ((self._analyzer, self.params.analyzer_parameters),)

    @property
    def _analyzer(self) -> str:
        if self.analyzer is None:
            raise NotImplementedError("a grapher without an analyzer reads its parameter")
        return self.analyzer

    def draw(self, done: Done) -> Image.Image:
        p = self.params
        results = done.results_of(self._analyzer, p.analyzer_parameters)
        return render(
            pick(results, p.result),
            p.width,
            p.height,
            background=p.background,
            foreground=p.color,
            palette=p.palette,
        )


class ResultGrapher(AnalyzerGrapher[AnyAnalysisParams]):
    pid = "analyzer_grapher"
    name = "Analyzer result"
    description = "Picture of any analyzer's result: line, image, marks, spans or bars."

    @property
    def _analyzer(self) -> str:
        return self.params.analyzer


class OnsetDetectionGrapher(AnalyzerGrapher[AnalysisParams]):
    pid = "grapher_onset_detection_function"
    name = "Onset detection"
    description = "The onset detection function over time."
    analyzer = "onset_detection_function"


class LoudnessGrapher(AnalyzerGrapher[AnalysisParams]):
    pid = "grapher_loudness_itu"
    name = "Loudness ITU"
    description = "Loudness (ITU-R BS.1770) over time."
    analyzer = "loudness_itu"


class WaveformAnalyzerGrapher(AnalyzerGrapher[AnalysisParams]):
    pid = "grapher_waveform"
    name = "Waveform from Analyzer"
    description = "The waveform analyzer's peaks."
    analyzer = "waveform_analyzer"


class SpectrogramAnalyzerGrapher(AnalyzerGrapher[AnalysisParams]):
    pid = "spectrogram"
    name = "Linear Spectrogram"
    description = "The spectrogram analyzer's result as an image."
    analyzer = "spectrogram_analyzer"
