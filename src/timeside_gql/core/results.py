"""TimeSide's result model: data mode x time mode, metadata sections, provenance.

A result's payload lives in :class:`DataObject`; which of its fields are meaningful
depends on the modes (TimeSide's eight data-object classes)::

    time_mode   value mode                       label mode (+ label_metadata)
    global      value, y_value                   label
    framewise   value, y_value, frame_metadata   label, frame_metadata
    event       value, y_value, time             label, time
    segment     value, y_value, time, duration   label, time, duration

Differences from TimeSide, on purpose: framewise times are frame *centres*
(``t * stepsize / samplerate``: the analyzers pad by half a frame, librosa's ``center=True``),
label-metadata keys stay integers, and every result carries a ``provenance`` section.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np

DataMode = Literal["value", "label"]
TimeMode = Literal["global", "framewise", "event", "segment"]
DATA_MODES: tuple[str, ...] = ("value", "label")
TIME_MODES: tuple[str, ...] = ("global", "framewise", "event", "segment")
ALLOWED_DTYPES = frozenset(
    np.dtype(t) for t in ("float64", "float32", "int64", "int32", "int16", "int8")
) | frozenset(np.dtype(t) for t in ("uint64", "uint32", "uint16", "uint8", "bool"))


@dataclass(slots=True)
class IdMetadata:
    id: str = ""
    name: str = ""
    unit: str = ""
    description: str = ""
    date: str = ""
    version: str = ""
    author: str = "timeside-gql"
    proc_uuid: str = ""


@dataclass(slots=True)
class AudioMetadata:
    uri: str = ""
    start: float = 0.0
    duration: float | None = None
    is_segment: bool = False
    sha1: str = ""
    channels: int | None = None
    channelsManagement: str = ""


@dataclass(slots=True)
class FrameMetadata:
    samplerate: float | None = None
    blocksize: int | None = None
    stepsize: int | None = None


@dataclass(slots=True)
class LabelMetadata:
    label: dict[int, str] = field(default_factory=dict)
    description: dict[int, str] = field(default_factory=dict)
    label_type: Literal["mono", "multi"] = "mono"


def _empty() -> np.ndarray:
    return np.zeros(0, np.float64)


def as_value_array(value: Any) -> np.ndarray:
    """Coerce like TimeSide: scalars become shape (1,); dtypes outside the allowed set fail."""
    array = np.asarray(value if value is not None else [])
    if array.dtype == np.dtype(object) or array.dtype not in ALLOWED_DTYPES:
        if array.size == 0:
            return _empty()
        raise TypeError(f"unsupported result dtype {array.dtype}; strings must be labels")
    return array.reshape(1) if array.ndim == 0 else array


def _floats(value: Any) -> np.ndarray:
    return np.asarray(value if value is not None else [], dtype=np.float64).reshape(-1)


@dataclass(slots=True, eq=False)
class DataObject:
    value: np.ndarray = field(default_factory=_empty)
    y_value: np.ndarray = field(default_factory=_empty)
    label: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    time: np.ndarray = field(default_factory=_empty)
    duration: np.ndarray = field(default_factory=_empty)
    frame_metadata: FrameMetadata = field(default_factory=FrameMetadata)
    label_metadata: LabelMetadata = field(default_factory=LabelMetadata)

    def __post_init__(self) -> None:
        self.value = as_value_array(self.value)
        self.y_value = _floats(self.y_value)
        self.label = np.asarray(self.label if self.label is not None else [], np.int64).reshape(-1)
        self.time = _floats(self.time)
        self.duration = _floats(self.duration)


def data_keys(data_mode: str, time_mode: str) -> tuple[str, ...]:
    """The DataObject fields that a (data_mode, time_mode) result carries, in TimeSide order."""
    keys: tuple[str, ...] = ("value", "y_value") if data_mode == "value" else ("label",)
    if data_mode == "label":
        keys += ("label_metadata",)
    return (
        keys
        + {
            "global": (),
            "framewise": ("frame_metadata",),
            "event": ("time",),
            "segment": ("time", "duration"),
        }[time_mode]
    )


@dataclass(slots=True, eq=False)
class AnalyzerResult:
    """One output of one analyzer run on one audio source."""

    data_mode: DataMode
    time_mode: TimeMode
    id_metadata: IdMetadata = field(default_factory=IdMetadata)
    audio_metadata: AudioMetadata = field(default_factory=AudioMetadata)
    data_object: DataObject = field(default_factory=DataObject)
    parameters: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.data_mode not in DATA_MODES:
            raise ValueError(f"data_mode must be one of {DATA_MODES}, not {self.data_mode!r}")
        if self.time_mode not in TIME_MODES:
            raise ValueError(f"time_mode must be one of {TIME_MODES}, not {self.time_mode!r}")

    @property
    def id(self) -> str:
        return self.id_metadata.id

    @property
    def name(self) -> str:
        return self.id_metadata.name

    @property
    def unit(self) -> str:
        return self.id_metadata.unit

    @property
    def data(self) -> np.ndarray:
        return self.data_object.value if self.data_mode == "value" else self.data_object.label

    def __len__(self) -> int:
        return len(self.data)

    @property
    def time(self) -> np.ndarray | float:
        """Absolute times in the source: frame centres, event or segment starts."""
        start = self.audio_metadata.start
        if self.time_mode == "global":
            return start
        if self.time_mode == "framewise":
            fm = self.data_object.frame_metadata
            return start + np.arange(len(self)) * (fm.stepsize or 0) / (fm.samplerate or 1)
        return start + self.data_object.time

    @property
    def duration(self) -> np.ndarray | float | None:
        if self.time_mode == "global":
            return self.audio_metadata.duration
        if self.time_mode == "framewise":
            fm = self.data_object.frame_metadata
            return np.full(len(self), (fm.blocksize or 0) / (fm.samplerate or 1))
        if self.time_mode == "event":
            return np.zeros(len(self))
        return self.data_object.duration

    def as_dict(self) -> dict[str, Any]:
        """Plain nested dict (arrays stay numpy): the basis of every serialiser."""
        data = {key: _plain(getattr(self.data_object, key)) for key in data_keys(*self.modes)}
        return {
            "id_metadata": _plain(self.id_metadata),
            "data_object": data,
            "audio_metadata": _plain(self.audio_metadata),
            "parameters": dict(self.parameters),
            "provenance": dict(self.provenance),
            "data_mode": self.data_mode,
            "time_mode": self.time_mode,
        }

    @property
    def modes(self) -> tuple[str, str]:
        return self.data_mode, self.time_mode

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalyzerResult:
        obj = dict(data["data_object"])
        if "frame_metadata" in obj:
            obj["frame_metadata"] = FrameMetadata(**obj["frame_metadata"])
        if "label_metadata" in obj:
            lm = dict(obj["label_metadata"])
            for key in ("label", "description"):
                lm[key] = {int(k): str(v) for k, v in (lm.get(key) or {}).items()}
            obj["label_metadata"] = LabelMetadata(**lm)
        return cls(
            data_mode=data["data_mode"],
            time_mode=data["time_mode"],
            id_metadata=IdMetadata(**data.get("id_metadata", {})),
            audio_metadata=AudioMetadata(**data.get("audio_metadata", {})),
            data_object=DataObject(**obj),
            parameters=dict(data.get("parameters", {})),
            provenance=dict(data.get("provenance", {})),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnalyzerResult) and _deep_equal(self.as_dict(), other.as_dict())

    __hash__ = None  # type: ignore[assignment]


def _plain(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def _deep_equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
