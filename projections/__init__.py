"""Read models (projections) of the event log, and the queries pages make of them."""

from __future__ import annotations

from .accounts import Accounts
from .agenda import Agenda, PatientAppointments
from .base import Projection
from .directory import PractitionerDirectory
from .notifications import Notifications
from .practitioner_details import PractitionerDetails
from .profiles import Profiles
from .secretaries import Secretaries
from .waiting_room import WaitingRoom

PROJECTIONS: dict[str, type[Projection]] = {
    cls.name: cls
    for cls in (
        PractitionerDirectory,
        Profiles,
        Agenda,
        PatientAppointments,
        Accounts,
        Secretaries,
        PractitionerDetails,
        WaitingRoom,
        Notifications,
    )
}

__all__ = ["PROJECTIONS", "Projection"]
