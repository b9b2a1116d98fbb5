"""Parsing and validation of documents: bounded by a token budget, done once per distinct text.

Clients send a handful of documents over and over; parsing and validating one costs more than
resolving a small query, so both are kept (LRU caches shared by the process). The limits'
validation rules are made once by ``build_schema``: a rule class made per request would make
every validation a cache miss. A refusal made earlier in the operation (api/limits.py leaves
a placeholder document and its error) is kept: nothing is parsed or validated then.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import suppress
from functools import lru_cache
from itertools import islice

from graphql import GraphQLError, parse, validate
from strawberry.extensions import SchemaExtension

#: Distinct documents kept parsed and validated.
DOCUMENTS_CACHED = 256

#: One GraphQL token as the lexer reads it (strings whole, "..." once); commas, blanks and
#: comments are not tokens. A count by this pattern is the lexer's, in C.
TOKEN_PATTERN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|\.\.\.'
    r"|[_A-Za-z][_0-9A-Za-z]*|-?[0-9][_0-9A-Za-z.+-]*|[^\s,]"
)

_parse = lru_cache(maxsize=DOCUMENTS_CACHED)(parse)
_validate = lru_cache(maxsize=DOCUMENTS_CACHED)(validate)


class CachedDocuments(SchemaExtension):
    """Refuses a document of more than ``max_tokens`` tokens before parsing it (the parser
    takes ~30 microseconds per token on a loaded core: a 300 KB document reached graphql-core's
    own limit after 0.15 s, and was validated for 3.6 to 7.6 s without one), then parses and
    validates through the caches."""

    def __init__(self, *, max_tokens: int) -> None:
        self.max_tokens = max_tokens

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            tokens = (t for t in TOKEN_PATTERN.finditer(context.query) if t.group()[0] != "#")
            if next(islice(tokens, self.max_tokens, None), None) is not None:
                raise GraphQLError(
                    f"Syntax Error: Document contains more than {self.max_tokens} tokens. "
                    "Parsing aborted.",
                    extensions={"code": "GRAPHQL_PARSE_FAILED"},
                )
            context.parse_options["max_tokens"] = self.max_tokens
            # On a syntax error Strawberry parses it again, where such errors are answered.
            with suppress(GraphQLError):
                context.graphql_document = _parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            schema, rules = context.schema._schema, context.validation_rules
            context.pre_execution_errors = _validate(schema, context.graphql_document, rules)
        yield
