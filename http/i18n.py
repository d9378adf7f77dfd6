"""French and English text: gettext catalogues (Babel .po files) compiled in memory at start."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
LANGUAGE_COOKIE = "lang"


@cache
def translations(language: str) -> gettext.NullTranslations:
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if language not in LANGUAGES or not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def request_language(request: Any) -> str:
    """The language of a page request: the `lang` cookie, else Accept-Language, else French."""
    if request is None:
        return DEFAULT_LANGUAGE
    cached = request.scope.get("consulta_lang")
    if cached:
        return str(cached)
    language = pick_language(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))
    request.scope["consulta_lang"] = language
    return language


def gettext_for(language: str) -> Callable[[str], str]:
    return translations(language).gettext


@pass_context
def _gettext(context: Context, message: str, **variables: Any) -> str:
    text = translations(request_language(context.get("request"))).gettext(message)
    result = Markup(text) if context.eval_ctx.autoescape else text  # noqa: S704  # our catalogues
    try:
        return result % variables  # type: ignore[no-any-return]  # newstyle: '%' is always escaped as '%%'
    except (KeyError, ValueError, TypeError):  # a message passed through `_()` that holds a bare '%'
        return result


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int, **variables: Any) -> str:
    variables.setdefault("num", n)
    text = translations(request_language(context.get("request"))).ngettext(singular, plural, n)
    result = Markup(text) if context.eval_ctx.autoescape else text  # noqa: S704  # our catalogues
    return result % variables  # type: ignore[no-any-return]


@pass_context
def _current_language(context: Context) -> str:
    return request_language(context.get("request"))


def install(env: Environment) -> None:
    """Per-request translations: templates translate into the language of the request they render for."""
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals.update(gettext=_gettext, ngettext=_ngettext, _=_gettext, current_language=_current_language)
