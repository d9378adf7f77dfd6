"""A batch of e-mails on one connection (`SmtpSender.send_many`), against a real SMTP server.

With PIPELINING each message's end travels with the next message's MAIL, RCPT and DATA;
each outcome must still belong to its own message, and a refusal to one message must
not touch the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from consulta.workers.email import (
    Outgoing,
    PermanentEmailError,
    SmtpSender,
    TemporaryEmailError,
    message_id_for,
)
from tests.notifications.smtp_server import SmtpServer

SENDER = "Cabinet <rdv@cabinet.example>"


@pytest.fixture(params=[True, False], ids=["pipelining", "one-by-one"])
def server(request: Any) -> Iterator[SmtpServer]:
    smtp = SmtpServer().start()
    smtp.handler.pipelining = request.param
    yield smtp
    smtp.stop()


def outgoing(count: int, prefix: str) -> list[Outgoing]:
    ics = [("rendez-vous.ics", "text/calendar; method=PUBLISH", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")]
    return [
        Outgoing(f"p{i}@example.org", f"Rappel {i}", f"Bonjour {i},\n.\nà demain", None, f"{prefix}:{i}", ics)
        for i in range(count)
    ]


def sender_for(server: SmtpServer) -> SmtpSender:
    return SmtpSender("127.0.0.1", server.port, sender=SENDER, starttls=False, timeout=5)


def test_each_message_arrives_whole_with_its_own_outcome_on_one_connection(server):
    messages = outgoing(5, "batch")
    outcomes = list(sender_for(server).send_many(messages))
    received = server.messages
    assert [i for i, _ in outcomes] == [0, 1, 2, 3, 4]
    assert [o for _, o in outcomes] == [r.queue_id for r in received]  # each outcome is its own message's
    assert [r.recipients for r in received] == [[m.to] for m in messages]
    for m, r in zip(messages, received, strict=True):
        assert r.message["Message-ID"] == message_id_for(m.idempotency_key, SENDER)
        body, attachment = list(r.message.iter_parts())
        assert body.get_content().replace("\r\n", "\n").rstrip("\n") == m.text
        assert attachment.get_filename() == "rendez-vous.ics"
    assert server.handler.ehlo_seen == 1


def test_a_refused_recipient_fails_for_good_alone_and_the_batch_goes_on(server):
    messages = outgoing(3, "refused")
    server.handler.refuse = {"p1@example.org": "550 5.1.1 No such mailbox"}
    sender = sender_for(server)
    outcomes = dict(sender.send_many(messages))
    assert isinstance(outcomes[1], PermanentEmailError) and "550" in str(outcomes[1])
    assert [r.recipients for r in server.messages] == [["p0@example.org"], ["p2@example.org"]]
    assert outcomes[0] == server.messages[0].queue_id and outcomes[2] == server.messages[1].queue_id
    assert isinstance(dict(sender.send_many(outgoing(1, "after")))[0], str)
    if server.handler.pipelining:
        assert server.handler.ehlo_seen == 1  # RSET, and the connection went on


def test_a_deferred_message_stops_the_batch_and_the_rest_is_not_tried(server):
    messages = outgoing(4, "deferred")
    server.handler.data_replies = {"p1@example.org": "451 4.3.0 Try again later"}
    sender = sender_for(server)
    outcomes = list(sender.send_many(messages))
    assert [i for i, _ in outcomes] == [0, 1]
    assert isinstance(outcomes[0][1], str)
    assert isinstance(outcomes[1][1], TemporaryEmailError) and "451" in str(outcomes[1][1])
    assert [r.recipients for r in server.messages] == [["p0@example.org"]]
    server.handler.data_replies = {}
    again = list(sender.send_many(messages[1:]))  # later: a fresh start, nothing left half-way
    assert [isinstance(o, str) for _, o in again] == [True, True, True]
    assert [r.recipients[0] for r in server.messages] == [f"p{i}@example.org" for i in range(4)]


def test_a_server_that_hangs_up_mid_batch_leaves_that_message_to_try_again(server):
    messages = outgoing(3, "hang-up")
    server.handler.hang_up_on = "p1@example.org"
    sender = sender_for(server)
    outcomes = list(sender.send_many(messages))
    assert [i for i, _ in outcomes] == [0, 1]
    assert isinstance(outcomes[0][1], str)
    assert isinstance(outcomes[1][1], TemporaryEmailError) and "unreachable" in str(outcomes[1][1])
    server.handler.hang_up_on = None
    assert [isinstance(o, str) for _, o in sender.send_many(messages[1:])] == [True, True]
    assert server.handler.ehlo_seen == 2  # a new connection for the second batch


def test_a_connection_the_server_dropped_while_idle_is_replaced_before_the_batch(server):
    sender = sender_for(server)
    assert [isinstance(o, str) for _, o in sender.send_many(outgoing(1, "first"))] == [True]
    sender._local.smtp.sock.close()  # as if the server had timed the idle connection out
    outcomes = list(sender.send_many(outgoing(2, "second")))
    assert [isinstance(o, str) for _, o in outcomes] == [True, True]
    assert len(server.messages) == 3


def test_a_message_that_cannot_be_written_fails_alone(server):
    messages = outgoing(3, "unwritable")
    messages[1] = Outgoing("jérôme@exemple.fr", "s", "t", None, "unwritable:bad")  # needs SMTPUTF8: refused
    outcomes = dict(sender_for(server).send_many(messages))
    assert isinstance(outcomes[0], str) and isinstance(outcomes[2], str)
    assert isinstance(outcomes[1], PermanentEmailError)  # a dead letter an operator sees, not endless retries
    assert "jérôme" not in str(outcomes[1])  # the reason names no address
    assert [r.recipients for r in server.messages] == [["p0@example.org"], ["p2@example.org"]]


def test_single_sends_keep_their_connection(server):
    sender = sender_for(server)
    for i in range(3):
        sender.send(f"p{i}@example.org", "Rappel", "Bonjour", None, f"single:{i}")
    assert len(server.messages) == 3
    assert server.handler.ehlo_seen == 1
