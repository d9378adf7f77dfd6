"""My notifications (patients): e-mail and SMS on or off, and the time zone of the SMS quiet hours.

No SMS goes out between 21:00 and 08:00 in the zone chosen here; none chosen,
the practice's zone. The page shows no health data: no second factor needed.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from consulta.aggregates.errors import InvalidInputError
from consulta.application import Actor
from consulta.http.pages_common import (
    AnyRequest,
    login_url,
    page,
    patient_of,
    see_other,
    services_of,
    translate,
)
from consulta.http.pages_notify_forms import _
from consulta.notifications import choose_channels
from consulta.projections.notification_reads import NotificationReads

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
HERE = "/my/notifications"


# (zone, label): mainland France, the overseas departments and territories, neighbours.
ZONES = [
    ("Europe/Paris", _("Mainland France (Paris)")),
    ("America/Guadeloupe", "Guadeloupe"),
    ("America/Martinique", "Martinique"),
    ("America/Cayenne", _("French Guiana (Cayenne)")),
    ("Indian/Reunion", _("Reunion")),
    ("Indian/Mayotte", "Mayotte"),
    ("America/Miquelon", _("Saint Pierre and Miquelon")),
    ("America/St_Barthelemy", _("Saint Barthelemy")),
    ("America/Marigot", _("Saint Martin")),
    ("Pacific/Noumea", _("New Caledonia (Noumea)")),
    ("Pacific/Tahiti", _("French Polynesia (Tahiti)")),
    ("Pacific/Wallis", _("Wallis and Futuna")),
    ("Europe/Brussels", _("Belgium (Brussels)")),
    ("Europe/Luxembourg", "Luxembourg"),
    ("Europe/Zurich", _("Switzerland (Zurich)")),
    ("Europe/Monaco", "Monaco"),
    ("Europe/London", _("United Kingdom (London)")),
    ("America/Toronto", _("Eastern Canada (Montreal, Toronto)")),
]


class NotificationsForm(msgspec.Struct):
    email: str = ""  # a checked box sends "on"; an unchecked one sends nothing
    sms: str = ""
    zone: str = ""  # "": the practice's zone


def _page(form: dict[str, object], status: int = 200, **extra: object) -> Template:
    zones = list(ZONES)
    zone = str(form.get("zone") or "")
    if zone and zone not in dict(ZONES) and status == 200:  # a zone chosen elsewhere stays shown
        zones.append((zone, zone))
    return page("notify_patient.html.j2", status, form=form, zones=zones, **extra)


@get(HERE, sync_to_thread=True, name="my_notifications")
def notifications_page(request: AnyRequest, done: FromQuery[str] = "") -> Template | Redirect:
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url(HERE))
    current = NotificationReads(services_of(request).reads).preferences(actor.account_id)
    return _page(current, done=done[:20], error=None)


@post(f"{HERE}/save", sync_to_thread=True, name="my_notifications_submit")
def save(request: AnyRequest, data: Annotated[NotificationsForm, Form]) -> Template | Redirect:
    actor: Actor | None = patient_of(request)
    if actor is None:
        return see_other(login_url(HERE))
    services = services_of(request)
    email, sms, zone = data.email == "on", data.sms == "on", data.zone.strip()[:64]
    try:
        position = choose_channels(services.app, actor, email, sms, zone)
    except InvalidInputError:
        message = translate(request, "Unknown time zone: choose one from the list.")
        form = {"email": email, "sms": sms, "zone": ""}
        return _page(form, 422, done="", error=message)
    services.wait_for(position, ("notifications",))
    return see_other(f"{HERE}?done=saved")


HANDLERS = [notifications_page, save]
