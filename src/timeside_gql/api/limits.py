"""The input boundary: what a request may send, checked before it is parsed or executed.

Every JSON a client sends (a /graphql body, a multipart ``operations`` or ``map`` field, a
WebSocket message) goes through :func:`loads`: its nesting is measured on the text before
``json`` (recursive) sees it, and ``NaN`` and ``Infinity`` (which Python's ``json`` accepts,
JSON does not) are refused. A GraphQL document's nesting is measured the same way before
graphql-core's recursive parser sees it, and the chain of its fragment spreads before the
validation rules recurse along it. :class:`InputLimits` then bounds the strings and lists of
every argument. :data:`FINITE_JSON` keeps NaN out of the ``JSON`` scalar both ways.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import numpy as np
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
    parse,
    value_from_ast_untyped,
)
from graphql.language import ArgumentNode, Visitor, visit
from strawberry.extensions import SchemaExtension
from strawberry.scalars import JSON
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.scalar import ScalarDefinition, scalar

from timeside_gql.api.errors import ClientError
from timeside_gql.settings import Settings

#: What no bracket inside is structure: JSON strings; GraphQL strings, block strings, comments.
_JSON_SKIPPED = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"')
_GRAPHQL_SKIPPED = re.compile(
    r'"""(?:[^"\\]++|\\.|"(?!""))*+"""|"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"|#[^\n\r]*+'
)
_STEPS = np.zeros(256, dtype=np.int8)
_STEPS[[ord(c) for c in "[{("]] = 1
_STEPS[[ord(c) for c in "]})"]] = -1


def nesting(text: str, *, skipped: re.Pattern[str] = _JSON_SKIPPED) -> int:
    """The deepest bracket nesting of ``text`` outside its ``skipped`` spans, in one pass
    (no recursion, and numpy rather than a Python loop over megabytes)."""
    bare = skipped.sub("", text).encode("utf-8", "surrogatepass")
    steps = _STEPS[np.frombuffer(bare, dtype=np.uint8)]
    steps = steps[steps != 0]
    return int(np.cumsum(steps, dtype=np.int32).max(initial=0))


class JSONRefused(json.JSONDecodeError):
    """A body or message refused at the boundary; ``str()`` is the reason, safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)
        self.args = (reason,)


def _no_constant(name: str) -> Any:
    raise JSONRefused(f"{name} is not a JSON number: send finite numbers only")


def loads(data: str | bytes, *, max_nesting: int) -> Any:
    """``json.loads`` bounded: JSONRefused for text that is not UTF-8, nested deeper than
    ``max_nesting`` or holding NaN or Infinity."""
    try:
        text = data.decode(json.detect_encoding(data)) if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise JSONRefused("the body is not UTF-8 text") from None
    if nesting(text) > max_nesting:
        raise JSONRefused(f"JSON nested deeper than {max_nesting} levels")
    return json.loads(text, parse_constant=_no_constant)


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats as null: JSON has no NaN (browsers' parse fails)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _refuse_non_finite(value: Any) -> Any:
    if _finite(value) != value:  # NaN != NaN: a non-finite float anywhere makes them differ
        raise ClientError("JSON values must be finite numbers (no NaN or Infinity)")
    return value


def _json_literal(node: Any, variables: dict[str, Any] | None = None) -> Any:
    return _refuse_non_finite(value_from_ast_untyped(node, variables))


#: Strawberry's ``JSON`` scalar (same name and SDL) that neither accepts nor emits NaN/Infinity.
FINITE_JSON: ScalarDefinition = scalar(
    name="JSON",
    description=DEFAULT_SCALAR_REGISTRY[JSON].description,
    specified_by_url=DEFAULT_SCALAR_REGISTRY[JSON].specified_by_url,
    serialize=_finite,
    parse_value=_refuse_non_finite,
    parse_literal=_json_literal,
)


# ---------------------------------------------------------------------------------------------
# The document


#: Put in place of a document too deep to parse, so that validation reports the refusal.
_UNPARSED = parse("{ __typename }")


class InputLimits(SchemaExtension):
    """Refuses, as a request error with ``extensions.code``, a document nested deeper than
    ``max_nesting`` (brackets or fragment spreads) and arguments past the string and list
    limits, before any rule or resolver runs."""

    def __init__(self, *, settings: Settings) -> None:
        self.settings = settings
        self.refusal: str | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        limit = self.settings.max_nesting
        if context.query and _document_nesting(context.query) > limit:
            self.refusal = f"the document is nested deeper than {limit} levels"
            context.graphql_document = _UNPARSED  # graphql-core's parser recurses per level
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        refusal = self.refusal or (document and self._check(document, context.variables or {}))
        if refusal:
            error = GraphQLError(refusal, extensions={"code": "BAD_USER_INPUT"})
            context.pre_execution_errors = [error]  # validation then does not run
        yield

    def _check(self, document: DocumentNode, variables: dict[str, Any]) -> str | None:
        limit = self.settings.max_nesting
        depth, arguments = _shape_of(document)
        if depth > limit:
            return f"the document's fragments are nested deeper than {limit} levels"
        for node in arguments:
            value = value_from_ast_untyped(node.value, variables)
            if refusal := self._bounded(node.name.value, value):
                return refusal
        return None

    def _bounded(self, name: str, value: Any) -> str | None:
        """Why ``value``, given for ``name``, is past a limit (None: it is not)."""
        s = self.settings
        stack = [(name, value)]
        while stack:
            key, value = stack.pop()
            if isinstance(value, str):
                cap = s.max_search_length if key == "search" else s.max_string_length
                if len(value) > cap:
                    return f"{key} is longer than {cap} characters"
            elif isinstance(value, list):
                cap = s.max_tags if key == "tags" else s.max_list_length
                if len(value) > cap:
                    return f"{key} has more than {cap} entries"
                stack.extend((key, item) for item in value)
            elif isinstance(value, dict):
                stack.extend(value.items())
        return None


#: Documents whose measures are kept (clients send a handful of texts over and over: the
#: parsed documents are cached, api/documents.py), and the longest text whose nesting is kept
#: (a refused 16 MiB body is measured, not kept).
DOCUMENTS_MEASURED = 256
LONGEST_MEASURED = 64 << 10

_nesting_kept = lru_cache(maxsize=DOCUMENTS_MEASURED)(
    lambda text: nesting(text, skipped=_GRAPHQL_SKIPPED)
)


def _document_nesting(text: str) -> int:
    if len(text) > LONGEST_MEASURED:
        return nesting(text, skipped=_GRAPHQL_SKIPPED)
    return int(_nesting_kept(text))


#: id -> (document, fragment depth, argument nodes); the document is kept so its id is not
#: reused while the entry lives.
_SHAPES: dict[int, tuple[DocumentNode, int, tuple[ArgumentNode, ...]]] = {}


def _shape_of(document: DocumentNode) -> tuple[int, tuple[ArgumentNode, ...]]:
    """The fragment depth and the argument nodes of ``document``, measured once per document
    (a visit of the whole document per request cost more than resolving a small query)."""
    kept = _SHAPES.get(id(document))
    if kept is None:
        if len(_SHAPES) >= DOCUMENTS_MEASURED:
            _SHAPES.clear()
        kept = _SHAPES[id(document)] = (document, spread_depth(document), _arguments(document))
    return kept[1], kept[2]


def _arguments(document: DocumentNode) -> tuple[ArgumentNode, ...]:
    """Every argument node of the document (values are read per request: variables)."""
    found: list[ArgumentNode] = []

    class Arguments(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            found.append(node)

    visit(document, Arguments())
    return tuple(found)


def spread_depth(document: DocumentNode) -> int:
    """The deepest nesting of selections, fragment spreads followed, without recursion
    (a chain of 2,000 fragments is a few kilobytes) and without expanding a fragment twice."""
    fragments: dict[str, tuple[int, list[tuple[str, int]]]] = {}
    roots: list[tuple[int, list[tuple[str, int]]]] = []
    for definition in document.definitions:
        shape = _shape(getattr(definition, "selection_set", None))
        if isinstance(definition, FragmentDefinitionNode):
            fragments[definition.name.value] = shape
        else:
            roots.append(shape)
    depth: dict[str, int] = {}
    for root in fragments:
        stack, open_ = [(root, False)], set()
        while stack:
            name, done = stack.pop()
            if done:
                open_.discard(name)
                local, spreads = fragments[name]
                reached = [at + depth.get(inner, 0) for inner, at in spreads]
                depth[name] = max([local, *reached])
            elif name not in depth and name not in open_:  # a cycle: validation reports it
                open_.add(name)
                stack.append((name, True))
                stack.extend(
                    (inner, False) for inner, _ in fragments[name][1] if inner in fragments
                )
    return max(
        (
            max([local, *(at + depth.get(inner, 0) for inner, at in spreads)])
            for local, spreads in roots
        ),
        default=0,
    )


def _shape(selection_set: SelectionSetNode | None) -> tuple[int, list[tuple[str, int]]]:
    """The nesting of one definition's selections, and the fragments it spreads at which level."""
    deepest, spreads = 0, []
    stack = [(selection_set, 1)] if selection_set else []
    while stack:
        selections, level = stack.pop()
        deepest = max(deepest, level)
        for selection in selections.selections:  # type: ignore[union-attr]
            if isinstance(selection, FragmentSpreadNode):
                spreads.append((selection.name.value, level))
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                stack.append((selection.selection_set, level + 1))
    return deepest, spreads
