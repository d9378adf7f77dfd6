"""The practitioner's public profile: name, specialty, RPPS number, practice address, languages, video."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from consulta.aggregates.errors import DomainError
from consulta.http.pages_common import AnyRequest, page, see_other, services_of, translate
from consulta.http.pages_pro import own_card
from consulta.http.pages_secretary_pro import practitioner_of
from consulta.projections.account_views import AccountReads

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class ProfileForm(msgspec.Struct):
    name: str
    specialty: str
    city: str
    address: str = ""
    rpps: str = ""
    languages: str = ""
    video_offered: str = ""


@get("/pro/profile", sync_to_thread=True, name="pro_profile")
def profile_page(request: AnyRequest, done: FromQuery[str] = "") -> Template:
    actor = practitioner_of(request)
    card = own_card(request, actor)
    details = AccountReads(services_of(request).reads).practitioner_details(card.id)
    form = {
        "name": card.name, "specialty": card.specialty, "city": card.city, "address": card.address,
        "rpps": details["rpps"], "languages": ", ".join(details["languages"]),
        "video_offered": details["video_offered"],
    }  # fmt: skip
    return page("pro_profile.html.j2", form=form, error=None, done=done[:20])


@post("/pro/profile/save", sync_to_thread=True, name="pro_profile_submit")
def save_profile(request: AnyRequest, data: Annotated[ProfileForm, Form]) -> Template | Redirect:
    actor = practitioner_of(request)
    services = services_of(request)
    details = {
        "name": data.name[:200], "specialty": data.specialty[:200], "city": data.city[:200],
        "address": data.address[:400], "rpps": data.rpps[:20],
        "languages": [x for x in data.languages.replace(";", ",").split(",") if x.strip()][:20],
        "video_offered": data.video_offered in ("on", "true", "1"),
    }  # fmt: skip
    try:
        outcome = services.app.describe_practitioner(actor, actor.practitioner_id, details)  # type: ignore[arg-type]
    except DomainError:
        message = translate(
            request, "Check the fields: an RPPS number has 11 digits, languages are two-letter codes."
        )
        form = {**details, "languages": data.languages[:100]}
        return page("pro_profile.html.j2", 422, form=form, error=message, done="")
    services.wait_for(outcome.position, ("practitioner_directory", "practitioner_details"))
    return see_other("/pro/profile?done=saved")


HANDLERS = [profile_page, save_profile]
