"""The web side of a teleconsultation invitation: sealing its secrets for the notifications pipeline.

Nothing is sent from the request. The page opens the consultation with
`seal=invitation_sealer(settings)`: the link token and the access code are
sealed (consulta.invitation_seal) and recorded in `Consultation.Invited`; the
`notifications` projection writes the due rows ("tele_invitation:email:..."
and "...:sms:...") and the worker opens the blob at send time, with the
pipeline's outbox, retries, dead letters and record of what went out
(docs/notifications.md, "Teleconsultation invitations"). The practitioner's
page also shows the code and link once, to read out on the phone.
"""

from __future__ import annotations

from uuid import UUID

from consulta.invitation_seal import open_in_this_process, seal
from consulta.settings import Settings
from consulta.teleconsultation import Sealer


def invitation_sealer(settings: Settings) -> Sealer:
    """Seals with the settings' secret key; in `consulta dev` and tests the worker threads open with it
    (or with the settings' previous keys) too."""
    secret = settings.secret_key
    if settings.is_dev:
        open_in_this_process(secret, settings.previous_secret_keys)

    def sealer(consultation_id: UUID, code: str, link_token: str) -> str:
        return seal(secret, consultation_id, code, link_token)

    return sealer
