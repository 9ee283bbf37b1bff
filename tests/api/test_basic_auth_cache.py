"""Basic credentials that verified are not hashed again (pipelines/basic_cache.py,
docs/hardening.md#basic-credentials): counted in hasher calls, through the HTTP client."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher, PBKDF2PasswordHasher, get_hasher

from pipelines import basic_cache
from tests.conftest import PASSWORD, ApiClient

URL = "/v1beta/tokens"


@pytest.fixture(autouse=True)
def _empty_cache():
    basic_cache.clear()
    yield
    basic_cache.clear()


@pytest.fixture
def hashes(monkeypatch):
    """How many passwords have been hashed (verifying a password hashes it), by the
    test settings' MD5 hasher or Django's default PBKDF2."""
    calls = []
    for hasher in (PBKDF2PasswordHasher, MD5PasswordHasher):
        encode = hasher.encode

        def counting(self, *args, _encode=encode, **kwargs):
            calls.append(self.algorithm)
            return _encode(self, *args, **kwargs)

        monkeypatch.setattr(hasher, "encode", counting)
    return calls


def call(basic_auth, username="alice", password=PASSWORD):
    return ApiClient(basic_auth(username, password)).get(URL).status_code


def test_second_call_does_not_hash_with_the_default_hasher(settings, make_user, basic_auth, hashes):
    """With Django's real default (PBKDF2, most of a second per hash here), the first
    Basic call hashes the password once and the calls after it not at all."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert get_hasher("default").algorithm == "pbkdf2_sha256"
    make_user("alice")
    hashes.clear()
    assert call(basic_auth) == 200
    assert hashes == ["pbkdf2_sha256"]
    for _ in range(3):
        assert call(basic_auth) == 200
    assert hashes == ["pbkdf2_sha256"]


def test_password_change_takes_effect_at_once(alice, basic_auth, hashes):
    assert call(basic_auth) == 200 and call(basic_auth) == 200
    user = get_user_model().objects.get(username="alice")
    user.set_password("new-horse-battery")
    user.save()
    assert call(basic_auth) == 401  # the old password, remembered a moment ago
    assert call(basic_auth, password="new-horse-battery") == 200


def test_inactive_user_is_refused_at_once(alice, basic_auth):
    assert call(basic_auth) == 200
    get_user_model().objects.filter(username="alice").update(is_active=False)
    assert call(basic_auth) == 401
    get_user_model().objects.filter(username="alice").update(is_active=True)
    assert call(basic_auth) == 200


def test_wrong_password_never_passes_and_is_still_throttled(alice, basic_auth, hashes, settings):
    settings.PIPELINE_LOGIN_FAILURES_PER_USER = 3
    assert call(basic_auth) == 200
    hashed = len(hashes)
    for wrong in ("wrong", PASSWORD + " ", PASSWORD.upper()):
        assert call(basic_auth, password=wrong) == 401
    assert len(hashes) == hashed + 3  # each wrong password costs a full hash, none hits
    # the right password, remembered, is refused like any other while the user is locked out
    response = ApiClient(basic_auth("alice")).get(URL)
    assert response.status_code == 429 and "too many failed sign-ins" in response.json()["message"]


def test_other_users_password_does_not_pass(alice, bob, basic_auth):
    assert call(basic_auth, "alice") == 200
    assert call(basic_auth, "bob", "wrong") == 401
    assert call(basic_auth, "bob") == 200


def test_cache_is_bounded_least_recently_used_goes(make_user, basic_auth, hashes, settings):
    settings.PIPELINE_BASIC_AUTH_CACHE_ENTRIES = 2
    for name in ("u1", "u2", "u3"):
        make_user(name)
    for name in ("u1", "u2", "u1", "u3"):  # u2 is the least recently used when u3 comes
        assert call(basic_auth, name) == 200
    assert basic_cache.size() == 2
    before = len(hashes)
    assert call(basic_auth, "u1") == 200 and call(basic_auth, "u3") == 200
    assert len(hashes) == before
    assert call(basic_auth, "u2") == 200
    assert len(hashes) == before + 1


def test_entries_expire(alice, basic_auth, hashes, settings, monkeypatch):
    settings.PIPELINE_BASIC_AUTH_CACHE_SECONDS = 60
    now = [1000.0]
    monkeypatch.setattr(basic_cache, "_clock", lambda: now[0])
    assert call(basic_auth) == 200
    before = len(hashes)
    now[0] += 59
    assert call(basic_auth) == 200 and len(hashes) == before
    now[0] += 2
    assert call(basic_auth) == 200 and len(hashes) == before + 1


def test_cache_off_hashes_every_call(alice, basic_auth, hashes, settings):
    settings.PIPELINE_BASIC_AUTH_CACHE_SECONDS = 0
    before = len(hashes)
    assert call(basic_auth) == 200 and call(basic_auth) == 200
    assert len(hashes) == before + 2 and basic_cache.size() == 0


def test_nothing_kept_holds_the_password(alice, basic_auth):
    assert call(basic_auth) == 200
    kept = repr(basic_cache._entries)
    assert PASSWORD not in kept
    assert PASSWORD.encode().hex() not in kept
