"""Parameter validation, canonical JSON and hashing."""

from __future__ import annotations

import dataclasses
import hashlib
import typing
from collections.abc import Mapping
from types import UnionType
from typing import Any, Literal, Union

import pytest

from timeside_gql.core.params import (
    ParameterError,
    canonical_json,
    ensure_parameters,
    parameters_hash,
    validate_parameters,
)
from timeside_gql.core.registry import UnknownProcessor, all_processors, get_processor


def test_defaults_are_filled_and_hash_ignores_spelling():
    filled = validate_parameters("spectrogram_analyzer", {})
    assert filled["n_fft"] == 2048 and filled["hop_length"] == 512
    explicit = validate_parameters("spectrogram_analyzer", {"n_fft": 2048})
    assert canonical_json(filled) == canonical_json(explicit)
    assert parameters_hash(filled) == parameters_hash(explicit)
    assert parameters_hash(validate_parameters("spectrogram_analyzer", {"n_fft": 1024})) != (
        parameters_hash(filled)
    )


def test_canonical_json_is_sorted_and_compact():
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bogus": 1}, "bogus"),
        ({"n_fft": "big"}, "n_fft"),
        ({"n_fft": 1.5}, "n_fft"),
        ({"n_fft": 8}, "n_fft"),
        ({"mode": "cubic"}, "mode"),
        ([1, 2], "object"),
    ],
)
def test_bad_parameters_are_rejected_readably(params, message):
    with pytest.raises(ParameterError, match=message):
        validate_parameters("spectrogram_analyzer", params)


def test_unknown_processor():
    with pytest.raises(UnknownProcessor, match="no_such"):
        get_processor("no_such")
    with pytest.raises(UnknownProcessor):
        validate_parameters("no_such", {})


def test_every_processor_declares_a_valid_contract():
    import jsonschema

    processors = all_processors()
    assert len({p.pid for p in processors}) == len(processors)
    for cls in processors:
        assert cls.kind in {"analyzer", "grapher", "encoder"}
        assert cls.name and cls.version and cls.description, cls.pid
        schema = cls.parameters_schema
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["additionalProperties"] is False, cls.pid
        assert all("default" in prop for prop in schema["properties"].values()), cls.pid
        defaults = validate_parameters(cls, {})
        assert set(defaults) == set(schema["properties"]), cls.pid
        if cls.kind == "analyzer":
            assert cls.outputs, cls.pid
            for spec in cls.outputs:
                assert spec.id == cls.pid or spec.id.startswith(cls.pid + "."), spec.id


def test_parameters_are_one_canonical_read_only_value():
    valid = validate_parameters("onsets", {"n_fft": 1024})
    assert valid.pid == "onsets" and valid.key == ("onsets", valid.hash)
    assert (
        valid.json
        == canonical_json(valid)
        == (
            '{"backtrack":false,"delta":0.07,"hop_length":512,"min_flux":0.1,"n_fft":1024,'
            '"n_mels":128,"rate":22050,"top_db":80.0,"wait":0.03}'
        )
    )
    assert valid.hash == hashlib.sha1(valid.json.encode()).hexdigest() == parameters_hash(valid)
    assert valid == {
        "backtrack": False,
        "delta": 0.07,
        "hop_length": 512,
        "min_flux": 0.1,
        "n_fft": 1024,
        "n_mels": 128,
        "rate": 22050,
        "top_db": 80.0,
        "wait": 0.03,
    }
    with pytest.raises(TypeError):
        valid["n_fft"] = 2048  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        valid.hash = "x"  # type: ignore[misc]
    copy = valid.to_dict()
    copy["n_fft"] = 2048
    assert valid["n_fft"] == 1024


def test_validated_parameters_are_taken_as_they_are_by_their_processor_only():
    valid = validate_parameters("onsets", {})
    assert ensure_parameters("onsets", valid) is valid
    processor = get_processor("onsets")(valid)
    assert processor.parameters is valid and processor.params.min_flux == 0.1
    with pytest.raises(ParameterError, match="'onsets' given to 'tempo'"):
        get_processor("tempo")(valid)


_JSON_TYPES = {"integer": int, "number": float, "string": str, "boolean": bool}


def _python_type(prop: dict) -> Any:
    """The dataclass annotation a schema property calls for (see core/processor.py)."""
    kind = prop.get("type", "string")
    if "enum" in prop:
        return Literal[tuple(prop["enum"])]
    if kind == "array":
        return tuple[_python_type(prop["items"]), ...]
    if kind == "object":
        return Mapping[str, Any]
    if isinstance(kind, list):
        [base] = [k for k in kind if k != "null"]
        return _JSON_TYPES[base] | None
    return _JSON_TYPES[kind]


def test_every_processor_types_exactly_the_parameters_its_schema_declares():
    """The schema is the contract and the dataclass its typed view: same names, matching types,
    and the defaults fit the types."""
    for cls in all_processors():
        typed = cls.parameters_type
        assert dataclasses.is_dataclass(typed), cls.pid
        assert typed.__dataclass_params__.frozen, cls.pid
        hints = typing.get_type_hints(typed)
        properties = cls.parameters_schema["properties"]
        assert {f.name for f in dataclasses.fields(typed)} == set(properties), cls.pid
        for name, prop in properties.items():
            assert hints[name] == _python_type(prop), (cls.pid, name)
        instance = cls({}).params
        for name in properties:
            assert _fits(getattr(instance, name), hints[name]), (cls.pid, name)


def _fits(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return value in args
    if origin in (Union, UnionType):
        return any(_fits(value, arg) for arg in args)
    if origin is tuple:
        return isinstance(value, tuple) and all(_fits(v, args[0]) for v in value)
    if origin is Mapping:
        return isinstance(value, Mapping)
    if hint is type(None):
        return value is None
    if hint is float:  # a JSON number may be written 0
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, hint)
