"""Writing a confirmation e-mail: consulta.workers.mime against the stdlib `email` package.

    .venv/bin/python bench/mime.py [--messages 2000] [--repeats 9]

The message is the patient's confirmation as the outbox sends it: subject and
text from workers/messages.render("confirmation", "fr", ...) for a realistic
appointment (accents in the subject, the practice and the address), no HTML,
and the .ics file from workers/calendar.appointment_ics.
- new: `message_bytes(...)`, the bytes ready for SMTP (CRLF line ends).
- baseline, same run: what SmtpSender did before, `build_message(...)` with
  the compat32 MIME classes, then `as_bytes()` with a CRLF policy that does not
  fold headers again (both copied below, as they were in workers/email.py and
  workers/smtp_wire.py).
Each repeat times --messages messages of one, then of the other; reported: µs
per message, median over the repeats, and the ratio baseline / new. Both
outputs are parsed back once and must give the same subject, text and file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email import encoders
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesParser
from email.policy import Compat32, default
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Any
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine

from consulta.workers.calendar import appointment_ics
from consulta.workers.messages import item, render
from consulta.workers.mime import Attachment, message_bytes, message_id_for

SENDER = "Cabinet Médical Hélène Lefèvre <rdv@cabinet-lefevre.example>"
TO = "jeanne.dupont@example.org"
KEY = "confirmation:5f0c2d1e-8a4b-4c55-9d7e-3b1f2a6c9e10"


class _Unfolded(Compat32):
    """The baseline's policy (was workers/smtp_wire.CRLF): compat32, CRLF, ASCII headers not folded again."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        plain = isinstance(value, str) and value.isascii() and "\r" not in value and "\n" not in value
        if plain and len(name) + len(value) < 990:
            return f"{name}: {value}{self.linesep}"
        return str(super()._fold(name, value, sanitize))  # type: ignore[misc]


CRLF = _Unfolded(linesep="\r\n")


def build_message(
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    key: str,
    attachments: Sequence[Attachment] = (),
) -> Message:
    """The baseline, as it was in workers/email.py."""
    body: Message
    if html is None:
        body = MIMEText(text, "plain", "utf-8")
    else:
        body = MIMEMultipart("alternative")
        body.attach(MIMEText(text, "plain", "utf-8"))
        body.attach(MIMEText(html, "html", "utf-8"))
    if attachments:
        mixed = MIMEMultipart("mixed")
        mixed.attach(body)
        for name, content_type, data in attachments:
            maintype, _, rest = content_type.partition("/")
            subtype, *params = [p.strip() for p in rest.split(";")]
            part = MIMEBase(maintype, subtype)
            for param in params:
                name_, _, value = param.partition("=")
                part.set_param(name_, value)
            part.set_payload(data)
            encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=name)
            mixed.attach(part)
        body = mixed
    name, address = parseaddr(sender)
    body["From"] = formataddr((name, address), charset="utf-8")
    body["To"] = formataddr(parseaddr(to), charset="utf-8")
    subject_header: Any = subject if subject.isascii() else Header(subject, "utf-8", header_name="Subject")
    body["Subject"] = subject_header
    body["Message-ID"] = message_id_for(key, sender)
    body["Date"] = formatdate(localtime=False)
    body["Auto-Submitted"] = "auto-generated"
    return body


def confirmation() -> tuple[str, str, list[Attachment]]:
    """Subject, text and .ics of a confirmation, made as workers/outbox.py makes them."""
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    starts = datetime(2026, 12, 9, 9, 15, tzinfo=UTC)
    row = {
        "id": uuid4(),
        "starts_at": starts,
        "ends_at": starts + timedelta(minutes=30),
        "practice": "Cabinet d'ophtalmologie du Dr Hélène Lefèvre",
        "address": "12 rue de la Préfecture, 69002 Lyon — bâtiment B, 3e étage",
        "motif": "Première consultation, contrôle de la vue",
        "mode": "in_person",
        "timezone": "Europe/Paris",
        "practitioner_id": uuid4(),
    }
    a = item(row, "https://rdv.consulta.example")
    rendered = render("confirmation", "fr", {"a": a, "items": [a], "name": "Jeanne Dupont", "patient": ""})
    ics = appointment_ics(a, a["ends_at"], now)
    return rendered.subject, rendered.text, [("rendez-vous.ics", "text/calendar; method=PUBLISH", ics)]


def per_message(build: Any, messages: int) -> float:
    start = time.perf_counter()
    for _ in range(messages):
        build()
    return (time.perf_counter() - start) / messages * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()

    subject, text, files = confirmation()

    def new() -> bytes:
        return message_bytes(SENDER, TO, subject, text, None, KEY, files)[0]

    def baseline() -> bytes:
        return build_message(SENDER, TO, subject, text, None, KEY, files).as_bytes(policy=CRLF)

    for content in (new(), baseline()):
        message: Any = BytesParser(policy=default).parsebytes(content)
        assert message["Subject"] == subject
        assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
        [ics] = message.iter_attachments()
        assert ics.get_payload(decode=True) == files[0][2]
    print(machine())
    print(
        f"message: subject {len(subject)} characters, text {len(text.encode())} bytes, "
        f".ics {len(files[0][2])} bytes; new {len(new())} bytes, baseline {len(baseline())} bytes"
    )
    times: dict[str, list[float]] = {"new": [], "baseline": []}
    per_message(new, args.messages // 10)  # warm-up
    per_message(baseline, args.messages // 10)
    for _ in range(args.repeats):
        times["new"].append(per_message(new, args.messages))
        times["baseline"].append(per_message(baseline, args.messages))
    new_us, base_us = statistics.median(times["new"]), statistics.median(times["baseline"])
    spread = {k: f"{min(v):.1f}-{max(v):.1f}" for k, v in times.items()}
    print(f"new (consulta.workers.mime):   {new_us:7.1f} µs/message  (range {spread['new']})")
    print(f"baseline (stdlib email):       {base_us:7.1f} µs/message  (range {spread['baseline']})")
    print(
        f"baseline / new: {base_us / new_us:.1f}x  ({args.repeats} repeats of {args.messages} messages, median)"
    )


if __name__ == "__main__":
    main()
