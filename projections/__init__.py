"""Read models (projections) of the event log, and the queries pages make of them."""

from __future__ import annotations

from .agenda import Agenda, PatientAppointments
from .base import Projection
from .directory import PractitionerDirectory
from .profiles import Profiles

PROJECTIONS: dict[str, type[Projection]] = {
    cls.name: cls for cls in (PractitionerDirectory, Profiles, Agenda, PatientAppointments)
}

__all__ = ["PROJECTIONS", "Projection"]
