"""Pages anyone can read: search, results, a practitioner's page with the next free slots."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import groupby
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from markupsafe import Markup

from consulta.aggregates.rules import Slot
from consulta.http import i18n
from consulta.http.auth import page_actor
from consulta.http.known_patients import KnownProfiles, restricted
from consulta.http.pages_common import (
    CSRF_MARK,
    AnyRequest,
    cached_reads,
    csrf_input,
    language_cookie,
    now_of,
    page,
    parse_day,
    patient_of,
    safe_next,
    see_other,
    services_of,
    template_engine,
)
from consulta.projections.views import PractitionerCard

# The practitioner page shows, per motif, the first days with free slots; "more dates" shows all.
DAYS_SHOWN = 2
SLOTS_PER_DAY = 32
SLOTS_SCANNED = 120
DAYS_PER_PAGE = 7


def _text(value: str | None, limit: int = 100) -> str:
    return " ".join((value or "").split())[:limit]


@get("/", sync_to_thread=True, name="home")
def home(request: AnyRequest) -> Template:
    specialties, cities = services_of(request).reads.specialties_and_cities()
    return page("home.html.j2", specialties=specialties, cities=cities, form={})


@get("/search", sync_to_thread=True, name="search")
def search(
    request: AnyRequest,
    q: FromQuery[str] = "",
    specialty: FromQuery[str] = "",
    city: FromQuery[str] = "",
    video: FromQuery[str] = "",
) -> Template:
    reads = services_of(request).reads
    q, specialty, city = _text(q), _text(specialty), _text(city)
    form = {"q": q, "specialty": specialty, "city": city, "video": video == "1"}
    found = reads.search_practitioners(q, specialty, city, True if video == "1" else None)
    specialties, cities = reads.specialties_and_cities()
    return page("results.html.j2", results=found, form=form, specialties=specialties, cities=cities)


def card_or_404(request: AnyRequest, practitioner_id: UUID) -> PractitionerCard:
    card = cached_reads(request).practitioner(practitioner_id)
    if card is None:
        raise NotFoundException("No such practitioner.")
    return card


def by_day(slots: list[Slot], zone: str) -> list[tuple[date, list[Slot]]]:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    return [
        (day, list(group)) for day, group in groupby(slots, key=lambda s: s.starts_at.astimezone(tz).date())
    ]


def first_days(slots: list[Slot], zone: str, count: int) -> list[tuple[date, list[Slot]]]:
    """`by_day(slots, zone)[:count]`, without converting the slots of the days not shown."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    out: list[tuple[date, list[Slot]]] = []
    for slot in slots:
        day = slot.starts_at.astimezone(tz).date()
        if out and out[-1][0] == day:
            out[-1][1].append(slot)
        elif len(out) == count:
            break
        else:
            out.append((day, [slot]))
    return out


@get("/practitioners/{practitioner_id:uuid}", sync_to_thread=True, name="practitioner")
def practitioner_page(request: AnyRequest, practitioner_id: FromPath[UUID]) -> Template:
    reads = cached_reads(request)
    positions = reads.page_positions()  # before anything is read: see consulta.projections.cached
    card = card_or_404(request, practitioner_id)
    now = now_of(request)
    horizon = now + timedelta(days=card.rules.policy.horizon_days)
    template = template_engine(request).get_template("pages/_motif_slots.html.j2")
    language = i18n.request_language(request)
    field = csrf_input(request)
    known = KnownProfiles(services_of(request), page_actor(request), card.id, cache=reads)
    motifs: list[dict[str, Any]] = []
    for index, motif in enumerate(card.rules.motifs, start=1):
        # A motif closed to new patients shows its slots only to whom may book it (consulta.http.known_patients).
        locked = known.locked(motif)
        slots = [] if locked else reads.free_slots(card, motif.id, now, horizon, now, limit=SLOTS_SCANNED)
        days = [
            (day, day_slots[:SLOTS_PER_DAY])
            for day, day_slots in first_days(slots, card.timezone, DAYS_SHOWN)
        ]
        entry = {"motif": motif, "days": days, "locked": locked, "restricted": restricted(motif)}

        def render(entry: dict[str, Any] = entry, index: int = index) -> str:
            return template.render(entry=entry, index=index, card=card, request=request, csrf_input=CSRF_MARK)

        # What the section shows is the card (directory positions), these slots and whether the viewer
        # may see them at all (the one viewer-dependent part): the key holds all three.
        shown = tuple((s.starts_at.timestamp(), s.mode) for _day, day_slots in days for s in day_slots)
        key = ("motif-html", card.id, motif.id, index, language, locked, shown)
        html = render() if positions is None else reads.remember(key, positions, render)
        motifs.append({**entry, "html": Markup(html.replace(CSRF_MARK, field))})  # noqa: S704  # our template
    return page("practitioner.html.j2", card=card, motifs=motifs, patient=patient_of(request))


@get("/practitioners/{practitioner_id:uuid}/slots", sync_to_thread=True, name="practitioner_slots")
def practitioner_slots(
    request: AnyRequest, practitioner_id: FromPath[UUID], motif: FromQuery[str], start: FromQuery[str] = ""
) -> Template:
    """A week of one motif's free slots, with links to the weeks before and after."""
    reads = cached_reads(request)
    card = card_or_404(request, practitioner_id)
    chosen = card.rules.motif(motif)  # NotFoundError -> 404
    now = now_of(request)
    first = parse_day(start, card.rules.local_day(now))
    lo, _ = card.rules.day_bounds(first)
    _, hi = card.rules.day_bounds(first + timedelta(days=DAYS_PER_PAGE - 1))
    locked = KnownProfiles(services_of(request), page_actor(request), card.id, cache=reads).locked(chosen)
    slots = [] if locked else reads.free_slots(card, chosen.id, lo, hi, now)
    days = dict(by_day(slots, card.timezone))
    week = [
        (first + timedelta(days=i), days.get(first + timedelta(days=i), [])) for i in range(DAYS_PER_PAGE)
    ]
    return page(
        "slots.html.j2",
        card=card,
        motif=chosen,
        week=week,
        previous=first - timedelta(days=DAYS_PER_PAGE) if first > card.rules.local_day(now) else None,
        following=first + timedelta(days=DAYS_PER_PAGE),
        patient=patient_of(request),
        locked=locked,
        restricted=restricted(chosen),
    )


class LanguageForm(msgspec.Struct):
    lang: str
    next: str = "/"


@post("/language", sync_to_thread=True, name="language")
def choose_language(
    request: AnyRequest,
    data: Annotated[LanguageForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    """Remember the reader's language in a cookie, and on the account when logged in (set again at login)."""
    language = data.lang if data.lang in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    actor = page_actor(request)
    if actor is not None:
        services_of(request).app.choose_language(actor.account_id, language)
    response = see_other(safe_next(data.next))
    response.cookies.append(language_cookie(language))
    return response


HANDLERS = [home, search, practitioner_page, practitioner_slots, choose_language]
