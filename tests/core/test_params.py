"""Parameter validation, canonical JSON and hashing."""

from __future__ import annotations

import pytest

from timeside_gql.core.params import (
    ParameterError,
    canonical_json,
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
