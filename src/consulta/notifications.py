"""Commands on notification choices (docs/notifications.md): a patient's channels, a practitioner's policy."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from consulta.aggregates.errors import ForbiddenError, InvalidInputError
from consulta.aggregates.notification_settings import NotificationPolicy, NotificationPreferences
from consulta.application import Actor, Consulta
from consulta.projections.notification_policy import DEFAULT_POLICY


def _position(app: Consulta, *aggregates: Any) -> int:
    recordings = app.save(*aggregates)
    return recordings[-1].notification.id if recordings else 0


def choose_channels(app: Consulta, actor: Actor, email: bool, sms: bool, zone: str | None = None) -> int:
    """The acting account turns e-mail or SMS notifications on or off; returns the log position.

    `zone`: the time zone of its SMS quiet hours ("" for the practice's zone; None leaves it as it
    is). An unknown zone raises InvalidInputError and records nothing, channels included.
    """
    preferences: NotificationPreferences
    try:
        preferences = app.repository.get(NotificationPreferences.id_for(actor.account_id))
    except AggregateNotFoundError:
        preferences = NotificationPreferences(account_id=actor.account_id)
    if zone is not None:
        preferences.choose_zone(zone)
    preferences.choose(email, sms)
    return _position(app, preferences)


def set_reminder_policy(
    app: Consulta, actor: Actor, practitioner_id: UUID, motif_id: str, policy: dict[str, Any]
) -> int:
    """The practitioner (or their staff) sets the reminder policy of one motif, or of all ("*")."""
    aggregate = _policy_of(app, actor, practitioner_id)
    motif_id = (motif_id or "").strip()
    if motif_id != "*" and motif_id not in {m.id for m in app.get_practitioner(practitioner_id).rules.motifs}:
        raise InvalidInputError("no such motif")
    aggregate.set_policy(motif_id, policy, DEFAULT_POLICY)
    return _position(app, aggregate)


def remove_reminder_policy(app: Consulta, actor: Actor, practitioner_id: UUID, motif_id: str) -> int:
    """A motif's own policy goes: it follows the one for every motif again ("*": the default policy).

    Returns the log position (0 when the motif had no policy of its own).
    """
    aggregate = _policy_of(app, actor, practitioner_id)
    if (motif_id or "").strip() not in aggregate.policies:
        return 0  # nothing to remove: nothing recorded, not even a new policy aggregate
    aggregate.remove_policy(motif_id)
    return _position(app, aggregate)


def choose_daily_summary(app: Consulta, actor: Actor, practitioner_id: UUID, enabled: bool, hour: int) -> int:
    """The practitioner (or their staff) turns the daily agenda e-mail on or off and picks its local hour.

    Returns the log position (0 when nothing changed). A bad hour raises
    InvalidInputError before anything is saved.
    """
    aggregate = _policy_of(app, actor, practitioner_id)
    aggregate.choose_daily_summary(enabled, hour)
    return _position(app, aggregate)


def _policy_of(app: Consulta, actor: Actor, practitioner_id: UUID) -> NotificationPolicy:
    """The practitioner's notification policy, for their own staff only (new when none is recorded)."""
    if not actor.may_manage_agenda(practitioner_id):
        raise ForbiddenError("only the practitioner's own staff may change their notifications")
    try:
        found: NotificationPolicy = app.repository.get(NotificationPolicy.id_for(practitioner_id))
    except AggregateNotFoundError:
        return NotificationPolicy(practitioner_id=practitioner_id)
    return found
