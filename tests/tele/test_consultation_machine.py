"""Any sequence of teleconsultation commands: no rule ever broken, and the stored story replays to the live state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from eventsourcing.application import Application
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from consulta.aggregates.consultation import ADMITTED, ENDED, OUTCOMES, SIDES, Consultation
from consulta.aggregates.errors import DomainError

START = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
FIELDS = (
    "status",
    "checked_in_at",
    "consented_at",
    "admitted_at",
    "present",
    "outcome",
    "identity_failures",
    "link_used",
)


class ConsultationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.by = uuid4()
        self.consultation = Consultation(
            uuid4(), uuid4(), None, START, START + timedelta(minutes=20), self.by, START
        )
        self.consultation.invite("code-digest", "link-digest", self.by, START)
        self.clock = START - timedelta(minutes=10)
        self.was_admitted = False
        self.save()

    def save(self) -> None:
        self.app.save(self.consultation)

    def attempt(self, command, *args) -> None:  # type: ignore[no-untyped-def]
        self.clock += timedelta(seconds=7)
        try:
            command(*args, self.clock)
        except DomainError:
            assert not self.consultation.collect_events(), "a refused command records nothing"
            return
        self.save()

    @rule(matches=st.booleans())
    def check_in(self, matches: bool) -> None:
        self.attempt(self.consultation.check_in, matches)

    @rule()
    def consent(self) -> None:
        self.attempt(self.consultation.record_consent)

    @rule(digest=st.sampled_from(["link-digest", "forged"]))
    def use_link(self, digest: str) -> None:
        self.attempt(self.consultation.use_link, digest)

    @rule()
    def admit(self) -> None:
        self.attempt(self.consultation.admit, self.by)
        self.was_admitted = self.was_admitted or self.consultation.admitted_at is not None

    @rule(side=st.sampled_from(SIDES), joining=st.booleans())
    def presence(self, side: str, joining: bool) -> None:
        self.attempt(self.consultation.join if joining else self.consultation.leave, side, uuid4())

    @rule(outcome=st.sampled_from(OUTCOMES))
    def end(self, outcome: str) -> None:
        self.attempt(self.consultation.end, outcome, self.by)

    @invariant()
    def rules_hold(self) -> None:
        c = self.consultation
        assert (c.status == ENDED) == (c.outcome is not None)
        assert c.identity_failures <= 5
        if c.admitted_at is not None:
            assert c.checked_in_at is not None and c.consented_at is not None
        if c.present["patient"]:
            assert c.status == ADMITTED
        if c.status == ENDED:
            assert not any(c.present.values())
        if c.outcome == "honoured":
            assert self.was_admitted

    @invariant()
    def replay_equals_live(self) -> None:
        stored = self.app.repository.get(self.consultation.id)
        assert {f: getattr(stored, f) for f in FIELDS} == {f: getattr(self.consultation, f) for f in FIELDS}


ConsultationMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestConsultationMachine = ConsultationMachine.TestCase
