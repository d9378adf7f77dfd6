"""The bytes of an SMTP exchange: MAIL, RCPT and DATA pipelined, the message dot-stuffed.

Used by `consulta.workers.email.SmtpSender`; the message bytes (CRLF line ends) come from
`consulta.workers.mime`.
"""

from __future__ import annotations

import re
import smtplib

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
