"""State machines for the practitioner's rules and for accounts, in memory.

Random (often invalid) configurations: a refused one changes nothing, the
rules always stay readable, ranges of one day never overlap, reserved periods
name known motifs, the zone is fixed once hours are set, and what is reloaded
from the store equals the live aggregate.
"""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from consulta.aggregates.errors import AuthenticationError, EmailTakenError, InvalidInputError
from consulta.aggregates.practitioner import Practitioner
from consulta.application import Actor
from tests.unit.booking_machine import Recording
from tests.unit.helpers import NOW, POPO

TIMES = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
RANGES = st.fixed_dictionaries(
    {
        "weekday": st.integers(0, 7),
        "start": TIMES,
        "end": TIMES,
        "place": st.sampled_from(["practice", "video", "x"]),
    }
)
MOTIF_IDS = st.sampled_from(["short", "long", "video-only", ""])
MOTIFS = st.fixed_dictionaries(
    {
        "id": MOTIF_IDS,
        "name": st.sampled_from(["Visit", " ", "Long visit"]),
        "duration_minutes": st.sampled_from([5, 20, 40, 7, 300]),
        "modes": st.lists(st.sampled_from(["practice", "video", "home"]), max_size=2, unique=True),
        "online": st.booleans(),
        "new_patients": st.booleans(),
    }
)
PERIODS = st.fixed_dictionaries(
    {"weekday": st.integers(0, 6), "start": TIMES, "end": TIMES, "motif_ids": st.lists(MOTIF_IDS, max_size=2)}
)
ZONES = st.sampled_from(["Europe/Paris", "America/New_York", "Pacific/Noumea", "Not/AZone"])


class PractitionerMachine(RuleBasedStateMachine):
    @initialize(zone=ZONES.filter(lambda z: z != "Not/AZone"))
    def setup(self, zone: str) -> None:
        self.app = Recording(POPO)
        outcome = Practitioner.register(uuid4(), "Dr Test", "GP", "Lyon", timezone=zone)
        self.app.save(outcome)
        self.id = outcome.id
        self.actor = Actor(outcome.account_id, "practitioner", outcome.id)
        self.zone, self.opened = zone, False

    def _configure(self, **changes) -> bool:
        before = self.app.get_practitioner(self.id).__dict__
        try:
            self.app.configure_agenda(self.actor, self.id, **changes)
        except InvalidInputError:
            assert self.app.get_practitioner(self.id).__dict__ == before  # refused: nothing recorded
            return False
        return True

    @rule(ranges=st.lists(RANGES, max_size=4))
    def set_hours(self, ranges) -> None:
        if self._configure(hours=ranges):
            self.opened = True

    @rule(motif=MOTIFS)
    def save_motif(self, motif) -> None:
        self._configure(motifs=[motif])

    @rule(periods=st.lists(PERIODS, max_size=2))
    def set_reserved(self, periods) -> None:
        self._configure(reserved=periods)

    @rule(zone=ZONES, notice=st.integers(-5, 600), cap=st.none() | st.integers(-1, 5))
    def set_policy(self, zone: str, notice: int, cap) -> None:
        if self._configure(policy={"timezone": zone, "min_notice_minutes": notice, "video_daily_cap": cap}):
            assert not self.opened or zone == self.zone
            self.zone = zone

    @invariant()
    def rules_hold(self) -> None:
        practitioner = self.app.get_practitioner(self.id)
        rules = practitioner.rules  # always readable
        assert rules.policy.timezone == self.zone
        for i, a in enumerate(rules.hours):
            for b in rules.hours[i + 1 :]:
                assert a.weekday != b.weekday or a.end <= b.start or b.end <= a.start
        known = {m.id for m in rules.motifs}
        assert all(set(p.motif_ids) <= known for p in rules.reserved)
        assert len(known) == len(rules.motifs)
        day = date(2026, 3, 29)
        for motif in rules.motifs:  # slot generation works on the change day
            list(rules.slots_on(day, motif.id))
        for aggregate_id, live in self.app.live.items():
            assert self.app.repository.get(aggregate_id).__dict__ == live.__dict__


PractitionerMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestPractitionerRules = PractitionerMachine.TestCase

EMAILS = st.sampled_from(["ann@example.org", "ANN@example.org ", "bob@example.org", "not-an-email"])
PASSWORDS = st.sampled_from(["correct horse battery", "another long one", "short"])


class AccountMachine(RuleBasedStateMachine):
    """Argon2 makes each step cost ~0.1 s: few, short runs."""

    @initialize()
    def setup(self) -> None:
        self.app = Recording(POPO)
        self.passwords: dict[str, str] = {}

    @rule(email=EMAILS, password=PASSWORDS)
    def register(self, email: str, password: str) -> None:
        key = email.strip().lower()
        try:
            self.app.register_patient(email, password, "Ann", "Lee", date(1990, 1, 1), NOW)
        except EmailTakenError:
            assert key in self.passwords
            return
        except InvalidInputError:
            assert "@" not in key or len(password) < 10
            return
        assert key not in self.passwords and "@" in key
        self.passwords[key] = password

    @rule(email=EMAILS, password=PASSWORDS)
    def log_in(self, email: str, password: str) -> None:
        key = email.strip().lower()
        try:
            account = self.app.authenticate(email, password)
        except AuthenticationError:
            assert self.passwords.get(key) != password
            return
        assert self.passwords[key] == password and account.email == key

    @invariant()
    def reloaded_equals_live(self) -> None:
        for aggregate_id, live in self.app.live.items():
            assert self.app.repository.get(aggregate_id).__dict__ == live.__dict__


AccountMachine.TestCase.settings = settings(
    max_examples=12, stateful_step_count=8, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestAccounts = AccountMachine.TestCase
