"""Production hardening through a real ``serve``: the first-start message, rate limits."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, start_server

pytestmark = pytest.mark.e2e


def test_first_start_never_prints_a_password_the_operator_chose(e2e_server):
    """The admin password set in PIPELINE_ADMIN_PASSWORD stays out of the server's output."""
    output = e2e_server.output()
    assert "Created the admin user 'admin' with the password set in PIPELINE_ADMIN_PASSWORD." in output
    assert ADMIN_PASSWORD not in output


def test_trigger_rate_limit_on_a_live_server(tmp_path):
    """Token triggers on a real serve (the trigger lane's path) stop at
    PIPELINE_RATE_LIMIT_TRIGGERS with 429, Retry-After and RateLimit-* headers."""
    server = start_server(tmp_path, "rate-limited-server", PIPELINE_RATE_LIMIT_TRIGGERS="3/minute")
    try:
        token = server.create_token("limited")
        url = f"{server.base_url}/v1beta/namespaces/admin/pipelines/hello/trigger"
        headers = {"Authorization": f"Bearer {token}"}
        body = {"data": [{"variable": {"prompt": "x"}}]}
        answers = [httpx.post(url, headers=headers, json=body, timeout=30) for _ in range(4)]
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["code"] == 8 and "PIPELINE_RATE_LIMIT_TRIGGERS" in refused.json()["message"]
    assert refused.headers["RateLimit-Limit"] == "3" and refused.headers["RateLimit-Remaining"] == "0"
    assert refused.headers["Retry-After"] == refused.headers["RateLimit-Reset"]
