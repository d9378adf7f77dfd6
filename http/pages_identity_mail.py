"""E-mails about accounts: confirmation links, reset links, codes, invitations.

Sent at once over the configured channel (workers/email.py: SMTP, or the dev
inbox in `consulta dev`). Links carry only a random token, never personal
data; the message texts are translated into the reader's language.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from consulta.http import i18n
from consulta.http.pages_common import AnyRequest
from consulta.workers.email import EmailError, EmailSender, email_sender

log = logging.getLogger("consulta.http.mail")


def _(text: str) -> str:
    """Marks a message for the catalogues; `send` translates it into the reader's language."""
    return text


MESSAGES = {
    "confirm_email": (
        _("Confirm your e-mail address"),
        _("Open this link to confirm your e-mail address for Consulta (valid for 2 days):\n\n%(link)s\n"),
    ),
    "reset_password": (
        _("Choose a new password"),
        _(
            "Open this link to choose a new Consulta password (valid for one hour):\n\n%(link)s\n\n"
            "If you did not ask for it, ignore this message: your password stays as it is."
        ),
    ),
    "email_code": (
        _("Your Consulta code"),
        _(
            "Your code: %(code)s\n\nIt is valid for 10 minutes. If you did not try to log in, change your password."
        ),
    ),
    "claim_profile": (
        _("Your Consulta profile is waiting for you"),
        _(
            "You are invited to manage your own Consulta profile and appointments (link valid for 14 days):\n\n"
            "%(link)s\n"
        ),
    ),
    "second_factor_reset": (
        _("Your Consulta second factor was reset"),
        _(
            "The second factor of your Consulta account was reset at your request: every session and app"
            " logged in with your account was logged out.\n\nAt your next login, set up your authenticator"
            " app again when asked (staff), or choose a second factor again from your account page.\n\n"
            "If you did not ask for this, contact your practice or Consulta's support at once."
        ),
    ),
}


def sender_of(request: AnyRequest) -> EmailSender:
    state = request.app.state
    sender = getattr(state, "identity_mailer", None)
    if sender is None:
        sender = email_sender(state.settings)
        state.identity_mailer = sender
    return sender  # type: ignore[no-any-return]


def send(request: AnyRequest, kind: str, to: str, language: str | None = None, **values: Any) -> bool:
    """Send one message; False (and a log line without the address) when the channel failed."""
    settings = request.app.state.settings
    return send_with(
        sender_of(request), settings, kind, to, language or i18n.request_language(request), **values
    )


def send_with(
    sender: EmailSender, settings: Any, kind: str, to: str, language: str, once: str = "", **values: Any
) -> bool:
    """`send` outside a request (the `consulta account` commands): the sender and language given.

    The message's key (its Message-ID) comes from its text; `once` tells apart two messages of the same
    text (a notice without a link or code: the event's log position)."""
    gettext = i18n.gettext_for(language)
    subject, body = MESSAGES[kind]
    if "path" in values:
        values["link"] = settings.base_url.rstrip("/") + values.pop("path")
    text = gettext(body) % values
    key = f"{kind}/" + hashlib.sha256((once + text).encode()).hexdigest()[:32]
    try:
        sender.send(to, gettext(subject), text, None, key)
    except EmailError as error:
        log.warning("an account e-mail (%s) could not be sent: %s", kind, error)
        return False
    return True
