"""Accounts, the profiles they manage, and the e-mail index that keeps e-mails unique."""

from __future__ import annotations

from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import InvalidInputError

ACCOUNT_ROLES = ("patient", "practitioner", "secretary")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise InvalidInputError("not an e-mail address")
    return email


class Account(Aggregate):
    """Holds the password hash (argon2, computed outside the domain)."""

    TOPIC = "consulta.Account"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.Account.Created"

    @event("Registered", topic="consulta.Account.Registered")
    def __init__(self, id: UUID, email: str, password_hash: str, role: str, profile_id: UUID | None) -> None:
        self.email = email
        self.password_hash = password_hash
        self.role = role
        self.profile_id = profile_id
        self.practitioner_id: UUID | None = None

    @classmethod
    def register(
        cls,
        email: str,
        password_hash: str,
        role: str,
        profile_id: UUID | None = None,
        account_id: UUID | None = None,
    ) -> Account:
        if role not in ACCOUNT_ROLES:
            raise InvalidInputError("unknown role")
        account_id = account_id or uuid4()
        return cls(
            id=account_id,
            email=normalise_email(email),
            password_hash=password_hash,
            role=role,
            profile_id=profile_id,
        )

    def link_practitioner(self, practitioner_id: UUID) -> None:
        if self.role != "practitioner":
            raise InvalidInputError("only a practitioner account has an agenda")
        self._practitioner_linked(practitioner_id)

    @event("PractitionerLinked", topic="consulta.Account.PractitionerLinked")
    def _practitioner_linked(self, practitioner_id: UUID) -> None:
        self.practitioner_id = practitioner_id

    def change_password_hash(self, password_hash: str) -> None:
        self._password_changed(password_hash)

    @event("PasswordChanged", topic="consulta.Account.PasswordChanged")
    def _password_changed(self, password_hash: str) -> None:
        self.password_hash = password_hash


class EmailIndex(Aggregate):
    """One per e-mail address: creating a second one for the same address conflicts."""

    TOPIC = "consulta.EmailIndex"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.EmailIndex.Created"

    @staticmethod
    def id_for(email: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/accounts/email/{normalise_email(email)}")

    @classmethod
    def create_id(cls, email: str, account_id: UUID) -> UUID:  # eventsourcing hook
        return cls.id_for(email)

    @event("Claimed", topic="consulta.EmailIndex.Claimed")
    def __init__(self, email: str, account_id: UUID) -> None:
        self.account_id = account_id


def _name(value: str, what: str) -> str:
    value = " ".join(value.split())
    if not value or len(value) > 100:
        raise InvalidInputError(f"{what} is required (at most 100 characters)")
    return value


class Profile(Aggregate):
    """A person who gets appointments; managed by an account (self or family)."""

    TOPIC = "consulta.Profile"

    @event("Created", topic="consulta.Profile.Created")
    def __init__(
        self, first_name: str, last_name: str, birth_date: date, manager_id: UUID | None, by: UUID | None
    ) -> None:
        self.first_name = first_name
        self.last_name = last_name
        self.birth_date = birth_date
        self.manager_id = manager_id

    @classmethod
    def create(
        cls,
        first_name: str,
        last_name: str,
        birth_date: date,
        manager_id: UUID | None,
        by: UUID | None,
        today: date,
    ) -> Profile:
        if not date(1900, 1, 1) <= birth_date <= today:
            raise InvalidInputError("birth date must be a past date")
        return cls(_name(first_name, "first name"), _name(last_name, "last name"), birth_date, manager_id, by)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    # -- families and hand-overs (aggregates/family.py has the rules) ---------

    def set_contact(self, phone: str, email: str, by: UUID) -> None:
        from .family import checked_email, checked_phone

        phone, email = checked_phone(phone), checked_email(email)
        if (phone, email) != (getattr(self, "phone", ""), getattr(self, "email", "")):
            self._contact_set(phone, email, by)

    @event("ContactSet", topic="consulta.Profile.ContactSet")
    def _contact_set(self, phone: str, email: str, by: UUID) -> None:
        self.phone = phone
        self.email = email

    def change_manager(self, manager_id: UUID, by: UUID, previous_manager_id: UUID | None) -> None:
        """Hand the profile to another account; the former manager loses it at once."""
        if self.manager_id != previous_manager_id:
            raise InvalidInputError("the profile changed hands since the invitation")
        if manager_id == self.manager_id:
            raise InvalidInputError("this account already manages the profile")
        self._manager_changed(manager_id, by, self.manager_id)

    def register_at_practice(self, practitioner_id: UUID, by: UUID) -> None:
        """Created by a practice on the phone: the practice's staff may open it before any appointment."""
        self._registered_at_practice(practitioner_id, by)

    @event("RegisteredAtPractice", topic="consulta.Profile.RegisteredAtPractice")
    def _registered_at_practice(self, practitioner_id: UUID, by: UUID) -> None:
        self.practice_ids = [*getattr(self, "practice_ids", []), practitioner_id]

    @event("ManagerChanged", topic="consulta.Profile.ManagerChanged")
    def _manager_changed(self, manager_id: UUID, by: UUID, previous_manager_id: UUID | None) -> None:
        self.manager_id = manager_id
