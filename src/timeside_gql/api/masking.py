"""What a GraphQL error tells the client: always an ``extensions.code``, and for a failure that
is not the client's (a bug, a lost database) only an incident id, the same id as in the log.

``is_internal`` decides: request errors (syntax, validation) and ``ClientError`` keep their
message; anything else raised while executing is logged by ``Schema.process_errors`` with a
fresh id and, outside debug, answered "Unexpected error (id ...)" with INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import logging
import secrets

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors

from timeside_gql.api.errors import ClientError

log = logging.getLogger("timeside_gql.api")

INTERNAL = "INTERNAL_SERVER_ERROR"


def is_internal(error: GraphQLError) -> bool:
    """Mask everything but request errors (syntax, validation) and our ClientErrors."""
    original = error.original_error
    return original is not None and not isinstance(original, ClientError | GraphQLError)


def log_incident(error: GraphQLError) -> None:
    """Log an internal error with a new incident id, kept in its extensions for the answer."""
    incident = secrets.token_hex(6)
    error.extensions = {**(error.extensions or {}), "code": INTERNAL, "incident": incident}
    path = ".".join(str(key) for key in error.path or ())
    log.error(
        "unexpected error (id %s) at %s: %s",
        incident,
        path or "(operation)",
        error.message,
        exc_info=error.original_error,
    )


def client_code(error: GraphQLError) -> str:
    """The code of an error the client caused that carries none."""
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED" if error.path is None else "BAD_USER_INPUT"


class ErrorCodes(MaskErrors):
    """Gives every error a code; with ``mask``, answers internal ones by incident id only."""

    def __init__(self, *, mask: bool) -> None:
        super().__init__(should_mask_error=is_internal)
        self.mask = mask

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._answer(error) for error in errors]

    def _answer(self, error: GraphQLError) -> GraphQLError:
        extensions = error.extensions or {}
        if is_internal(error):
            incident = extensions.get("incident", "unlogged")
            if not self.mask:
                return error
            return GraphQLError(
                f"Unexpected error (id {incident}).",
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={"code": INTERNAL, "incident": incident},
            )
        if "code" not in extensions:
            error.extensions = {**extensions, "code": client_code(error)}
        return error
