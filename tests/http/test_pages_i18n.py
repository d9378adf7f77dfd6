"""Every text the pages show has its French translation, and the catalogues compile."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from consulta.http import i18n

HTTP_DIR = Path(i18n.__file__).resolve().parent
METHOD_MAP = [("pages_*.py", "python"), ("templates/**.j2", "jinja2")]
OPTIONS = {
    "templates/**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "translate": (2,)}


def page_messages() -> set[str]:
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(HTTP_DIR), METHOD_MAP, OPTIONS, KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_page_text_is_translated_to_french() -> None:
    messages = page_messages()
    assert len(messages) > 100  # the extraction really looked at the templates
    french = i18n.translations("fr")
    untranslated = sorted(m for m in messages if m and french.gettext(m) == m and m != "%(minutes)s min")
    untranslated = [
        m for m in untranslated if m not in {"E-mail", "Agenda", "Patient"}
    ]  # same word in French
    assert untranslated == []


def test_english_catalogue_compiles_and_falls_back_to_the_text() -> None:
    english = i18n.translations("en")
    assert english.gettext("Find a practitioner") == "Find a practitioner"
    assert i18n.translations("fr").ngettext(
        "%(num)s practitioner found", "%(num)s practitioners found", 2
    ) == ("%(num)s praticiens trouvés")


def test_language_choice() -> None:
    assert i18n.pick_language(None, None) == "fr"
    assert i18n.pick_language("en", "fr-FR") == "en"
    assert i18n.pick_language("de", "de-DE, en;q=0.5") == "en"
