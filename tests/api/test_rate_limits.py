"""Brute-force throttling of Basic auth and per-token rate limits on the REST API."""

from __future__ import annotations

import pytest

from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = "/v1beta/namespaces/alice/pipelines/hello/trigger"
BODY = {"data": [{"variable": {"prompt": "x"}}]}


def _assert_rate_limited(response, *, setting: str, limit: int) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == 8 and setting in body["message"] and f"{limit} " in body["message"]
    reset = int(response["Retry-After"])
    assert 1 <= reset <= 60
    assert response["RateLimit-Limit"] == str(limit)
    assert response["RateLimit-Remaining"] == "0"
    assert response["RateLimit-Reset"] == str(reset)


def test_wrong_basic_passwords_are_throttled_per_user(alice, bob, basic_auth, settings):
    """After PIPELINE_LOGIN_FAILURES_PER_USER wrong Basic passwords, calls as that user
    answer 429 with Retry-After — the right password too — while other users go on."""
    settings.PIPELINE_LOGIN_FAILURES_PER_USER = 3
    for _ in range(3):
        assert ApiClient(basic_auth("alice", "wrong")).get("/v1beta/tokens").status_code == 401
    refused = ApiClient(basic_auth("alice")).get("/v1beta/tokens")
    assert refused.status_code == 429
    assert refused.json()["code"] == 8 and "too many failed sign-ins" in refused.json()["message"]
    assert 1 <= int(refused["Retry-After"]) <= settings.PIPELINE_LOGIN_FAILURE_WINDOW_SECONDS
    assert ApiClient(basic_auth("bob")).get("/v1beta/tokens").status_code == 200


def test_wrong_basic_passwords_on_triggers_are_throttled(alice, hello, basic_auth, settings):
    settings.PIPELINE_LOGIN_FAILURES_PER_USER = 2
    for _ in range(2):
        assert ApiClient(basic_auth("alice", "wrong")).post(TRIGGER, BODY).status_code == 401
    refused = ApiClient(basic_auth("alice")).post(TRIGGER, BODY)
    assert refused.status_code == 429 and "Retry-After" in refused


def test_wrong_basic_passwords_from_one_address_are_throttled(alice, basic_auth, settings):
    settings.PIPELINE_LOGIN_FAILURES_PER_ADDRESS = 3
    for name in ["u1", "u2", "u3"]:
        ApiClient(basic_auth(name, "guess")).get("/v1beta/tokens", REMOTE_ADDR="10.1.1.1")
    assert ApiClient(basic_auth("alice")).get("/v1beta/tokens", REMOTE_ADDR="10.1.1.1").status_code == 429
    assert ApiClient(basic_auth("alice")).get("/v1beta/tokens", REMOTE_ADDR="10.1.1.2").status_code == 200


def test_triggers_are_unlimited_by_default(api, hello):
    for _ in range(12):
        response = api.post(TRIGGER, BODY)
        assert response.status_code == 200 and "RateLimit-Limit" not in response


def test_trigger_rate_limit_per_token(api, hello, alice, make_token, settings):
    """Over PIPELINE_RATE_LIMIT_TRIGGERS a token's triggers answer 429 with Retry-After
    and RateLimit-* headers; another token of the same user has its own count."""
    settings.PIPELINE_RATE_LIMIT_TRIGGERS = "2/minute"
    assert api.post(TRIGGER, BODY).status_code == 200
    assert api.post(TRIGGER, BODY).status_code == 200
    _assert_rate_limited(api.post(TRIGGER, BODY), setting="PIPELINE_RATE_LIMIT_TRIGGERS", limit=2)
    # Async and streamed triggers count against the same limit.
    _assert_rate_limited(api.post(TRIGGER + "-async", BODY), setting="PIPELINE_RATE_LIMIT_TRIGGERS", limit=2)
    _assert_rate_limited(
        api.post(TRIGGER, BODY, HTTP_ACCEPT="text/event-stream"), setting="PIPELINE_RATE_LIMIT_TRIGGERS", limit=2
    )
    other = ApiClient(f"Bearer {make_token(alice, 'other')}")
    assert other.post(TRIGGER, BODY).status_code == 200


def test_trigger_rate_limit_per_pipeline(api, bob_api, alice, make_pipeline, hello, settings):
    """PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS counts every caller's triggers of one pipeline."""
    settings.PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS = "3/hour"
    public = make_pipeline(alice, "shared", public="ROLE_EXECUTOR")
    shared = f"/v1beta/namespaces/alice/pipelines/{public.slug}/trigger"
    assert api.post(shared, BODY).status_code == 200
    assert bob_api.post(shared, BODY).status_code == 200
    assert api.post(shared, BODY).status_code == 200
    refused = bob_api.post(shared, BODY)
    assert refused.status_code == 429 and "PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS" in refused.json()["message"]
    assert api.post(TRIGGER, BODY).status_code == 200  # another pipeline


def test_api_rate_limit_for_other_calls(api, bob_api, settings):
    settings.PIPELINE_RATE_LIMIT_API = "2/minute"
    assert api.get("/v1beta/tokens").status_code == 200
    assert api.get("/v1beta/pipelines").status_code == 200
    _assert_rate_limited(api.get("/v1beta/tokens"), setting="PIPELINE_RATE_LIMIT_API", limit=2)
    assert bob_api.get("/v1beta/tokens").status_code == 200
