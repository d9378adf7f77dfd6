"""`consulta account reset-second-factor`: the operator's way back in for someone who lost their second factor.

A lost phone, or a server secret key that was lost (docs/security.md): the
account's second factor is cleared (`Identity.SecondFactorReset`), every
session and API token of the account ends (when REDIS_URL is set: the stores
the web processes share), and the account holder is told by e-mail. Staff set
up a new authenticator app at their next login; patients log in with their
password alone until they choose a second factor again. Check who is asking
before running it: the command trusts the operator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import click


def _end_sessions(settings: Any, account_id: Any) -> bool:
    """End the account's sessions and tokens in the shared stores; False when there are none to reach."""
    if not settings.redis_url:
        return False
    from redis.exceptions import RedisError

    from consulta.http.app import make_store
    from consulta.http.auth import ApiTokens
    from consulta.http.security import end_sessions_in

    tokens = ApiTokens(make_store(settings, "api"), settings.api_token_hours * 3600)
    try:
        asyncio.run(end_sessions_in(make_store(settings, "sessions"), tokens, account_id, time.time()))
    except (RedisError, OSError) as error:
        raise click.ClickException(
            f"cannot reach Redis ({type(error).__name__}): nothing was changed"
        ) from None
    return True


def register(main: click.Group, load_settings: Callable[..., Any]) -> None:
    @main.group()
    def account() -> None:
        """Operator tasks on one account (check who is asking first)."""

    @account.command("reset-second-factor")
    @click.option("--email", required=True, help="The account's e-mail address.")
    def reset_second_factor(email: str) -> None:
        """Clear an account's second factor, end its sessions and API tokens, and tell its holder by e-mail."""
        from consulta.aggregates.errors import DomainError
        from consulta.application import Consulta
        from consulta.http.pages_identity_mail import send_with
        from consulta.workers.email import email_sender

        settings = load_settings()
        app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1"})
        try:
            try:
                account = app.account_by_email(email)
            except DomainError:
                raise click.ClickException("no account has this e-mail address") from None
            identity = app.identity(account.id)
            if identity.second_factor is None and identity.totp_secret is None:
                click.echo(f"Account {account.id} has no second factor set up: nothing changed.")
                return
            # Sessions first: if Redis cannot be reached, nothing is recorded and the command can run again.
            ended = _end_sessions(settings, account.id)
            outcome = app.reset_second_factor(account.id)
        finally:
            app.close()
        try:
            sender = email_sender(settings)
        except RuntimeError:  # no SMTP_HOST outside dev: the reset stands, the notice cannot go
            told = False
        else:
            once = str(outcome.position)
            told = send_with(
                sender, settings, "second_factor_reset", account.email, identity.language or "fr", once=once
            )
        click.echo(f"Second factor of account {account.id} reset.")
        click.echo(
            "Its sessions and API tokens are ended."
            if ended
            else "REDIS_URL is not set: sessions already open stay open until they time out."
        )
        click.echo(
            "Its holder was told by e-mail." if told else "The e-mail to its holder could not be sent."
        )
