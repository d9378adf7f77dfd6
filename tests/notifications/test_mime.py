"""Messages written by consulta.workers.mime read back by the stdlib parser as they were given."""

from __future__ import annotations

import email
import email.policy
import re
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from consulta.workers.email import SmtpSender
from consulta.workers.mime import Attachment, message_bytes, message_id_for, parse_address
from tests.notifications.smtp_server import SmtpServer

DATE = "Wed, 09 Dec 2026 09:15:00 -0000"
SETTINGS = hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

FRENCH = [
    "Rendez-vous",
    "confirmé",
    "déplacé",
    "annulé",
    "à",
    "mercredi",
    "9",
    "décembre",
    "2026",
    "10:15",
    "Hélène",
    "Müller-Lévêque",
    "cabinet",
    "médical",
    "d'ophtalmologie",
    "—",
    "😀",
    "🩺",
    ":",
    "«",
    "»",
]
unicode_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=120)
french = st.lists(st.sampled_from(FRENCH), min_size=1, max_size=40).map(" ".join)
ascii_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200)
subjects = st.one_of(french, unicode_text, ascii_text)

addresses = st.from_regex(
    r"[a-z0-9][a-z0-9_+-]{0,15}(\.[a-z0-9_+-]{1,8})?@[a-z0-9-]{1,15}\.[a-z]{2,6}", fullmatch=True
)
name_words = st.one_of(
    st.sampled_from([*FRENCH[10:14], "Jean", "O'Neil", "Dr.", "Zoë", "Łukasz", "李", "=?utf-8?q?x?="]),
    st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=12),
)
names = st.lists(name_words, min_size=0, max_size=5).map(" ".join)

line_breaks = st.sampled_from(["\r\n", "\r", "\n", "\n\n", "\r\r\n"])
bodies = st.lists(
    st.one_of(
        unicode_text,
        line_breaks,
        st.just("."),
        st.just("\n.\n"),
        st.just("=_a"),
        st.text(alphabet="ab é=.\t", min_size=900, max_size=2000),
    ),
    max_size=12,
).map("".join)

tokens = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
param_values = st.one_of(
    st.text(
        alphabet=st.characters(
            categories=["L", "M", "N", "P", "S", "Z", "Cf", "Co"], blacklist_characters=';"'
        ),
        max_size=90,
    ),
    st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=";"), max_size=40
    ),
).filter(lambda v: v == v.strip())
content_types = st.tuples(
    st.sampled_from(["text/calendar", "application/pdf", "image/png", "application/octet-stream"]),
    st.dictionaries(tokens.filter(lambda t: t != "charset"), param_values, max_size=3),
)
file_names = st.one_of(
    st.sampled_from(["rendez-vous.ics", "ordonnance du 9 décembre.pdf", 'a"b\\c.txt']),
    st.text(
        alphabet=st.characters(categories=["L", "M", "N", "P", "S", "Z", "Cf", "Co"]),
        min_size=1,
        max_size=120,
    ),
).filter(lambda n: n == n.strip() and n != "")
attachments = st.lists(st.tuples(file_names, content_types, st.binary(max_size=2000)), max_size=3)


def crlf(text: str) -> str:
    """What a reader decodes from a body: every line break (CRLF, CR, LF) as CRLF."""
    return re.sub(r"\r\n?|\n", "\r\n", text)


def content_type_string(kind: str, params: dict[str, str]) -> str:
    return "; ".join([kind, *(f"{k}={v}" for k, v in params.items())])


def check_lines(content: bytes) -> None:
    assert content.endswith(b"\r\n")
    for line in content[:-2].split(b"\r\n"):
        assert b"\r" not in line and b"\n" not in line
        assert line.isascii()
        assert len(line) <= 998
        # Only a display name sent as one encoded word (see workers/mime.py) may pass 78.
        assert len(line) <= 78 or re.fullmatch(
            rb"(From|To): =\?utf-8\?b\?[A-Za-z0-9+/=]*\?=( <[!-~]+>)?", line
        )


def check_message(
    content: bytes,
    message_id: str,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    files: list[Attachment],
    key: str,
) -> EmailMessage:
    check_lines(content)
    message = BytesParser(policy=email.policy.default).parsebytes(content)
    assert isinstance(message, EmailMessage)
    for part in message.walk():
        assert not part.defects, part.defects
    assert message["Subject"] == subject
    for header, value in (("From", sender), ("To", to)):
        [address] = message[header].addresses
        assert (address.display_name, address.addr_spec) == parseaddr(value)
    assert message["Message-ID"] == message_id == message_id_for(key, sender)
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["MIME-Version"] == "1.0"
    expected_type = (
        "multipart/mixed" if files else "multipart/alternative" if html is not None else "text/plain"
    )
    assert message.get_content_type() == expected_type
    plain = message.get_body(("plain",))
    assert plain is not None and plain.get_content() == crlf(text)
    if html is not None:
        html_part = message.get_body(("html",))
        assert html_part is not None and html_part.get_content() == crlf(html)
    found = list(message.iter_attachments())
    assert len(found) == len(files)
    for part, (name, content_type, data) in zip(found, files, strict=True):
        kind, *_ = content_type.split(";")
        assert part.get_filename() == name
        assert part.get_content_type() == kind
        assert part.get_payload(decode=True) == data
        params = dict(part["Content-Type"].params)
        assert params == dict(p.strip().partition("=")[::2] for p in content_type.split(";")[1:])

    # The legacy parser (compat32) and RFC 2047 decoding read the same subject, bodies and files.
    legacy = email.message_from_bytes(content)
    unfolded = legacy["Subject"].replace("\r\n", "")  # compat32 keeps the folds (RFC 5322 2.2.3: unfold)
    assert str(make_header(decode_header(unfolded))) == subject
    legacy_parts = [p for p in legacy.walk() if not p.is_multipart()]
    assert legacy_parts[0].get_payload(decode=True) == crlf(text).encode()
    assert [p.get_payload(decode=True) for p in legacy_parts[1 + (html is not None) :]] == [
        d for *_, d in files
    ]
    return message


@SETTINGS
@given(
    subject=subjects,
    sender_name=names,
    to_name=names,
    sender_address=addresses,
    to_address=addresses,
    text=bodies,
    html=st.none() | bodies,
    files=attachments,
    key=st.text(max_size=40),
)
def test_messages_read_back_as_they_were_given(
    subject: str,
    sender_name: str,
    to_name: str,
    sender_address: str,
    to_address: str,
    text: str,
    html: str | None,
    files: list[tuple[str, tuple[str, dict[str, str]], bytes]],
    key: str,
) -> None:
    sender = f"{sender_name} <{sender_address}>" if sender_name else sender_address
    to = f"{to_name} <{to_address}>" if to_name else to_address
    assume(parseaddr(sender) == (sender_name, sender_address) and parseaddr(to) == (to_name, to_address))
    subject = re.sub(r"[\r\n]", " ", subject)  # a subject is one line (line breaks are not kept)
    given_files = [(name, content_type_string(*ct), data) for name, ct, data in files]
    content, message_id = message_bytes(sender, to, subject, text, html, key, given_files, date=DATE)
    message = check_message(content, message_id, sender, to, subject, text, html, given_files, key)
    assert message["Date"] == DATE


@SETTINGS
@given(address=st.from_regex(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+", fullmatch=True))
def test_the_fast_path_for_bare_addresses_reads_them_as_parseaddr_does(address: str) -> None:
    assert parse_address(address) == parseaddr(address)


def test_a_typical_confirmation_is_readable_quoted_printable_with_a_short_subject_as_it_is() -> None:
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nEND:VCALENDAR\r\n"
    content, _ = message_bytes(
        '"Dupont, Cabinet" <rdv@cabinet.example>',
        "jeanne@example.org",
        "Votre rendez-vous",
        "Bonjour Jeanne,\n\nà mercredi.\n",
        None,
        "confirm/1",
        [("rendez-vous.ics", "text/calendar; method=PUBLISH", ics)],
    )
    head = content.split(b"\r\n\r\n", 1)[0].decode()
    assert 'From: "Dupont, Cabinet" <rdv@cabinet.example>\r\n' in head
    assert "To: jeanne@example.org\r\nSubject: Votre rendez-vous\r\n" in head
    assert (
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nBonjour Jeanne,\r\n\r\n=C3=A0 mercredi.\r\n"
        in content
    )
    assert b'Content-Type: text/calendar; method="PUBLISH"\r\n' in content
    assert b'Content-Disposition: attachment; filename="rendez-vous.ics"\r\n' in content


def test_a_long_french_subject_is_encoded_in_words_that_keep_every_character_whole() -> None:
    subject = "Rendez-vous confirmé : Cabinet Médical Hélène, le mercredi 9 décembre 2026 à 10:15 🩺 " * 3
    content, _ = message_bytes("rdv@cabinet.example", "a@example.org", subject, "t", None, "k")
    lines = content.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b"Subject: "))
    words = [lines[start][len(b"Subject: ") :]] + [
        line[1:] for line in lines[start + 1 :] if line.startswith(b" ")
    ]
    assert len(words) > 3
    for word in words:
        assert len(word) <= 75 and word.startswith(b"=?utf-8?b?") and word.endswith(b"?=")
        decoded = decode_header(word.decode())[0][0]
        assert isinstance(decoded, bytes)
        decoded.decode()  # each word holds whole UTF-8 characters
    assert BytesParser(policy=email.policy.default).parsebytes(content)["Subject"] == subject


def test_sent_through_smtp_sender_it_arrives_as_it_was_given() -> None:
    server = SmtpServer().start()
    server.handler.pipelining = True
    try:
        sender = SmtpSender(
            "127.0.0.1", server.port, sender="Cabinet Médical Hélène <rdv@cabinet.example>", starttls=False
        )
        subject = "Rendez-vous confirmé : Cabinet Médical Hélène, le mercredi 9 décembre 2026 à 10:15 🩺"
        text = "Bonjour Zoë,\n.\n..deux points\r\nligne " + "très longue " * 120 + "\rfin"
        ics: Attachment = (
            "rendez-vous.ics",
            "text/calendar; method=PUBLISH",
            b"BEGIN:VCALENDAR\r\n.\r\n" * 20,
        )
        provider_id = sender.send(
            "Zoë Lefèvre <zoe@example.org>", subject, text, "<p>Bonjour</p>\n.\n", "smtp/1", [ics]
        )
        [received] = server.messages
        assert provider_id == received.queue_id
        assert received.recipients == ["zoe@example.org"]
        message: Any = received.message
        assert message["Subject"] == subject
        assert message["From"].addresses[0].display_name == "Cabinet Médical Hélène"
        assert message["To"].addresses[0].display_name == "Zoë Lefèvre"
        assert message["Message-ID"] == message_id_for("smtp/1", "rdv@cabinet.example")
        assert message.get_body(("plain",)).get_content() == crlf(text)
        assert message.get_body(("html",)).get_content() == "<p>Bonjour</p>\r\n.\r\n"
        [attachment] = message.iter_attachments()
        assert attachment.get_filename() == "rendez-vous.ics"
        assert attachment["Content-Type"].params == {"method": "PUBLISH"}
        assert attachment.get_payload(decode=True) == ics[2]
    finally:
        server.stop()


@pytest.mark.parametrize(
    "to",
    [
        "ann@example.org\r\nBcc: eve@example.net",  # parseaddr would keep the first line only
        "Ann <ann@example.org>\nX-Other: 1",
        "ann@example.org, eve@example.net",  # parseaddr would keep the first address only
        '"Ann\r\nB" <ann@example.org>',  # parseaddr would make "Ann" the address
        "ann@example.org\x00",
        "Ann Nobody",  # no address at all
    ],
)
def test_a_recipient_that_is_not_exactly_one_clean_address_is_refused(to: str) -> None:
    with pytest.raises(ValueError):
        message_bytes("Consulta <no-reply@consulta.example>", to, "Rendez-vous", "Bonjour", None, "k", [])
