"""Processor parameters: validated once into one canonical form with one hash.

:func:`validate_parameters` is the only place parameters are checked against a processor's
JSON Schema. It returns :class:`Parameters`: the values with defaults filled, their canonical
JSON (keys sorted, compact) and its SHA-1. Two requests that differ only by spelling out a
default share one hash. Everything downstream takes that object rather than raw settings
(processor instances, the pipeline's parent lookup, result provenance, the database's preset
row, the jobs' cache key), so they can never disagree on what was validated or hashed.

The schema is the contract (the API publishes it); each processor also declares a frozen
dataclass of typed fields (``self.params``), built from the canonical values by
:func:`typed`. A test keeps the two in step for every registered processor.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import jsonschema

if TYPE_CHECKING:
    from timeside_gql.core.processor import Processor

T = TypeVar("T")


class ParameterError(ValueError):
    """Parameters that do not match a processor's schema; the message says why."""


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Parameters(Mapping[str, Any]):
    """A processor's validated parameters: a read-only mapping of the canonical values.

    Made by :func:`validate_parameters` only. ``json`` is the canonical JSON, ``hash`` its
    SHA-1, ``key`` = (pid, hash) names the preset in a run. Equal to any mapping of the
    same values.
    """

    pid: str
    json: str
    hash: str
    _values: Mapping[str, Any] = dataclasses.field(repr=False)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def key(self) -> tuple[str, str]:
        return (self.pid, self.hash)

    def to_dict(self) -> dict[str, Any]:
        """A fresh plain copy of the values (for JSON columns and result files)."""
        return dict(json.loads(self.json))


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


def _plain(value: Any) -> Any:
    """A deep JSON-like copy: mappings as dicts, tuples and lists as lists."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _check(schema: Mapping[str, Any], params: Any) -> dict[str, Any]:
    """``params`` with defaults filled, or :class:`ParameterError` saying what is wrong."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ParameterError(f"parameters must be an object, not {type(params).__name__}")
    filled = _fill_defaults(schema, _plain(params))
    try:  # NaN passes JSON Schema's "number" and would make every listing invalid JSON
        json.dumps(filled, allow_nan=False)
    except ValueError:
        raise ParameterError("parameters must be finite numbers (no NaN or Infinity)") from None
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
    if errors:
        raise ParameterError("; ".join(_describe(e) for e in errors))
    return filled


def validate_parameters(processor: str | type[Processor], params: Any) -> Parameters:
    """The canonical :class:`Parameters` of ``processor`` (a pid or class) for ``params``.

    Raises :class:`ParameterError` for unknown keys, wrong types or out-of-range values,
    and ``UnknownProcessor`` for an unknown pid.
    """
    if isinstance(processor, str):
        from timeside_gql.core.registry import get_processor

        processor = get_processor(processor)
    values = _check(processor.parameters_schema, params)
    text = canonical_json(values)
    return Parameters(processor.pid, text, _sha1(text), MappingProxyType(values))


def ensure_parameters(processor: str | type[Processor], params: Any) -> Parameters:
    """``params`` as they are when already validated for this processor, else validated."""
    pid = processor if isinstance(processor, str) else processor.pid
    if not isinstance(params, Parameters):
        return validate_parameters(processor, params)
    if params.pid != pid:
        raise ParameterError(f"parameters of {params.pid!r} given to {pid!r}")
    return params


def canonical_json(params: Mapping[str, Any]) -> str:
    """Sorted-key compact JSON: equal parameters give byte-equal strings."""
    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parameters_hash(params: Mapping[str, Any]) -> str:
    """SHA-1 hex digest of :func:`canonical_json` (what :attr:`Parameters.hash` holds)."""
    return _sha1(canonical_json(params))


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def typed(cls: type[T], values: Mapping[str, Any]) -> T:
    """The frozen dataclass ``cls`` of canonical values: arrays as tuples, objects read-only."""
    return cls(**{name: _frozen(value) for name, value in values.items()})


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class NoParameters:
    """The typed parameters of a processor that takes none."""


def schema(properties: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """An object schema that rejects unknown keys: the only kind processors declare."""
    return {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
        **extra,
    }
