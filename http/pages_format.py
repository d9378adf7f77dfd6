"""Template helpers: local times with their zone, dates in the reader's language.

Instants are stored in UTC; pages show them in the practitioner's zone and
name the zone ("09:00 (Europe/Paris)"). `<time datetime>` carries the UTC
instant so /static/app.js can add the reader's own time when it differs.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from consulta.application import Actor
from consulta.http import i18n
from consulta.http.auth import page_actor


def local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))


def hm(instant: datetime, zone: str) -> str:
    return local(instant, zone).strftime("%H:%M")


def time_tag(instant: datetime, zone: str, with_zone: bool = True) -> Markup:
    """`<time>` with the local hour and, by default, the zone's name after it."""
    # Plain f-strings over escaped parts: Markup.format is slow, and a week view has hundreds of these.
    place = escape(zone)
    tag = f'<time datetime="{escape(instant.isoformat())}" data-zone="{place}">{escape(hm(instant, zone))}</time>'
    return Markup(f"{tag} ({place})" if with_zone else tag)  # noqa: S704  # parts escaped above


@pass_context
def long_date(context: Context, value: date | datetime, zone: str | None = None) -> str:
    if isinstance(value, datetime):
        value = local(value, zone or "UTC").date()
    language = i18n.request_language(context.get("request"))
    return _formatted(value, "full", language)


@pass_context
def short_date(context: Context, value: date | datetime, zone: str | None = None) -> str:
    if isinstance(value, datetime):
        value = local(value, zone or "UTC").date()
    language = i18n.request_language(context.get("request"))
    return _formatted(value, "EEE d MMM", language)


@pass_context
def birth_date(context: Context, value: date) -> str:
    """A date without its weekday (a birth date)."""
    return _formatted(value, "long", i18n.request_language(context.get("request")))


@lru_cache(maxsize=4096)
def _formatted(value: date, pattern: str, language: str) -> str:
    """Babel parses the locale on every call: a page shows the same few days many times."""
    return format_date(value, format=pattern, locale=language)


def iso_local(instant: datetime, zone: str) -> str:
    """The value of a datetime-local input: local wall time without offset."""
    return local(instant, zone).strftime("%Y-%m-%dT%H:%M")


@pass_context
def viewer(context: Context) -> Actor | None:
    """Who is reading the page (for the navigation), or None."""
    request = context.get("request")
    return page_actor(request) if request is not None else None


@pass_context
def current_path(context: Context) -> str:
    request = context.get("request")
    if request is None:
        return "/"
    query = request.scope.get("query_string", b"").decode("latin-1")
    return str(request.url.path) + (f"?{query}" if query else "")


@pass_context
def second_factor_passed(context: Context) -> bool:
    """Health data (motifs, later documents) is shown only to a session that passed a second factor."""
    from consulta.http.second_factor import page_second_factor

    request = context.get("request")
    return request is not None and page_second_factor(request) is not None


def configure(env: Environment) -> None:
    """Add translations and these helpers to the page templates' environment."""
    i18n.install(env)
    env.filters.update(
        hm=hm,
        time_tag=time_tag,
        long_date=long_date,
        short_date=short_date,
        birth_date=birth_date,
        iso_local=iso_local,
    )
    env.globals.update(viewer=viewer, current_path=current_path, second_factor_passed=second_factor_passed)
