"""Reminders and alerts (the practitioner and the staff who manage the agenda).

Per motif, and "*" for every motif without its own: which reminders go out,
and whether e-mail and SMS are used at all (`set_reminder_policy`); a motif's
own policy can be removed again (`remove_reminder_policy`). Plus the
daily agenda summary by e-mail (`choose_daily_summary`). The forms name the
practitioner; the commands refuse anyone who may not manage that agenda, so
another practice's staff get the same 404 as for a missing page. Nothing
here shows patients' health data: no second factor asked.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from consulta import notifications
from consulta.aggregates.errors import InvalidInputError
from consulta.http.pages_common import (
    AnyRequest,
    page,
    parse_uuid,
    see_other,
    services_of,
    staff_of,
    translate,
)
from consulta.http.pages_notify_forms import MotifForm, PolicyForm, SummaryForm, _, policy_of
from consulta.http.pages_pro import own_card
from consulta.projections.notification_reads import NotificationReads, effective

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
HERE = "/pro/reminders"
ROWS = 5  # reminder lines on the form (the default policy uses 4)


def _page(
    request: AnyRequest, motif: str, status: int = 200, error: str | None = None, done: str = "", **form: Any
) -> Template:
    actor = staff_of(request)
    card = own_card(request, actor)
    policies = NotificationReads(services_of(request).reads).policies(card.id)
    motifs = [("*", None)] + [(m.id, m.name) for m in card.rules.motifs]
    if motif not in dict(motifs):  # an unknown motif: the form for every motif, as it stands
        motif, form = "*", {k: v for k, v in form.items() if k != "policy"}
    rows = []
    for motif_id, name in motifs:
        policy, source = effective(policies, motif_id)
        rows.append({"id": motif_id, "name": name, "policy": policy, "source": source})
    in_force, source = effective(policies, motif)
    policy = form.get("policy") or in_force
    lines = list(policy["reminders"])[:ROWS]
    lines += [{}] * (ROWS - len(lines))
    summary = form.get("summary") or NotificationReads(services_of(request).reads).daily_summary(card.id)
    return page(
        "notify_pro.html.j2",
        status,
        card=card,
        rows=rows,
        motif=motif,
        policy=policy,
        source=source,
        lines=lines,
        summary=summary,
        error=error,
        done=done,
    )


@get(HERE, sync_to_thread=True, name="pro_reminders")
def reminders_page(request: AnyRequest, motif: FromQuery[str] = "*", done: FromQuery[str] = "") -> Template:
    return _page(request, motif[:64], done=done[:20])


@post(f"{HERE}/policy", sync_to_thread=True, name="pro_reminders_policy")
def save_policy(request: AnyRequest, data: Annotated[PolicyForm, Form]) -> Template | Redirect:
    actor = staff_of(request)
    services = services_of(request)
    practitioner_id = parse_uuid(data.practitioner_id, "practitioner")
    motif, policy = data.motif_id.strip()[:64], policy_of(data, ROWS)
    try:
        position = notifications.set_reminder_policy(services.app, actor, practitioner_id, motif, policy)
    except InvalidInputError as error:
        message = translate(request, _policy_message(error.detail))
        shown = {**policy, "reminders": [r for r in policy["reminders"] if isinstance(r, dict)]}
        return _page(request, motif, 422, message, policy=shown)
    services.wait_for(position, ("notifications",))
    return see_other(f"{HERE}?" + urlencode({"motif": motif, "done": "saved"}))


@post(f"{HERE}/policy/remove", sync_to_thread=True, name="pro_reminders_policy_remove")
def remove_policy(request: AnyRequest, data: Annotated[MotifForm, Form]) -> Redirect:
    actor = staff_of(request)
    services = services_of(request)
    practitioner_id = parse_uuid(data.practitioner_id, "practitioner")
    motif = data.motif_id.strip()[:64]
    position = notifications.remove_reminder_policy(services.app, actor, practitioner_id, motif)
    services.wait_for(position, ("notifications",))
    done = {"done": "removed"} if position else {}  # no own policy (a second click): the page as it is
    return see_other(f"{HERE}?" + urlencode({"motif": motif, **done}))


def _policy_message(detail: str) -> str:
    """The domain's refusal, as one of the sentences the catalogues translate."""
    if "motif" in detail:
        return _("Unknown motif: choose one from the list.")
    if "channel" in detail:
        return _("A reminder goes by e-mail or SMS.")
    return _("A reminder comes 1 to 30 days before; the booking conditions are whole numbers of days.")


@post(f"{HERE}/summary", sync_to_thread=True, name="pro_reminders_summary")
def save_summary(request: AnyRequest, data: Annotated[SummaryForm, Form]) -> Template | Redirect:
    actor = staff_of(request)
    services = services_of(request)
    practitioner_id = parse_uuid(data.practitioner_id, "practitioner")
    enabled = data.enabled == "on"
    hour = int(data.hour) if data.hour.strip().isdigit() and len(data.hour.strip()) <= 2 else -1
    try:  # the domain refuses an hour out of 0-23 (-1: not a number)
        position = notifications.choose_daily_summary(services.app, actor, practitioner_id, enabled, hour)
    except InvalidInputError:
        message = translate(request, "Choose an hour from 00:00 to 23:00.")
        return _page(request, "*", 422, message, summary={"enabled": enabled, "hour": 7})
    services.wait_for(position)
    return see_other(f"{HERE}?done=summary")


HANDLERS = [reminders_page, save_policy, remove_policy, save_summary]
