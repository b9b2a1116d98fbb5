"""Processor parameters: JSON Schema validation with defaults, canonical form, hash.

The canonical form (defaults filled, keys sorted, compact JSON) is what identifies a
preset: two requests that differ only by spelling out a default share one hash.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jsonschema

if TYPE_CHECKING:
    from timeside_gql.core.processor import Processor


class ParameterError(ValueError):
    """Parameters that do not match a processor's schema; the message says why."""


def _fill_defaults(schema: Mapping[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    for key, sub in schema.get("properties", {}).items():
        if key not in params and "default" in sub:
            params[key] = copy.deepcopy(sub["default"])
        elif isinstance(params.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(sub, params[key])
    return params


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def validate_against(schema: Mapping[str, Any], params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate ``params`` against ``schema`` and return them with defaults filled."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ParameterError(f"parameters must be an object, not {type(params).__name__}")
    filled = _fill_defaults(schema, copy.deepcopy(dict(params)))
    try:  # NaN passes JSON Schema's "number" and would make every listing invalid JSON
        json.dumps(filled, allow_nan=False)
    except ValueError:
        raise ParameterError("parameters must be finite numbers (no NaN or Infinity)") from None
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
    if errors:
        raise ParameterError("; ".join(_describe(e) for e in errors))
    return filled


def validate_parameters(
    processor: str | type[Processor], params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Canonical parameters of ``processor`` (a pid or class) with defaults filled.

    Raises :class:`ParameterError` for unknown keys, wrong types or out-of-range values,
    and ``UnknownProcessor`` for an unknown pid.
    """
    if isinstance(processor, str):
        from timeside_gql.core.registry import get_processor

        processor = get_processor(processor)
    return validate_against(processor.parameters_schema, params)


def canonical_json(params: Mapping[str, Any]) -> str:
    """Sorted-key compact JSON: equal parameters give byte-equal strings."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parameters_hash(params: Mapping[str, Any]) -> str:
    """SHA-1 hex digest of :func:`canonical_json`."""
    return hashlib.sha1(canonical_json(params).encode()).hexdigest()


def schema(properties: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """An object schema that rejects unknown keys: the only kind processors declare."""
    return {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
        **extra,
    }
