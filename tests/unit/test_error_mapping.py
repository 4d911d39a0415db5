"""Domain errors carry details, no status; web/errors.py maps each class once."""

from __future__ import annotations

import pytest

from control import errors as domain
from web.errors import domain_status


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (domain.InvalidValue("bad"), 422),
        (domain.InvalidInput("unknown"), 400),
        (domain.NotFound("gone"), 404),
        (domain.Conflict("clash"), 409),
        (domain.PreconditionFailed("stale"), 412),
        (domain.Unauthenticated("who?"), 401),
        (domain.Forbidden("no"), 403),
        (domain.Throttled("wait", retry_after=3), 429),
        (domain.Unavailable("down"), 503),
        (domain.ConfigurationError("unset"), 500),
    ],
)
def test_each_domain_error_has_one_status(error, status):
    assert domain_status(error)[0] == status


def test_details_are_field_and_reason_pairs():
    one = domain.Conflict("App 'a' is disabled.", field="disabled")
    assert (one.field, one.details) == ("disabled", [("disabled", "App 'a' is disabled.")])
    many = domain.InvalidValue("Invalid.", details=[("changes.a", "too big"), ("changes.b", "x")])
    assert (many.field, len(many.details)) == ("changes.a", 2)
    assert domain.NotFound("No app.").details == []
