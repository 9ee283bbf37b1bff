"""Production hardening through a real ``serve``: the first-start message."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.e2e


def test_first_start_never_prints_a_password_the_operator_chose(e2e_server):
    """The admin password set in PIPELINE_ADMIN_PASSWORD stays out of the server's output."""
    output = e2e_server.output()
    assert "Created the admin user 'admin' with the password set in PIPELINE_ADMIN_PASSWORD." in output
    assert ADMIN_PASSWORD not in output
