"""The bytes of an SMTP exchange: messages written with CRLF line ends, and MAIL, RCPT and DATA pipelined.

Used by `consulta.workers.email.SmtpSender`.
"""

from __future__ import annotations

import re
import smtplib
from email.policy import Compat32
from typing import Any


class _Unfolded(Compat32):
    """compat32 with CRLF line ends that writes ASCII header values as they are.

    build_message encodes every header value to ASCII beforehand (RFC 2047 where needed),
    so folding them again (about half the cost of writing a message) is skipped; lines
    stay within RFC 5322's limit of 998 characters. Anything else folds as before."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        plain = isinstance(value, str) and value.isascii() and "\r" not in value and "\n" not in value
        if plain and len(name) + len(value) < 990:
            return f"{name}: {value}{self.linesep}"
        return str(super()._fold(name, value, sanitize))  # type: ignore[misc]


CRLF = _Unfolded(linesep="\r\n")
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def pipelined(smtp: smtplib.SMTP, envelope_from: str, rcpt: str, content: bytes) -> tuple[int, bytes]:
    """MAIL, RCPT and DATA in one write, their three replies read after (RFC 2920): two round trips, not four."""
    smtp.send(
        f"MAIL FROM:{smtplib.quoteaddr(envelope_from)}\r\nRCPT TO:{smtplib.quoteaddr(rcpt)}\r\nDATA\r\n"
    )
    replies = [smtp.getreply() for _ in range(3)]
    for code, reply in replies[:2]:
        if code >= 400:
            if replies[2][0] == 354:  # a server that accepted DATA anyway waits for a message: end it empty
                smtp.send(b".\r\n")
                smtp.getreply()
            smtp.rset()
            raise smtplib.SMTPResponseException(code, reply)
    code, reply = replies[2]
    if code != 354:
        smtp.rset()
        raise smtplib.SMTPDataError(code, reply)
    body = _LEADING_DOT.sub(b"..", content)  # dot-stuffing (RFC 5321 4.5.2); content ends with CRLF
    smtp.send(body + (b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n"))
    return smtp.getreply()
