"""The bytes of an SMTP exchange: MAIL, RCPT and DATA pipelined, messages dot-stuffed.

Used by `consulta.workers.email.SmtpSender`; the message bytes (CRLF line ends) come from
`consulta.workers.mime`.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator, Sequence

_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


_PLAIN_ADDRESS = re.compile(r"[!-;=?-~]+@[!-;=?-~]+")  # printable ASCII, no space, "<" or ">"


def _path(address: str) -> str:
    """<address> for MAIL and RCPT: as it is when plain (the usual case), else through smtplib's quoting."""
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def _envelope(envelope_from: str, rcpt: str) -> bytes:
    return f"MAIL FROM:{_path(envelope_from)}\r\nRCPT TO:{_path(rcpt)}\r\nDATA\r\n".encode()


def _stuffed(content: bytes) -> bytes:
    body = _LEADING_DOT.sub(b"..", content)  # dot-stuffing (RFC 5321 4.5.2)
    return body + (b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n")


def pipelined_many(
    smtp: smtplib.SMTP, envelope_from: str, messages: Sequence[tuple[str, bytes]]
) -> Iterator[tuple[int, int, bytes]]:
    """Several messages on one connection, each message's end sent with the next one's MAIL, RCPT and DATA.

    RFC 2920 lets the message content open a group of commands, so a message costs one
    round trip instead of two. Yields (index, code, reply) for each (recipient, content),
    in order, as soon as the server has answered for it: the reply to the end of its
    content, or the refusal of its MAIL, RCPT or DATA. A caller that stops early leaves the
    connection in the middle of a transaction: it must close it, without QUIT.
    """
    if not messages:
        return
    out = _envelope(envelope_from, messages[0][0])
    ending: int | None = None  # the message whose content `out` ends
    index = 0
    while True:
        smtp.send(out)
        if ending is not None:
            yield (ending, *smtp.getreply())
        replies = [smtp.getreply() for _ in range(3)]
        refused = next((reply for reply in replies[:2] if reply[0] >= 400), None)
        if refused is not None or replies[2][0] != 354:
            if replies[2][0] == 354:  # a server that accepted DATA anyway waits for a message: end it empty
                smtp.send(b".\r\n")
                smtp.getreply()
            smtp.rset()
            yield (index, *(refused or replies[2]))
            index += 1
            if index == len(messages):
                return
            out, ending = _envelope(envelope_from, messages[index][0]), None
            continue
        body = _stuffed(messages[index][1])
        if index + 1 == len(messages):
            smtp.send(body)
            yield (index, *smtp.getreply())
            return
        out, ending = body + _envelope(envelope_from, messages[index + 1][0]), index
        index += 1


def one_by_one(
    smtp: smtplib.SMTP, envelope_from: str, messages: Sequence[tuple[str, bytes]]
) -> Iterator[tuple[int, int, bytes]]:
    """The same outcomes as `pipelined_many`, for a server without PIPELINING: four round trips a message."""
    for index, (rcpt, content) in enumerate(messages):
        code, reply = smtp.mail(envelope_from)
        if code < 400:
            code, reply = smtp.rcpt(rcpt)
        if code >= 400:
            smtp.rset()
            yield index, code, reply
            continue
        try:
            yield (index, *smtp.data(content))  # smtplib dot-stuffs; its reply ends the transaction
        except smtplib.SMTPDataError as refused:  # DATA itself refused
            smtp.rset()
            text = refused.smtp_error
            yield index, refused.smtp_code, text if isinstance(text, bytes) else str(text).encode()
