"""Result serialisers: JSON, YAML, XML and NumPy .npz round-trip; CSV is export only.

All build on ``AnalyzerResult.as_dict``/``from_dict``. Arrays are tagged with their dtype
and shape (JSON ``{"numpyArray": [...], "dtype": ..., "shape": [...]}``, YAML
``!numpyArray``, XML ``dtype``/``shape`` attributes), TimeSide's conventions, so values
come back with the same dtype and shape.
"""

from __future__ import annotations

import csv
import io
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

import numpy as np
import yaml

from timeside_gql.core.results import AnalyzerResult

# --- JSON --------------------------------------------------------------------------------


def _encode(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return {"numpyArray": obj.tolist(), "dtype": str(obj.dtype), "shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if "numpyArray" in obj and "dtype" in obj:
        return _array(obj["numpyArray"], obj["dtype"], obj.get("shape"))
    return obj


def _array(values: Any, dtype: str, shape: list[int] | None) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    return array.reshape(shape) if shape is not None else array


def to_json(results: Iterable[AnalyzerResult], *, indent: int | None = None) -> str:
    return json.dumps([r.as_dict() for r in results], default=_encode, indent=indent)


def from_json(text: str) -> list[AnalyzerResult]:
    return [AnalyzerResult.from_dict(d) for d in json.loads(text, object_hook=_decode)]


# --- YAML --------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    pass


class _Loader(yaml.SafeLoader):
    pass


def _represent_array(dumper: yaml.SafeDumper, array: np.ndarray) -> yaml.Node:
    mapping = {"dtype": str(array.dtype), "shape": list(array.shape), "array": array.tolist()}
    return dumper.represent_mapping("!numpyArray", mapping)


def _represent_scalar(dumper: yaml.SafeDumper, value: np.generic) -> yaml.Node:
    return dumper.represent_data(value.item())


def _construct_array(loader: yaml.SafeLoader, node: yaml.MappingNode) -> np.ndarray:
    mapping = loader.construct_mapping(node, deep=True)
    return _array(mapping["array"], mapping["dtype"], mapping.get("shape"))


_Dumper.add_representer(np.ndarray, _represent_array)
_Dumper.add_multi_representer(np.generic, _represent_scalar)  # type: ignore[type-abstract]
_Loader.add_constructor("!numpyArray", _construct_array)


def to_yaml(results: Iterable[AnalyzerResult]) -> str:
    return yaml.dump([r.as_dict() for r in results], Dumper=_Dumper, sort_keys=False)


def from_yaml(text: str) -> list[AnalyzerResult]:
    return [AnalyzerResult.from_dict(d) for d in yaml.load(text, Loader=_Loader)]


# --- XML ---------------------------------------------------------------------------------


def _xml_value(parent: ET.Element, key: str, value: Any) -> None:
    element = ET.SubElement(parent, "field", name=key)
    if isinstance(value, np.ndarray):
        element.set("dtype", str(value.dtype))
        element.set("shape", json.dumps(list(value.shape)))
        element.text = json.dumps(value.tolist())
    elif isinstance(value, dict) and key not in ("parameters", "provenance"):
        element.set("type", "section")
        for sub_key, sub_value in value.items():
            _xml_value(element, str(sub_key), sub_value)
    else:
        element.text = json.dumps(value, default=_encode)


def _xml_read(element: ET.Element) -> Any:
    if "dtype" in element.attrib:
        return _array(
            json.loads(element.text or "[]"),
            element.attrib["dtype"],
            json.loads(element.attrib["shape"]),
        )
    if element.attrib.get("type") == "section":
        return {child.attrib["name"]: _xml_read(child) for child in element}
    return json.loads(element.text or "null")


def to_xml(results: Iterable[AnalyzerResult]) -> str:
    root = ET.Element("timeside")
    for result in results:
        node = ET.SubElement(root, "result", id=result.id, name=result.name)
        for key, value in result.as_dict().items():
            _xml_value(node, key, value)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def from_xml(text: str) -> list[AnalyzerResult]:
    root = ET.fromstring(text)
    return [
        AnalyzerResult.from_dict({f.attrib["name"]: _xml_read(f) for f in node})
        for node in root.iter("result")
    ]


# --- NumPy .npz --------------------------------------------------------------------------


def to_npz(results: Iterable[AnalyzerResult], path: str | os.PathLike[str]) -> None:
    """Arrays as ``<id>/<field>``; everything else as JSON in ``<id>/meta``."""
    arrays: dict[str, np.ndarray] = {}
    for result in results:
        as_dict = result.as_dict()
        data = as_dict.pop("data_object")
        as_dict["data_object"] = {k: v for k, v in data.items() if not isinstance(v, np.ndarray)}
        for key, value in data.items():
            if isinstance(value, np.ndarray):
                arrays[f"{result.id}/{key}"] = value
        arrays[f"{result.id}/meta"] = np.array(json.dumps(as_dict, default=_encode))
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub


def from_npz(path: str | os.PathLike[str]) -> list[AnalyzerResult]:
    with np.load(path, allow_pickle=False) as npz:
        results = []
        for name in npz.files:
            if not name.endswith("/meta"):
                continue
            rid = name[: -len("/meta")]
            as_dict = json.loads(str(npz[name]))
            for key in npz.files:
                if key.startswith(f"{rid}/") and key != name:
                    as_dict["data_object"][key[len(rid) + 1 :]] = npz[key]
            results.append(AnalyzerResult.from_dict(as_dict))
        return results


# --- CSV (export) ------------------------------------------------------------------------


def to_csv(result: AnalyzerResult) -> str:
    """One row per frame/event/segment: time, duration, then value columns or the label."""
    out = io.StringIO()
    writer = csv.writer(out)
    data = result.data
    rows = data.reshape(len(data), -1) if data.ndim > 1 else data.reshape(-1, 1)
    if result.data_mode == "label":
        names = result.data_object.label_metadata.label
        columns = ["label", "label_name"]
        cells = [[int(v), names.get(int(v), "")] for v in data]
    else:
        width = rows.shape[1]
        columns = ["value"] if width == 1 else [f"value_{i}" for i in range(width)]
        cells = rows.tolist()
    time, duration = result.time, result.duration
    times = np.broadcast_to(np.asarray(time, float), (len(cells),))
    duration = 0.0 if duration is None else duration
    durations = np.broadcast_to(np.asarray(duration, float), (len(cells),))
    writer.writerow(["time", "duration", *columns])
    for t, d, row in zip(times, durations, cells, strict=True):
        writer.writerow([f"{t:.6f}", f"{float(d):.6f}", *row])
    return out.getvalue()
