"""Administration: ``migrate``, ``createuser``, ``token issue|list|revoke``."""

from __future__ import annotations

import argparse
import getpass
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from timeside_gql.db.auth import create_user, get_user, issue_token, list_tokens, revoke_token
from timeside_gql.db.engine import create_engine, session_scope
from timeside_gql.db.errors import DataError
from timeside_gql.db.migrate import upgrade
from timeside_gql.db.models import ApiToken
from timeside_gql.db.processors import sync_from_registry
from timeside_gql.db.providers import sync_providers
from timeside_gql.db.types import utcnow
from timeside_gql.settings import get_settings
from timeside_gql.storage.providers import all_providers


def register(subparsers: Any) -> None:
    migrate = subparsers.add_parser(
        "migrate", help="upgrade the database, sync processors and providers"
    )
    migrate.add_argument("--revision", default="head", help="target revision (default head)")
    migrate.set_defaults(func=run_migrate)

    user = subparsers.add_parser("createuser", help="create a user (password from a prompt)")
    user.add_argument("username")
    user.add_argument("--admin", action="store_true", help="sees and changes everything")
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (scripts)"
    )
    user.set_defaults(func=with_session(run_createuser))

    token = subparsers.add_parser("token", help="API tokens").add_subparsers(
        dest="token_command", required=True
    )
    issue = token.add_parser("issue", help="issue a token; its secret is printed once")
    issue.add_argument("username")
    issue.add_argument("--name", default="", help="what the token is for")
    issue.add_argument("--expires-days", type=int, help="lifetime in days (default: never)")
    issue.set_defaults(func=with_session(run_token_issue))
    listing = token.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("username", nargs="?", help="only this user's tokens")
    listing.set_defaults(func=with_session(run_token_list))
    revoke = token.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id", type=uuid.UUID)
    revoke.set_defaults(func=with_session(run_token_revoke))


def run_migrate(args: argparse.Namespace) -> int:
    url = get_settings().db_url
    upgrade(url, args.revision)
    engine = create_engine(url)
    try:
        with session_scope(engine) as session:
            synced = sync_from_registry(session)
            providers = sync_providers(session, all_providers())
    finally:
        engine.dispose()
    print(
        f"database at {args.revision}; {len(synced)} processors, {len(providers)} providers synced"
    )
    return 0


def with_session(
    command: Callable[[Session, argparse.Namespace], None],
) -> Callable[[argparse.Namespace], int]:
    """Run ``command`` in one transaction; expected failures print one line and exit 1."""

    def run(args: argparse.Namespace) -> int:
        engine = create_engine(get_settings().db_url)
        try:
            with session_scope(engine) as session:
                command(session, args)
        except DataError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            engine.dispose()
        return 0

    return run


def run_createuser(session: Session, args: argparse.Namespace) -> None:
    password = read_password(from_stdin=args.password_stdin)
    user = create_user(session, args.username, password, is_admin=args.admin)
    print(f"created {'admin ' if user.is_admin else ''}user {user.username} ({user.id})")


class PasswordError(DataError):
    """The password typed is unusable."""


def read_password(*, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise PasswordError("the passwords differ")
    if not password:
        raise PasswordError("empty password")
    return password


def run_token_issue(session: Session, args: argparse.Namespace) -> None:
    user = get_user(session, args.username)
    expires = utcnow() + timedelta(days=args.expires_days) if args.expires_days else None
    token, secret = issue_token(session, user, name=args.name, expires_at=expires)
    print(f"token {token.id} for {user.username}; the secret is shown only now:", file=sys.stderr)
    print(secret)


def run_token_list(session: Session, args: argparse.Namespace) -> None:
    user = get_user(session, args.username) if args.username else None
    for token in list_tokens(session, user):
        print(
            "\t".join(
                [
                    str(token.id),
                    token.user.username,
                    token.name or "-",
                    token_state(token),
                    f"created {token.created_at:%Y-%m-%d %H:%M}",
                    f"last used {token.last_used_at:%Y-%m-%d %H:%M}"
                    if token.last_used_at
                    else "never used",
                ]
            )
        )


def token_state(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is None:
        return "active"
    if token.expires_at <= utcnow():
        return "expired"
    return f"expires {token.expires_at:%Y-%m-%d}"


def run_token_revoke(session: Session, args: argparse.Namespace) -> None:
    token = revoke_token(session, args.token_id)
    print(f"revoked token {token.id}")
