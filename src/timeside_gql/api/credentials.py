"""Credentials that outlive their check: a WebSocket authenticates once, at ``connection_init``,
then carries operations for hours. Its token may be revoked, its user's password changed or
the user deleted meanwhile; every operation it starts, and every running subscription every
REVERIFY_S, checks the token again, and a socket whose token ended is closed (4403), so no
later operation runs on those credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator

from anyio import to_thread
from graphql import GraphQLError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

from timeside_gql.api.context import Context
from timeside_gql.db import auth
from timeside_gql.db.errors import InvalidToken

#: Seconds between checks that a subscriber's token is still live: how long a running
#: subscription outlives its credentials at most.
REVERIFY_S = 0.5
#: Close code of a socket whose credentials ended (4400-4499: the application's, as 4401 and
#: 4403 of graphql-transport-ws).
CREDENTIALS_ENDED = 4403
MESSAGE = "the credentials of this connection ended"


def _token_alive(sessions: sessionmaker[Session], token: str) -> bool:
    try:
        with sessions() as session, session.begin():
            auth.verify_token(session, token)
    except InvalidToken:
        return False
    return True


async def still_valid(context: Context) -> bool:
    """Whether the caller's token still holds (an anonymous caller has nothing to lose); a
    WebSocket whose token ended is closed."""
    token = context.token
    if token is None or await to_thread.run_sync(_token_alive, context.sessions, token):
        return True
    if isinstance(context.request, WebSocket):
        await context.request.close(code=CREDENTIALS_ENDED, reason="credentials ended")
    return False


class SocketCredentials(SchemaExtension):
    """Checks a WebSocket's token before each operation it carries (an HTTP request checked
    its own when it arrived); a dead one refuses the operation as UNAUTHENTICATED."""

    async def on_validate(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if (
            not execution.pre_execution_errors
            and isinstance(context, Context)
            and isinstance(context.request, WebSocket)
            and not await still_valid(context)
        ):
            error = GraphQLError(MESSAGE, extensions={"code": "UNAUTHENTICATED"})
            execution.pre_execution_errors = [error]  # validation then does not run
        yield
