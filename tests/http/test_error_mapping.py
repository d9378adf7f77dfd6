"""Every domain error maps to one status; a lost race asks the client to retry."""

from __future__ import annotations

import pytest

from consulta.aggregates import errors as domain
from consulta.http.errors import status_of


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (domain.BusyError("try again"), 503),
        (domain.SlotTakenError(), 409),
        (domain.ForbiddenError(), 404),
        (domain.NotFoundError(), 404),
        (domain.BookingWindowError(), 422),
        (domain.AuthenticationError(), 401),
    ],
)
def test_domain_errors_map_to_one_status(error, status):
    assert status_of(error) == status
