"""Delivering a teleconsultation invitation: THE SEAM for the notifications pipeline.

The invitation's secrets (the link and the access code) are never recorded in
events, so the due-row pipeline of the notifications issue (which rebuilds
messages from events) cannot compose this message later: it is sent here,
right after `open_consultation`, by e-mail through `consulta.workers.email`
and by SMS through `consulta.workers.sms` (the gateway, or the dev inbox in
`consulta dev`). When the notifications pipeline gains an API for immediate
messages with secrets (an outbox row written here, with retries), replace the
body of `deliver_invitation` with a call to it; callers do not change.
The practitioner's page also shows the code and link once, to read out on the phone.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from consulta.projections.notification_policy import quiet_until
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


def sms_text(invitation: Invitation, join_url: str) -> str:
    """No health information: a code and where to type it."""
    return f"Consulta: code {invitation.code} - {join_url}"


def deliver_invitation(services: Any, invitation: Invitation, link: str, now: datetime) -> dict[str, bool]:
    """E-mail (link and code) to the account managing the profile, SMS (code only) to the profile's phone.

    No SMS in the quiet hours (21:00-08:00 in the practice's zone): the e-mail and
    the code on the practitioner's page remain. Returns what was sent.
    """
    app, settings = services.app, services.settings
    sent = {"email": False, "sms": False}
    join_url = f"{settings.base_url}/join"
    try:
        consultation = app.get_consultation(invitation.consultation_id)
        profile = app.get_profile(consultation.profile_id)
        key = f"tele-invitation/{invitation.consultation_id}"
        if profile.manager_id is not None:
            from consulta.workers.email import email_sender

            email = app.get_account(profile.manager_id).email
            text = invitation_text(invitation, link, join_url)
            email_sender(settings).send(email, SUBJECT, text, None, key)
            sent["email"] = True
        phone = getattr(profile, "phone", "")
        zone = app.get_practitioner(consultation.practitioner_id).rules.policy.timezone
        if phone and quiet_until(now, zone) is None:
            from consulta.workers.sms import sms_sender

            sender = sms_sender(settings)
            if sender is not None:
                sender.send(phone, sms_text(invitation, join_url), key + "/sms")
                sent["sms"] = True
    except Exception:  # the page already showed the code: a failed message must not fail the request
        log.warning("teleconsultation invitation not sent in full", exc_info=True)
    return sent
