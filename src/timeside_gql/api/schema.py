"""The schema, and the extensions each deployment runs it with.

``schema`` (no limits) is what ``export-schema`` prints; ``build_schema(settings)`` adds the
database scope, the depth and alias limits and, outside debug, error masking. Extensions do not
change the SDL, so the exported file describes both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from timeside_gql.api.corpus import CorpusQueries
from timeside_gql.api.errors import ERROR_TYPES, ClientError
from timeside_gql.api.mutations import Mutation
from timeside_gql.api.queries import Query as BaseQuery
from timeside_gql.api.scope import DatabaseExtension
from timeside_gql.api.subscriptions import Subscription
from timeside_gql.api.types.series import NUMBERS_SCALAR, Numbers
from timeside_gql.settings import Settings

#: Distinct documents kept parsed and validated (clients send a handful, over and over).
DOCUMENTS_CACHED = 256


@strawberry.type
class Query(BaseQuery, CorpusQueries):
    """Every read: the core lookups and lists, and the corpus ones (api/corpus.py)."""


class Schema(strawberry.Schema):
    """Logs only the errors worth a look: not those the client caused."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        internal = [error for error in errors if is_internal(error)]
        super().process_errors(internal, execution_context)


def _schema(extensions: list[Any]) -> Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=ERROR_TYPES,
        extensions=extensions,
        config=StrawberryConfig(scalar_map={Numbers: NUMBERS_SCALAR}),
    )


def is_internal(error: GraphQLError) -> bool:
    """Mask everything but request errors (syntax, validation) and our ClientErrors."""
    original = error.original_error
    return original is not None and not isinstance(original, ClientError | GraphQLError)


#: One GraphQL token as the lexer reads it (strings whole, "..." once); commas, blanks and
#: comments are not tokens. A count by this pattern is the lexer's, in C.
TOKEN_PATTERN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|\.\.\.'
    r"|[_A-Za-z][_0-9A-Za-z]*|-?[0-9][_0-9A-Za-z.+-]*|[^\s,]"
)


class TokenBudget(MaxTokensLimiter):
    """graphql-core's token limit, and a count by regular expression before parsing: the
    parser takes ~30 microseconds per token on a loaded core, so a 300 KB document reached
    the limit only after 0.15 s; the count stops at the budget in a few milliseconds."""

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query or ""
        tokens = (t for t in TOKEN_PATTERN.finditer(query) if not t.group().startswith("#"))
        if next(islice(tokens, self.max_token_count, None), None) is not None:
            raise GraphQLError(
                f"Syntax Error: Document contains more than {self.max_token_count} tokens. "
                "Parsing aborted."
            )
        yield


def build_schema(settings: Settings) -> Schema:
    """The served schema. Documents are parsed and validated once per distinct text (LRU
    caches shared by the process), so the limits' rules are made once too: a rule class made
    per request would make every validation a cache miss."""
    rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    extensions: list[Any] = [
        DatabaseExtension,
        # The token budget bounds parsing, before any cache or validation sees the document.
        lambda: TokenBudget(settings.max_query_tokens),
        lambda: ParserCache(maxsize=DOCUMENTS_CACHED),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=DOCUMENTS_CACHED),
    ]
    if not settings.debug:
        extensions.append(lambda: MaskErrors(should_mask_error=is_internal))
    return _schema(extensions)


schema = _schema([])


def sdl() -> str:
    """The schema as SDL, newline-terminated: the content of schema.graphql."""
    return str(schema) + "\n"
