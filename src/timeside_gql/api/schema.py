"""The schema, and the extensions each deployment runs it with.

``schema`` (no limits) is what ``export-schema`` prints; ``build_schema(settings)`` adds the
database scope, the depth and alias limits and, outside debug, error masking. Extensions do not
change the SDL, so the exported file describes both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from timeside_gql.api.corpus import CorpusQueries
from timeside_gql.api.credentials import SocketCredentials
from timeside_gql.api.documents import CachedDocuments
from timeside_gql.api.errors import ERROR_TYPES
from timeside_gql.api.limits import FINITE_JSON, InputLimits
from timeside_gql.api.masking import ErrorCodes, is_internal, log_incident
from timeside_gql.api.mutations import Mutation
from timeside_gql.api.outages import OutageErrors
from timeside_gql.api.queries import Query as BaseQuery
from timeside_gql.api.scope import DatabaseExtension
from timeside_gql.api.subscriptions import Subscription
from timeside_gql.api.types.series import NUMBERS_SCALAR, Numbers
from timeside_gql.settings import Settings


@strawberry.type
class Query(BaseQuery, CorpusQueries):
    """Every read: the core lookups and lists, and the corpus ones (api/corpus.py)."""


class Schema(strawberry.Schema):
    """Logs only the errors worth a look, each with an incident id (api/masking.py)."""

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """One result: a subscription only streams (WebSocket, SSE), so a plain POST of one
        is refused (400) instead of failing on its generator."""
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        allowed.discard(OperationType.SUBSCRIPTION)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types=allowed,
            operation_extensions=operation_extensions,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if is_internal(error):
                log_incident(error)


def _schema(extensions: list[Any]) -> Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=ERROR_TYPES,
        extensions=extensions,
        config=StrawberryConfig(scalar_map={Numbers: NUMBERS_SCALAR, JSON: FINITE_JSON}),
    )


def build_schema(settings: Settings) -> Schema:
    # Made once, so that validations are cached (api/documents.py).
    rules = (
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    )
    extensions: list[Any] = [
        lambda: InputLimits(settings=settings),  # api/limits.py: first, before any rule
        DatabaseExtension,
        lambda: AddValidationRules(list(rules)),
        SocketCredentials,  # api/credentials.py: before the cached validation, which keeps it
        # Last of those that parse or validate: it keeps a refusal made before it.
        lambda: CachedDocuments(max_tokens=settings.max_query_tokens),
    ]
    extensions.append(lambda: ErrorCodes(mask=not settings.debug))  # api/masking.py
    extensions.append(OutageErrors)  # after ErrorCodes: see api/outages.py
    return _schema(extensions)


schema = _schema([])


def sdl() -> str:
    """The schema as SDL, newline-terminated: the content of schema.graphql."""
    return str(schema) + "\n"
