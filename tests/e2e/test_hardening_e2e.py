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


@pytest.fixture(scope="module")
def hardened(tmp_path_factory):
    """A serve of its own with trigger rate limits, a small per-address sign-in limit,
    and proxy headers trusted."""
    server = start_server(
        tmp_path_factory.mktemp("hardened-data"),
        "hardened-server",
        PIPELINE_RATE_LIMIT_TRIGGERS="3/hour",
        PIPELINE_LOGIN_FAILURES_PER_ADDRESS="2",
        PIPELINE_TRUST_PROXY_HEADERS="true",
    )
    try:
        yield server
    finally:
        server.stop()


def test_trigger_rate_limit_on_a_live_server(hardened):
    """Token triggers on a real serve (the trigger lane's path) stop at
    PIPELINE_RATE_LIMIT_TRIGGERS with 429, Retry-After and RateLimit-* headers."""
    token = hardened.create_token("limited")
    url = f"{hardened.base_url}/v1beta/namespaces/admin/pipelines/hello/trigger"
    headers = {"Authorization": f"Bearer {token}"}
    body = {"data": [{"variable": {"prompt": "x"}}]}
    answers = [httpx.post(url, headers=headers, json=body, timeout=30) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["code"] == 8 and "PIPELINE_RATE_LIMIT_TRIGGERS" in refused.json()["message"]
    assert refused.headers["RateLimit-Limit"] == "3" and refused.headers["RateLimit-Remaining"] == "0"
    assert refused.headers["Retry-After"] == refused.headers["RateLimit-Reset"]


def test_sign_in_throttle_counts_the_address_the_proxy_names(hardened):
    """With PIPELINE_TRUST_PROXY_HEADERS, failures count against X-Forwarded-For's client,
    not the proxy: one client is throttled, another behind the same proxy is not."""
    url = f"{hardened.base_url}/v1beta/tokens"

    def attempt(client: str, user: str, password: str) -> int:
        return httpx.get(url, auth=(user, password), headers={"X-Forwarded-For": client}, timeout=30).status_code

    assert [attempt("203.0.113.7", name, "guess") for name in ("u1", "u2")] == [401, 401]
    assert attempt("203.0.113.7", "admin", hardened.admin_password) == 429
    assert attempt("203.0.113.8", "admin", hardened.admin_password) == 200
