"""The processor contract: what an analyzer, grapher or encoder implements.

Extension points (how a new processor plugs in)
-----------------------------------------------
Subclass :class:`Processor` in a module listed in ``registry.PLUGIN_MODULES``; defining
``pid`` on the class registers it. Declare:

* ``pid`` (unique, ``[a-z][a-z0-9_]*``), ``name``, ``version`` (bump when values change),
  ``kind`` (``"analyzer"`` | ``"grapher"`` | ``"encoder"``), ``description``;
* ``parameters_schema``: built with :func:`timeside_gql.core.params.schema` (an object
  schema with defaults and ``additionalProperties: false``); it is the contract the API
  publishes, and the only thing parameters are validated against;
* a frozen dataclass of the same fields, typed (``int`` for ``integer``, ``float`` for
  ``number``, ``Literal[...]`` for an ``enum``, ``tuple[...]`` for an ``array``,
  ``X | None`` for a nullable type, ``Mapping[str, Any]`` for an ``object``), given as the
  type argument: ``class Onsets(Processor[OnsetsParams])``. ``self.params`` is an instance
  of it holding the validated values (a processor without parameters takes
  :class:`~timeside_gql.core.params.NoParameters`); ``self.parameters`` is the canonical
  :class:`~timeside_gql.core.params.Parameters` (values, canonical JSON, hash).
  ``tests/core/test_params.py`` checks that the fields and types match the schema;
* ``outputs``: the :class:`OutputSpec` of every result an analyzer may produce (result id,
  name, unit, data mode, time mode). Graphers and encoders usually declare none.

A processor is built from parameters validated once by
:func:`~timeside_gql.core.params.validate_parameters` (raw settings given to the
constructor are validated there; validated ones are taken as they are).

At run time the pipeline decodes the source once, block by block, and for each block
calls :meth:`Processor.process` with the shared :class:`~timeside_gql.core.context.Context`.
A processor reads only the intermediates it lists in :meth:`Processor.needs` (for example
``Signal(rate=None, mono=False)`` for the native multichannel samples, ``Spectrum(22050,
2048, 512)`` for STFT magnitudes, ``LogMel(...)``, ``OnsetStrength(...)``): each is computed
once per block for every processor that needs it. After the last block (``ctx.eod``),
:meth:`Processor.finish` returns an :class:`Output`:

* analyzers: ``Output(results=[AnalyzerResult, ...])``, built with :meth:`Processor.result`;
  the pipeline adds provenance (processor id/version, parameters and their hash, library
  versions, source sha1, run time);
* graphers: ``Output(artifacts=[Artifact("waveform.png", "image/png", data=png_bytes)])``;
  a grapher that draws analyzer results lists those presets in :meth:`Processor.parents`
  and reads them in ``finish`` with ``done.results_of(pid, params)`` (params as listed);
* encoders: ``Output(artifacts=[Artifact("out.mp3", "audio/mpeg", path=Path(...))])``
  (a file they wrote, e.g. into ``done.workdir``) or ``data=bytes``.

Memory stays bounded when ``process`` keeps only per-block reductions (framewise values,
running sums) and never the whole signal.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from timeside_gql.core.params import (
    NoParameters,
    Parameters,
    ensure_parameters,
    schema,
    typed,
)
from timeside_gql.core.results import (
    AnalyzerResult,
    AudioMetadata,
    DataObject,
    FrameMetadata,
    IdMetadata,
    LabelMetadata,
    now_iso,
)

if TYPE_CHECKING:
    from timeside_gql.core.context import Context, Need

Kind = Literal["analyzer", "grapher", "encoder"]
P = TypeVar("P")
PID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """Describes one result a processor produces."""

    id: str
    name: str
    unit: str = ""
    data_mode: Literal["value", "label"] = "value"
    time_mode: Literal["global", "framewise", "event", "segment"] = "global"


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """The decoded source as processors see it (native rate and channels)."""

    uri: str
    sha1: str
    samplerate: int
    channels: int
    duration: float
    start: float = 0.0
    is_segment: bool = False

    def audio_metadata(self) -> AudioMetadata:
        return AudioMetadata(
            uri=self.uri,
            start=self.start,
            duration=self.duration,
            is_segment=self.is_segment,
            sha1=self.sha1,
            channels=self.channels,
        )


@dataclass(slots=True)
class Artifact:
    """A file-like product: PNG bytes from a grapher, an encoded file from an encoder."""

    name: str
    mime_type: str
    data: bytes | None = None
    path: Path | None = None


@dataclass(slots=True)
class Output:
    results: list[AnalyzerResult] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Parent:
    """A parent preset as ``parents()`` listed it, and its validated parameters."""

    pid: str
    listed: Mapping[str, Any] | None
    parameters: Parameters


@dataclass(slots=True)
class Done:
    """What ``finish`` receives: the source, parent results and a scratch directory."""

    source: SourceInfo
    workdir: Path
    parent_results: Mapping[tuple[str, str], list[AnalyzerResult]] = field(default_factory=dict)
    parents: Sequence[Parent] = ()

    def results_of(self, pid: str, params: Mapping[str, Any] | None = None) -> list[AnalyzerResult]:
        """Results of a parent preset listed in ``parents()`` (params as listed there)."""
        for parent in self.parents:
            if parent.pid == pid and dict(parent.listed or {}) == dict(params or {}):
                return self.parent_results[parent.parameters.key]
        raise KeyError(f"{pid} {dict(params or {})} is not among the parents()")


class Processor(Generic[P]):
    """Base class of every processor; see the module docstring for the contract."""

    pid: ClassVar[str]
    name: ClassVar[str] = ""
    version: ClassVar[str] = "1.0"
    kind: ClassVar[Kind] = "analyzer"
    description: ClassVar[str] = ""
    parameters_schema: ClassVar[dict[str, Any]] = schema({})
    #: the dataclass of ``self.params``: the type argument ``P`` of the class or a base
    parameters_type: ClassVar[type[Any]] = NoParameters
    outputs: ClassVar[tuple[OutputSpec, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):
            concrete = [arg for arg in typing.get_args(base) if isinstance(arg, type)]
            if concrete:
                cls.parameters_type = concrete[0]
        if "pid" in cls.__dict__:
            from timeside_gql.core.registry import register

            register(cls)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.parameters: Parameters = ensure_parameters(type(self), params)
        self.params: P = typed(self.parameters_type, self.parameters)

    def needs(self) -> Sequence[Need]:
        """Intermediates read in :meth:`process`; computed once per block for all processors."""
        return ()

    def parents(self) -> Sequence[tuple[str, Mapping[str, Any]]]:
        """Presets (pid, params) whose results :meth:`finish` reads via ``done.results_of``."""
        return ()

    def process(self, ctx: Context) -> None:
        """Consume one decoded block (``ctx.eod`` is true on the last one)."""

    def finish(self, done: Done) -> Output:
        raise NotImplementedError

    # helpers for analyzers -------------------------------------------------------------
    def spec(self, output_id: str) -> OutputSpec:
        for spec in self.outputs:
            if spec.id == output_id:
                return spec
        raise KeyError(f"{self.pid} declares no output {output_id!r}")

    def result(
        self,
        output_id: str,
        done: Done,
        *,
        frames: tuple[float, int, int] | None = None,
        labels: Mapping[int, str] | None = None,
        **data: Any,
    ) -> AnalyzerResult:
        """Build a result of a declared output; ``frames`` = (samplerate, blocksize, stepsize)."""
        spec = self.spec(output_id)
        obj = DataObject(**data)
        if frames is not None:
            rate, block, step = frames
            obj.frame_metadata = FrameMetadata(float(rate), int(block), int(step))
        if labels is not None:
            obj.label_metadata = LabelMetadata(label=dict(labels))
        return AnalyzerResult(
            data_mode=spec.data_mode,
            time_mode=spec.time_mode,
            id_metadata=IdMetadata(
                id=spec.id,
                name=spec.name,
                unit=spec.unit,
                description=self.description,
                date=now_iso(),
                version=self.version,
            ),
            audio_metadata=done.source.audio_metadata(),
            data_object=obj,
            parameters=self.parameters.to_dict(),
        )


def check_pid(pid: str) -> None:
    if not PID_PATTERN.match(pid):
        raise ValueError(f"processor id {pid!r} must match {PID_PATTERN.pattern}")
