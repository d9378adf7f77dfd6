"""Delivering a teleconsultation invitation: THE SEAM for the notifications pipeline.

The invitation's secrets (the link and the access code) are never recorded in
events, so the due-row pipeline of the notifications issue (which rebuilds
messages from events) cannot compose this message later: it is sent here,
right after `open_consultation`, by e-mail through `consulta.workers.email`
(SMTP, or the dev inbox in `consulta dev`). When the notifications pipeline
gains an API for immediate messages with secrets (an outbox row written
here, e-mail and SMS), replace the body of `deliver_invitation` with a call
to it; callers do not change. SMS is not sent yet.
The practitioner's page also shows the code and link once, to read out on the phone.
"""

from __future__ import annotations

import logging
from typing import Any

from consulta.teleconsultation import Invitation

log = logging.getLogger(__name__)

SUBJECT = "Your teleconsultation / Votre téléconsultation"
TEXT = """Your practitioner invites you to a teleconsultation.
Votre praticien vous invite à une téléconsultation.

Link / Lien (single use / usage unique): {link}
Or type this code at / Ou saisissez ce code sur {join}: {code}

A teleconsultation is not for emergencies: call 15 or 112.
La téléconsultation ne convient pas aux urgences : appelez le 15 ou le 112.
"""


def invitation_text(invitation: Invitation, link: str, join_url: str) -> str:
    return TEXT.format(link=link, join=join_url, code=invitation.code)


def deliver_invitation(services: Any, invitation: Invitation, link: str) -> bool:
    """Send the invitation to the account that manages the patient's profile; False when it could not."""
    app, settings = services.app, services.settings
    try:
        consultation = app.get_consultation(invitation.consultation_id)
        manager = app.get_profile(consultation.profile_id).manager_id
        if manager is None:
            return False  # a profile without an account: the practitioner reads the code out
        email = app.get_account(manager).email
        from consulta.workers.email import email_sender

        text = invitation_text(invitation, link, f"{settings.base_url}/join")
        email_sender(settings).send(
            email, SUBJECT, text, None, f"tele-invitation/{invitation.consultation_id}"
        )
        return True
    except Exception:  # the page already showed the code: a failed e-mail must not fail the request
        log.warning("teleconsultation invitation not sent", exc_info=True)
        return False
