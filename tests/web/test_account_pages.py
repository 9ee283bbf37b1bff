"""Sign up / in / out, API tokens and secrets settings, and error pages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import AsyncClient, Client
from django.urls import path
from django.utils.functional import SimpleLazyObject

from instill_site import urls as site_urls
from pipelines.models import ApiToken, Secret
from pipelines.services.secrets import secrets_for_namespace
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_up_creates_the_user_and_namespace_and_signs_in(client):
    response = client.post("/accounts/signup/", {"username": "carol", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert "carol" in client.get("/").content.decode()
    assert client.get("/new").status_code == 200


def test_sign_up_shows_field_errors(client, alice):
    page = client.post(
        "/accounts/signup/", {"username": "Bad Name", "password1": PASSWORD, "password2": PASSWORD}
    ).content.decode()
    assert "is not a valid id" in page
    page = client.post(
        "/accounts/signup/", {"username": "alice", "password1": PASSWORD, "password2": PASSWORD}
    ).content.decode()
    assert "already exists" in page
    page = client.post(
        "/accounts/signup/", {"username": "dave", "password1": PASSWORD, "password2": "other-pass-word"}
    ).content.decode()
    assert "The two passwords differ" in page
    page = client.post(
        "/accounts/signup/", {"username": "dave", "password1": "short", "password2": "short"}
    ).content.decode()
    assert "too short" in page


def test_sign_up_can_be_switched_off(client, settings):
    settings.PIPELINE_SIGNUP_ENABLED = False
    response = client.get("/accounts/signup/")
    assert response.status_code == 403 and "switched off" in response.content.decode()
    assert "Sign up" not in client.get("/").content.decode()


def test_sign_in_and_out(client, alice):
    page = client.post("/accounts/login/", {"username": "alice", "password": "nope"}).content.decode()
    assert "correct username and password" in page
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "/settings/tokens"})
    assert response.status_code == 302 and response["Location"] == "/settings/tokens"
    client.post("/accounts/logout/")
    assert client.get("/settings/tokens").status_code == 302


@pytest.mark.parametrize("path", ["/settings/tokens", "/settings/secrets"])
def test_settings_need_a_signed_in_user(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_a_new_token_is_shown_once_then_only_masked(alice_client, alice, htmx):
    page = alice_client.post("/settings/tokens", {"id": "ci", "expiry": "30"}, **htmx).content.decode()
    token = ApiToken.objects.get(user=alice, slug="ci")
    assert "Copy it now" in page and "instill_sk_" in page and token.expire_time is not None
    raw = page.split('id="new-token" class="code" readonly value="', 1)[1].split('"', 1)[0]
    assert raw.endswith(token.hint) and len(raw) == len("instill_sk_") + 32
    listing = alice_client.get("/settings/tokens").content.decode()
    assert raw not in listing and f"instill_sk_****{token.hint}" in listing


def test_token_form_errors_and_never_expiring_tokens(alice_client, alice, make_token):
    make_token(alice, "taken")
    assert "already exists" in alice_client.post("/settings/tokens", {"id": "taken", "expiry": "7"}).content.decode()
    assert "is not valid" in alice_client.post("/settings/tokens", {"id": "No!", "expiry": "7"}).content.decode()
    alice_client.post("/settings/tokens", {"id": "forever", "expiry": "never"})
    assert ApiToken.objects.get(slug="forever").expire_time is None


def test_revoking_a_token_stops_it_working(alice_client, alice, make_token, htmx):
    raw = make_token(alice, "old")
    response = alice_client.post("/settings/tokens/old/delete", **htmx)
    assert "revoked" in response.content.decode() and not ApiToken.objects.filter(slug="old").exists()
    assert Client().get("/v1beta/tokens", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_a_user_cannot_revoke_another_users_token(bob_client, alice, make_token):
    make_token(alice, "hers")
    assert bob_client.post("/settings/tokens/hers/delete").status_code == 404
    assert ApiToken.objects.filter(slug="hers").exists()
    assert bob_client.get("/settings/tokens/hers/delete").status_code == 405


def test_secrets_are_created_updated_and_deleted_and_never_shown(alice_client, alice, htmx):
    page = alice_client.post(
        "/settings/secrets", {"id": "api-key", "value": "s3cret-value", "description": "d"}, **htmx
    ).content.decode()
    assert "api-key" in page and "s3cret-value" not in page
    assert secrets_for_namespace(namespace_id=alice.namespace.pk) == {"api-key": "s3cret-value"}
    alice_client.post("/settings/secrets/api-key/update", {"value": "new-value"}, **htmx)
    assert secrets_for_namespace(namespace_id=alice.namespace.pk) == {"api-key": "new-value"}
    assert "new-value" not in alice_client.get("/settings/secrets").content.decode()
    empty = alice_client.post("/settings/secrets/api-key/update", {"value": ""}, **htmx)
    assert empty.status_code == 400 and "required" in empty.content.decode()
    alice_client.post("/settings/secrets/api-key/delete", **htmx)
    assert not Secret.objects.exists()
    assert alice_client.post("/settings/secrets/api-key/delete").status_code == 404


def test_secret_form_errors(alice_client):
    assert "is not valid" in alice_client.post("/settings/secrets", {"id": "Bad!", "value": "v"}).content.decode()
    assert "required" in alice_client.post("/settings/secrets", {"id": "ok"}).content.decode()


# --- errors -------------------------------------------------------------------------


def test_unknown_pages_get_a_friendly_404_and_api_paths_json(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "Not found" in page.content.decode() and "<html" in page.content.decode()
    api = client.get("/v1beta/nothing-here")
    assert api.status_code == 404 and api.json()["code"] == 5


def header(response) -> str:
    return response.content.decode().split("<header", 1)[1].split("</header>", 1)[0]


def signed_in_as(response, username: str) -> bool:
    shown = header(response)
    return f"Signed in as {username}" in shown and "Sign out" in shown and "Sign in" not in shown


def test_a_failed_csrf_check_gets_a_friendly_403(alice):
    """The page still knows who is signed in."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/settings/tokens", {"id": "x", "expiry": "7"})
    assert response.status_code == 403 and "Reload the page" in response.content.decode()
    assert signed_in_as(response, "alice")


@pytest.mark.django_db(transaction=True)
async def test_a_failed_csrf_check_served_asynchronously_knows_the_user(alice):
    """Under ASGI the CSRF check fails in the event loop: the page is rendered in a
    thread, where the user can be loaded."""
    client = AsyncClient(enforce_csrf_checks=True)
    await client.aforce_login(alice)
    response = await client.post("/settings/tokens", {"id": "x", "expiry": "7"})
    assert response.status_code == 403 and "Reload the page" in response.content.decode()
    assert signed_in_as(response, "alice")


def test_server_errors_are_a_page_outside_the_api_and_json_inside(rf):
    from pipelines.views.errors import server_error

    page = server_error(rf.get("/x"))
    assert page.status_code == 500 and b"Something went wrong" in page.content
    api = server_error(rf.get("/v1beta/x"))
    assert api.status_code == 500 and b'"code"' in api.content


def test_the_500_page_shows_who_is_signed_in_and_never_raises(rf, alice):
    """Anonymous: Sign in. Signed in: their name. A user that cannot be loaded (the
    database is what broke): the page without an account in the header."""
    from pipelines.views.errors import server_error

    def broken():
        raise RuntimeError("database gone")

    users = {"anonymous": AnonymousUser(), "alice": alice, "broken": SimpleLazyObject(broken)}
    pages = {}
    for who, user in users.items():
        request = rf.get("/x")
        request.user = user
        pages[who] = server_error(request)
        assert pages[who].status_code == 500 and b"Something went wrong" in pages[who].content
    assert "Sign in" in header(pages["anonymous"]) and "Sign out" not in header(pages["anonymous"])
    assert signed_in_as(pages["alice"], "alice")
    assert "Sign in" not in header(pages["broken"]) and "Sign out" not in header(pages["broken"])


def _raises(request):
    raise RuntimeError("a bug")


# A test URL conf: the site's URLs and one view that fails.
urlpatterns = [path("boom/", _raises), *site_urls.urlpatterns]
handler500 = site_urls.handler500


@pytest.mark.django_db(transaction=True)
async def test_a_failing_view_answers_the_500_page_with_the_user(alice, settings):
    settings.ROOT_URLCONF = __name__
    client = AsyncClient(raise_request_exception=False)
    await client.aforce_login(alice)
    response = await client.get("/boom/")
    assert response.status_code == 500 and "Something went wrong" in response.content.decode()
    assert signed_in_as(response, "alice")
