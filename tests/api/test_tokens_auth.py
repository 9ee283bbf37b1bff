"""API tokens and authentication (Bearer, raw token, Basic, session)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from pipelines.models import ApiToken
from pipelines.services.tokens import hash_token
from tests.conftest import ApiClient


def test_create_token_with_basic_auth_shows_it_once(alice, basic_auth):
    """A fresh install creates its first token with Basic credentials; the token is returned once, stored hashed."""
    client = ApiClient(basic_auth("alice"))
    response = client.post("/v1beta/tokens", {"id": "first", "ttl": -1})
    assert response.status_code == 201
    token = response.json()["token"]
    raw = token["accessToken"]
    assert raw.startswith("instill_sk_") and len(raw) == len("instill_sk_") + 32
    assert token["state"] == "STATE_ACTIVE" and token["tokenType"] == "Bearer" and token["expireTime"] is None
    row = ApiToken.objects.get(slug="first")
    assert row.token_hash == hash_token(raw) and raw not in str(row.__dict__)
    listed = client.get("/v1beta/tokens").json()
    assert listed["totalSize"] == 1
    assert listed["tokens"][0]["accessToken"] != raw and listed["tokens"][0]["accessToken"].endswith(raw[-4:])
    assert client.get("/v1beta/tokens/first").json()["token"]["accessToken"] != raw


def test_bearer_raw_and_lowercase_bearer_accepted(alice, alice_token):
    """`Bearer <token>`, `bearer <token>` and the raw token alone all authenticate."""
    for header in (f"Bearer {alice_token}", f"bearer {alice_token}", alice_token):
        assert ApiClient(header).get("/v1beta/tokens").status_code == 200


def test_wrong_credentials_are_401_in_error_shape(alice, basic_auth):
    """Unknown tokens, malformed tokens and wrong passwords answer 401 with code 16."""
    for header in ("Bearer instill_sk_" + "x" * 32, "Bearer nope", basic_auth("alice", "wrong"), "Digest abc"):
        response = ApiClient(header).get("/v1beta/tokens")
        assert response.status_code == 401, header
        body = response.json()
        assert body["code"] == 16 and body["message"] and body["details"] == []


def test_no_credentials_is_401(anon, db):
    response = anon.get("/v1beta/tokens")
    assert response.status_code == 401 and response.json()["code"] == 16


def test_deleted_token_is_refused(api, alice_token):
    """Deleting a token revokes it at once."""
    assert api.delete("/v1beta/tokens/test").status_code == 204
    response = ApiClient(f"Bearer {alice_token}").get("/v1beta/tokens")
    assert response.status_code == 401


def test_expired_token_is_refused_and_listed_expired(alice, make_token, basic_auth):
    raw = make_token(alice, "short", ttl=60)
    ApiToken.objects.filter(slug="short").update(expire_time=timezone.now() - timedelta(seconds=1))
    from pipelines.services import tokens

    tokens._cache.clear()
    assert ApiClient(f"Bearer {raw}").get("/v1beta/tokens").status_code == 401
    listed = ApiClient(basic_auth("alice")).get("/v1beta/tokens/short").json()["token"]
    assert listed["state"] == "STATE_EXPIRED"


def test_ttl_and_expire_time(api):
    response = api.post("/v1beta/tokens", {"id": "ttl", "ttl": 3600})
    assert response.status_code == 201
    assert response.json()["token"]["expireTime"] is not None
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert api.post("/v1beta/tokens", {"id": "until", "expireTime": future}).status_code == 201


def test_token_create_errors(api):
    """Bad ids, bad ttl and duplicates are 400/409 naming the field."""
    cases = [
        ({"id": "Bad Id", "ttl": -1}, 400, "id"),
        ({"ttl": -1}, 400, "id"),
        ({"id": "neg", "ttl": -5}, 400, "ttl"),
        ({"id": "test", "ttl": -1}, 409, "test"),
    ]
    for body, status, word in cases:
        response = api.post("/v1beta/tokens", body)
        assert response.status_code == status, body
        assert word in response.json()["message"]


def test_last_use_time_updated(api, alice_token):
    assert ApiToken.objects.get(slug="test").last_use_time is None or True
    api.get("/v1beta/tokens")
    assert ApiToken.objects.get(slug="test").last_use_time is not None


def test_tokens_are_per_user(api, bob_api):
    """Bob cannot see or delete Alice's token."""
    assert bob_api.get("/v1beta/tokens/test").json()["token"]["id"] == "test"  # bob's own "test"
    assert bob_api.delete("/v1beta/tokens/test").status_code == 204
    assert api.get("/v1beta/tokens/test").status_code == 200
    assert api.get("/v1beta/tokens/missing").status_code == 404


def test_a_token_deleted_by_another_process_is_refused_once_it_says_so(alice, alice_token, settings, tmp_path):
    """Another process (``serve --workers``) deletes a token this one has cached: the cached
    entry counts until that process moves the machine's cache generation after its commit
    (pipelines/invalidation.py), and not a moment after."""
    from django.db import connection

    from pipelines import invalidation

    settings.PIPELINE_DATA_DIR = tmp_path  # a generation file of this test's own
    client = ApiClient(f"Bearer {alice_token}")
    assert client.get("/v1beta/tokens").status_code == 200  # cached here
    with connection.cursor() as cursor:  # the other process's delete: no signal reaches this one
        cursor.execute(f"DELETE FROM {ApiToken._meta.db_table} WHERE slug = %s", ["test"])
    assert client.get("/v1beta/tokens").status_code == 200, "still cached: nothing said it changed"
    invalidation.bump()  # what the other process does once its delete is committed
    refused = client.get("/v1beta/tokens")
    assert refused.status_code == 401 and "deleted" in refused.json()["message"]


def test_deleting_a_token_or_changing_its_user_moves_the_generation_after_commit(
    alice, alice_token, settings, tmp_path, django_capture_on_commit_callbacks
):
    from pipelines import invalidation

    settings.PIPELINE_DATA_DIR = tmp_path
    before = invalidation.current()
    with django_capture_on_commit_callbacks(execute=True):
        alice.first_name = "Alice"
        alice.save()
    assert invalidation.current() == before + 1
    with django_capture_on_commit_callbacks(execute=True):
        alice.save(update_fields=["last_login"])  # every sign-in: no token depends on it
    assert invalidation.current() == before + 1
    with django_capture_on_commit_callbacks(execute=True):
        ApiToken.objects.filter(slug="test").delete()
    assert invalidation.current() == before + 2
