"""What every object type shares: construction from a row, the loaders, the common fields."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any, Self
from uuid import UUID

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from sqlmodel import Session
from strawberry.schema.schema_converter import GraphQLCoreConverter

from timeside_gql.api.loaders import MAX_BATCH, Batch, Loaders
from timeside_gql.api.scope import current_scope


def loaders() -> Loaders:
    return current_scope().loaders


class _Relation:
    """The value of a relation field, read on access: the object(s) themselves when the
    operation has loaded them, else an awaitable (graphql-core awaits what a field returns).

    To Strawberry the field is a plain attribute, so a relation already loaded costs an
    attribute read, not a resolver call (Info, arguments, extensions: a third of the CPU of a
    nested read of 50 items x 10 results went there). The rows are those ``batch`` (of the
    operation's loaders) finds for the object's ``key`` attribute; :func:`prefetch` loads
    them ahead for a whole page.
    """

    def __init__(
        self, batch: Callable[[Loaders], Batch[Any, Any]], key: str, convert: Callable[[Any], Any]
    ) -> None:
        self.batch = batch
        self.key = key
        self._convert = convert

    def __get__(self, obj: Any, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        key = obj.__dict__[self.key]
        if key is None:
            return None
        return current_scope().loaders.relation(self, self.batch).get(key, self._convert)

    def __set__(self, obj: Any, value: Any) -> None:
        """The dataclass ``__init__`` stores the default (this object): nothing to keep."""


def to_one(model: type[Any], key: str, **field: Any) -> Any:
    """A field holding the visible ``model`` row whose id is in the ``key`` attribute; null
    when there is none."""
    return strawberry.field(default=_Relation(lambda lo: lo.by_id(model), key, as_type), **field)


def to_many(batch: Callable[[Loaders], Batch[UUID, list[Any]]], **field: Any) -> Any:
    """A field holding the rows ``batch`` (of the operation's loaders) finds for the id."""
    return strawberry.field(default=_Relation(batch, "id", as_types), **field)


DEFINITION_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF

#: The relations an operation selects below some rows, each with those it selects below its own.
Plan = dict[_Relation, "Plan"]


def plan(info: strawberry.Info, *paths: tuple[str, ...]) -> Plan:
    """The relations selected below the rows a field returns: its own type's rows, or those
    at the end of each of ``paths`` (plain fields, as ``("edges", "node")`` of a connection).

    Read from the document on the event loop; :func:`prefetch` then loads them in the worker
    thread of the field's own read. Directives are not evaluated (a skipped relation is loaded
    for nothing, never missed); fragments on other types are left out.
    """
    raw = info._raw_info
    fragments = raw.fragments
    found: Plan = {}
    for path in paths or ((),):
        nodes, type_ = list(raw.field_nodes), get_named_type(raw.return_type)
        for name in path:
            if not isinstance(type_, GraphQLObjectType) or name not in type_.fields:
                break
            nodes = _selected(nodes, type_, fragments).get(name, [])
            type_ = get_named_type(type_.fields[name].type)
        else:
            if isinstance(type_, GraphQLObjectType):
                found = _merged(found, _plan(nodes, type_, fragments))
    return found


def prefetcher(
    info: strawberry.Info, *paths: tuple[str, ...]
) -> Callable[[Session, list[Any]], None]:
    """What a field's read of its rows runs in its session: :func:`prefetch` of :func:`plan`."""
    wanted, scope = plan(info, *paths), current_scope()

    def run(session: Session, rows: list[Any]) -> None:
        prefetch(scope.loaders, session, rows, wanted)

    return run


def _plan(
    nodes: list[FieldNode], type_: GraphQLObjectType, fragments: dict[str, FragmentDefinitionNode]
) -> Plan:
    found: Plan = {}
    for name, below in _selected(nodes, type_, fragments).items():
        field = type_.fields.get(name)
        definition = field and field.extensions.get(DEFINITION_BACKREF)
        relation = getattr(definition, "default", None)
        if field is None or not isinstance(relation, _Relation):
            continue
        child = get_named_type(field.type)
        inner = _plan(below, child, fragments) if isinstance(child, GraphQLObjectType) else {}
        found = _merged(found, {relation: inner})
    return found


def _selected(
    nodes: list[FieldNode], type_: GraphQLObjectType, fragments: dict[str, FragmentDefinitionNode]
) -> dict[str, list[FieldNode]]:
    """The fields selected below ``nodes`` on ``type_``, by name (aliases together)."""
    found: dict[str, list[FieldNode]] = {}
    kinds = {type_.name, *(interface.name for interface in type_.interfaces)}

    def walk(selections: SelectionSetNode | None) -> None:
        for node in selections.selections if selections else ():
            if isinstance(node, FieldNode):
                found.setdefault(node.name.value, []).append(node)
            elif isinstance(node, InlineFragmentNode):
                if node.type_condition is None or node.type_condition.name.value in kinds:
                    walk(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                fragment = fragments.get(node.name.value)
                if fragment is not None and fragment.type_condition.name.value in kinds:
                    walk(fragment.selection_set)

    for node in nodes:
        walk(node.selection_set)
    return found


def _merged(a: Plan, b: Plan) -> Plan:
    return {r: _merged(a.get(r, {}), b.get(r, {})) for r in {**a, **b}}


def prefetch(loaders: Loaders, session: Session, rows: list[Any], wanted: Plan) -> None:
    """Load in ``session`` (the worker thread of the rows' own read) every relation ``wanted``
    below ``rows``, one SELECT per relation and level (already loaded keys skipped): the page's
    fields then answer at once, without an awaitable per object or a thread hop per level."""
    for relation, below in wanted.items():
        batch = relation.batch(loaders)
        keys = list(
            dict.fromkeys(k for row in rows if (k := getattr(row, relation.key)) is not None)
        )
        missing = [key for key in keys if key not in batch.found]
        for start in range(0, len(missing), MAX_BATCH):
            batch.fill(session, missing[start : start + MAX_BATCH])
        if below:
            values = [batch.found[key] for key in keys]
            children = [
                row
                for v in values
                for row in (v if isinstance(v, list) else [v])
                if row is not None
            ]
            prefetch(loaders, session, children, below)


_TYPES: dict[type[Any], type[FromRow]] = {}


def maps(model: type[Any]) -> Any:
    """Register the decorated type as the GraphQL face of ``model`` (for :func:`as_type`)."""

    def register(cls: type[FromRow]) -> type[FromRow]:
        _TYPES[model] = cls
        return cls

    return register


def as_type(row: Any | None) -> Any:
    """The GraphQL object of a row, whatever its model; lets families refer to each other
    without importing each other."""
    return None if row is None else _TYPES[type(row)].from_row(row)


def as_types(rows: list[Any]) -> list[Any]:
    return [as_type(row) for row in rows]


_FIELDS: dict[type[Any], tuple[tuple[str, ...], Callable[[dict[str, Any]], tuple[Any, ...]]]] = {}


class FromRow:
    """Builds the type from a table row by copying the fields the two have in common."""

    @classmethod
    def from_row(cls, row: Any) -> Self:
        fields = _FIELDS.get(cls)
        if fields is None:
            init = dataclasses.fields(cls)  # type: ignore[arg-type]
            names = tuple(f.name for f in init if f.init and not isinstance(f.default, _Relation))
            # Every type has at least Entity's three fields: itemgetter gives a tuple.
            fields = _FIELDS[cls] = names, operator.itemgetter(*names)
        names, values = fields
        # Loaded columns sit in the instance's __dict__: reading them there skips SQLAlchemy's
        # attribute machinery, and filling the object's own skips the dataclass __init__ (its
        # only other work is storing the relations' descriptors, which keep nothing).
        obj = object.__new__(cls)
        try:
            obj.__dict__.update(zip(names, values(row.__dict__), strict=True))
        except KeyError:  # a field the row computes (a property)
            obj.__dict__.update((n, getattr(row, n)) for n in names)
        return obj

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        """Whether graphql-core may complete ``obj`` as this type (an interface's field, a
        union's member): an instance of it; Strawberry's default also looks for casts, a
        check per object that cost a twentieth of a nested read."""
        return isinstance(obj, cls)


@strawberry.interface(description="Every stored object: a UUID and its timestamps.")
class Entity(FromRow):
    id: UUID
    created_at: datetime
    updated_at: datetime
