"""HDF5 storage of results, TimeSide's layout (see docs/results.md), written atomically.

The file is written under a temporary name in the target directory and renamed over the
target, so readers never see a half-written file. Arrays keep dtype and shape; datasets
of 1024 elements or more are chunked and gzip-compressed. Parameters and provenance are
stored both as one attribute per key (TimeSide readers) and as canonical JSON in the
``__json__`` attribute, which :func:`read` uses so nested values round-trip exactly.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from timeside_gql.core.results import (
    AnalyzerResult,
    AudioMetadata,
    DataObject,
    FrameMetadata,
    IdMetadata,
    LabelMetadata,
    data_keys,
)

_COMPRESS_FROM = 1024
_JSON_ATTR = "__json__"
_ARRAYS = ("value", "y_value", "label", "time", "duration")


def write(path: str | os.PathLike[str], results: Iterable[AnalyzerResult]) -> Path:
    """Write ``results`` to ``path`` (replacing it) atomically; ids must be unique."""
    path = Path(path)
    # a unique sibling name (same filesystem, so the rename is atomic); created by h5py
    # itself so the file gets the usual umask permissions
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with h5py.File(tmp, "w-", track_order=True) as h5:
            for result in results:
                if result.id in h5:
                    raise ValueError(f"duplicate result id {result.id!r}")
                _write_result(h5.create_group(result.id), result)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_attrs(group: h5py.Group, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, dict | list | tuple):
            value = json.dumps(value, sort_keys=True)
        group.attrs[str(key)] = value


def _write_json_section(group: h5py.Group, values: Mapping[str, Any]) -> None:
    _write_attrs(group, values)
    group.attrs[_JSON_ATTR] = json.dumps(values, sort_keys=True, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot store {type(obj).__name__} in parameters")


def _write_array(group: h5py.Group, name: str, array: np.ndarray) -> None:
    if array.size == 0:
        group.create_dataset(name, data=array, maxshape=(None,) * array.ndim)
    elif array.size >= _COMPRESS_FROM:
        group.create_dataset(
            name, data=array, chunks=True, compression="gzip", compression_opts=4, shuffle=True
        )
    else:
        group.create_dataset(name, data=array)


def _write_result(group: h5py.Group, result: AnalyzerResult) -> None:
    group.attrs["data_mode"] = result.data_mode
    group.attrs["time_mode"] = result.time_mode
    _write_attrs(group.create_group("id_metadata"), _fields(result.id_metadata))
    _write_attrs(group.create_group("audio_metadata"), _fields(result.audio_metadata))
    _write_json_section(group.create_group("parameters"), result.parameters)
    _write_json_section(group.create_group("provenance"), result.provenance)
    data = group.create_group("data_object")
    keys = data_keys(result.data_mode, result.time_mode)
    for key in keys:
        if key in _ARRAYS:
            _write_array(data, key, getattr(result.data_object, key))
    if "frame_metadata" in keys:
        frame_metadata = _fields(result.data_object.frame_metadata)
        _write_attrs(data.create_group("frame_metadata"), frame_metadata)
    if "label_metadata" in keys:
        meta = result.data_object.label_metadata
        lm = data.create_group("label_metadata")
        lm.attrs["label_type"] = meta.label_type
        for name in ("label", "description"):
            names = getattr(meta, name)
            _write_attrs(lm.create_group(name), {str(k): v for k, v in names.items()})


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _attrs(group: h5py.Group) -> dict[str, Any]:
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in group.attrs.items()}


def _json_section(group: h5py.Group) -> dict[str, Any]:
    if _JSON_ATTR in group.attrs:
        return json.loads(group.attrs[_JSON_ATTR])
    return _attrs(group)  # a file written by TimeSide


def _known(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in values.items() if k in names}


def read(path: str | os.PathLike[str], ids: Iterable[str] | None = None) -> list[AnalyzerResult]:
    """Read every result (or only ``ids``) back, in file order."""
    wanted = None if ids is None else set(ids)
    with h5py.File(path, "r") as h5:
        return [_read_result(h5[name]) for name in h5 if wanted is None or name in wanted]


@dataclass(frozen=True, slots=True)
class LazyResult:
    """A stored result whose value or label array stays in the file.

    ``meta`` has every section but an empty value/label array; ``data`` is that array as an
    h5py dataset, sliced like a numpy array (``data[i:j]`` reads and decompresses only the
    chunks of those rows), so a window of a long result costs the window, not the result.
    Valid while the file is open.
    """

    meta: AnalyzerResult
    data: h5py.Dataset


def read_lazy(h5: h5py.File, rid: str, *, brief: bool = False) -> LazyResult:
    """Result ``rid`` of an open file (``h5py.File(path, "r")``), its data left unread.

    ``brief`` reads only what places frames in time (modes, id, audio metadata, frame
    metadata): several times faster, for readers that scan many results (waveform levels).
    """
    group = h5[rid]
    if not brief:
        meta = _read_result(group, skip=("value", "label"))
        return LazyResult(meta, group["data_object"][meta.data_mode])
    data = group["data_object"]
    meta = AnalyzerResult(
        data_mode=str(group.attrs["data_mode"]),  # type: ignore[arg-type]
        time_mode=str(group.attrs["time_mode"]),  # type: ignore[arg-type]
        id_metadata=IdMetadata(id=rid),
        audio_metadata=AudioMetadata(**_picked(group["audio_metadata"], ("start", "duration"))),
        data_object=DataObject(frame_metadata=_frame_metadata(data)),
    )
    return LazyResult(meta, data[meta.data_mode])


def _audio_metadata(group: h5py.Group) -> AudioMetadata:
    return AudioMetadata(**_known(AudioMetadata, _attrs(group["audio_metadata"])))


def _frame_metadata(data: h5py.Group) -> FrameMetadata:
    if "frame_metadata" not in data:
        return FrameMetadata()
    return FrameMetadata(**_picked(data["frame_metadata"], ("samplerate", "blocksize", "stepsize")))


def _picked(group: h5py.Group, names: tuple[str, ...]) -> dict[str, Any]:
    """The attributes ``names`` that exist (reading by name beats iterating every attribute)."""
    attrs = group.attrs
    values = {name: attrs.get(name) for name in names}
    return {
        k: v.item() if isinstance(v, np.generic) else v for k, v in values.items() if v is not None
    }


def _read_result(group: h5py.Group, skip: tuple[str, ...] = ()) -> AnalyzerResult:
    data = group["data_object"]
    arrays = {key: data[key][()] for key in _ARRAYS if key in data and key not in skip}
    obj = DataObject(**arrays, frame_metadata=_frame_metadata(data))
    if "label_metadata" in data:
        lm = data["label_metadata"]
        obj.label_metadata = LabelMetadata(
            label={int(k): str(v) for k, v in _attrs(lm["label"]).items()},
            description={int(k): str(v) for k, v in _attrs(lm["description"]).items()},
            label_type="multi" if lm.attrs.get("label_type") == "multi" else "mono",
        )
    return AnalyzerResult(
        data_mode=str(group.attrs["data_mode"]),  # type: ignore[arg-type]
        time_mode=str(group.attrs["time_mode"]),  # type: ignore[arg-type]
        id_metadata=IdMetadata(**_known(IdMetadata, _attrs(group["id_metadata"]))),
        audio_metadata=_audio_metadata(group),
        data_object=obj,
        parameters=_json_section(group["parameters"]),
        provenance=_json_section(group["provenance"]) if "provenance" in group else {},
    )
