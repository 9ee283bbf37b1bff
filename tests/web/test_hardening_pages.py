"""Production hardening of the pages: the sign-in throttle, reserved usernames, the
Content-Security-Policy and the HTTPS settings' deployment check."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from pipelines.services.users import user_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _sign_in(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_wrong_passwords_for_one_user_are_throttled_with_retry_after(client, alice, settings):
    """After PIPELINE_LOGIN_FAILURES_PER_USER wrong passwords the sign-in page answers 429
    with Retry-After and says when to try again, even for the right password."""
    settings.PIPELINE_LOGIN_FAILURES_PER_USER = 3
    for _ in range(3):
        assert _sign_in(client, "alice", "wrong-password").status_code == 200
    refused = _sign_in(client, "alice", PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= settings.PIPELINE_LOGIN_FAILURE_WINDOW_SECONDS
    page = refused.content.decode()
    assert "Too many failed sign-ins for this user" in page and "try again in" in page
    assert "_auth_user_id" not in client.session
    # From another address too: the limit is the account's.
    assert _sign_in(client, "alice", PASSWORD, address="10.0.0.2").status_code == 429


def test_throttling_one_user_leaves_others_alone(client, alice, bob, settings):
    settings.PIPELINE_LOGIN_FAILURES_PER_USER = 2
    for _ in range(2):
        _sign_in(client, "alice", "wrong-password")
    assert _sign_in(client, "alice", "wrong-password").status_code == 429
    assert _sign_in(client, "bob", PASSWORD).status_code == 302


def test_a_successful_sign_in_resets_the_users_failures(client, alice, settings):
    settings.PIPELINE_LOGIN_FAILURES_PER_USER = 3
    for _ in range(2):
        _sign_in(client, "alice", "wrong-password")
    assert _sign_in(client, "alice", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(2):
        assert _sign_in(client, "alice", "wrong-password").status_code == 200
    assert _sign_in(client, "alice", PASSWORD).status_code == 302


def test_one_address_trying_many_usernames_is_throttled(client, alice, settings):
    """Spraying passwords over many names from one address hits the per-address limit."""
    settings.PIPELINE_LOGIN_FAILURES_PER_ADDRESS = 4
    for name in ["u1", "u2", "u3", "u4"]:
        assert _sign_in(client, name, "guess", address="10.9.9.9").status_code == 200
    refused = _sign_in(client, "alice", PASSWORD, address="10.9.9.9")
    assert refused.status_code == 429 and "this client address" in refused.content.decode()
    assert _sign_in(client, "alice", PASSWORD, address="10.9.9.8").status_code == 302


@pytest.mark.parametrize("name", ["v1beta", "static", "accounts", "settings", "new", "ws"])
def test_usernames_that_are_routes_are_reserved_at_sign_up(client, name):
    response = client.post("/accounts/signup/", {"username": name, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 400
    assert "is reserved" in response.content.decode()


def test_reserved_usernames_come_from_the_url_conf(client):
    """Every literal first path segment of the pages is reserved, so a new route can't be forgotten."""
    from django.urls import get_resolver

    from pipelines.services.users import reserved_usernames

    pages = next(p for p in get_resolver().url_patterns if str(p.pattern) == "")
    firsts = {
        str(p.pattern).split("/")[0]
        for p in pages.url_patterns
        if str(p.pattern) and not str(p.pattern).startswith("<")
    }
    assert firsts <= reserved_usernames()
    assert "admin" not in reserved_usernames()


def test_create_user_refuses_a_reserved_username():
    with pytest.raises(CommandError, match="is reserved"):
        call_command("create_user", "static", stdout=io.StringIO())
    user_create(username="admin", password=PASSWORD)  # the default user's name stays allowed


def test_pages_carry_a_content_security_policy_without_inline_script(client, alice):
    client.force_login(alice)
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe" not in policy
    assert directives["frame-ancestors"] == "'none'"


def test_pages_have_no_inline_script_style_or_event_handler(client, alice, make_pipeline):
    """What the policy forbids is not in the templates: no executable inline <script>,
    no <style>, no style= or on*= attributes (JSON data blocks are not executed)."""
    make_pipeline(alice)
    client.force_login(alice)
    pages = [
        "/",
        "/new",
        "/settings/tokens",
        "/settings/secrets",
        "/alice/pipelines/hello/",
        "/alice/pipelines/hello/editor",
        "/alice/pipelines/hello/runs/",
        "/accounts/signup/",
    ]
    for path in pages:
        html = client.get(path).content.decode()
        for script in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
            attrs, body = script
            assert "src=" in attrs or 'type="application/json"' in attrs, (path, attrs, body[:80])
        assert "<style" not in html, path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_api_answers_skip_the_page_policy(api, hello):
    """JSON answers load nothing: they go without the header (no cost on triggers)."""
    response = api.post("/v1beta/namespaces/alice/pipelines/hello/trigger", {"data": [{"variable": {"prompt": "x"}}]})
    assert response.status_code == 200 and "Content-Security-Policy" not in response


def _check_deploy(**env: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "false", "ALLOWED_HOSTS": "pipeline.example.com", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_is_clean_with_secure_cookies_and_hsts_set():
    result = _check_deploy(PIPELINE_SECURE_COOKIES="true", PIPELINE_HSTS_SECONDS="31536000")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_names_the_settings_to_set():
    result = _check_deploy()
    assert result.returncode != 0
    assert "PIPELINE_SECURE_COOKIES" in result.stderr and "PIPELINE_HSTS_SECONDS" in result.stderr


def test_secure_cookies_and_hsts_reach_the_answers(client, settings, alice):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 3600
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, secure=True)
    assert response.cookies["sessionid"]["secure"]
    assert client.get("/", secure=True)["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
