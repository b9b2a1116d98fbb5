"""Outages in GraphQL answers: an error caused by the database, the broker or a full disk is
reported as ``SERVICE_UNAVAILABLE`` with what is out, not masked as "Unexpected error."."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from timeside_gql.api.errors import ClientError
from timeside_gql.jobs import outages

CODE = "SERVICE_UNAVAILABLE"


class Outage(ClientError):
    """Nobody's fault in the request: try again once the service is back."""

    code = CODE


class OutageErrors(SchemaExtension):
    """Types the errors of outages. List it after MaskErrors: extensions leave an operation in
    reverse order, so it runs first and MaskErrors then leaves these alone."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [typed(error) for error in errors]  # type: ignore[union-attr]


def typed(error: GraphQLError) -> GraphQLError:
    what = outages.outage(error.original_error)
    if what is None:
        return error
    outage = Outage(outages.message(what))
    return GraphQLError(
        str(outage),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=outage,
        extensions=outage.extensions,
    )
