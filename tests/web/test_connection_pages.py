"""Settings → Connections: pick an integration, fill in its setup fields, edit (an
empty secret field keeps the saved key), delete; the key never shows on a page."""

from __future__ import annotations

import pytest

from pipelines.models import Connection
from pipelines.services.connections import connections_for_run
from tests.api.test_connections import RECIPE

KEY = "sk-page-key-0123456789"


def stored_setup(alice, cid: str = "mine") -> str:
    """The setup a run would get (decrypted only here)."""
    return connections_for_run(namespace_id=alice.namespace.pk, connection_ids=[cid])[f"connection:{cid}"]


def test_settings_connections_needs_a_signed_in_user(client):
    response = client.get("/settings/connections")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_create_edit_delete_a_connection(alice_client, alice):
    page = alice_client.get("/settings/connections").content.decode()
    assert "No connections yet." in page and '<option value="openai"' in page
    form = alice_client.get("/settings/connections", {"integration": "openai"}).content.decode()
    assert 'name="setup.api-key" type="password"' in form and 'name="setup.base-url"' in form
    created = alice_client.post(
        "/settings/connections",
        {"integrationId": "openai", "id": "mine", "setup.api-key": KEY, "setup.base-url": "http://localhost:1/v1"},
        follow=True,
    )
    listing = created.content.decode()
    assert created.status_code == 200 and "${connection.mine}" in listing and KEY not in listing
    assert '"api-key": "sk-page-key-0123456789"' in stored_setup(alice)

    edit = alice_client.get("/settings/connections/mine").content.decode()
    assert "http://localhost:1/v1" in edit and KEY not in edit and "leave empty to keep it" in edit
    alice_client.post("/settings/connections/mine", {"setup.api-key": "", "setup.base-url": "http://localhost:2/v1"})
    assert KEY in stored_setup(alice) and "localhost:2" in stored_setup(alice)

    assert alice_client.post("/settings/connections/mine/delete").status_code == 302
    assert not Connection.objects.exists()
    assert alice_client.post("/settings/connections/mine/delete").status_code == 404


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"integrationId": "openai", "id": "Bad!"}, "is not valid"),
        ({"integrationId": "nope", "id": "x"}, "Choose an integration."),
        ({"integrationId": "openai", "id": "x", "setup.organization": ""}, ""),
    ],
)
def test_form_errors_are_shown(alice_client, data, words):
    response = alice_client.post("/settings/connections", data)
    if words:
        assert response.status_code == 400 and words in response.content.decode()
    else:  # an empty setup is a valid openai setup (the server default applies)
        assert response.status_code == 302


def test_other_users_cannot_edit_her_connections(alice_client, bob_client):
    alice_client.post("/settings/connections", {"integrationId": "openai", "id": "mine", "setup.api-key": KEY})
    assert bob_client.get("/settings/connections/mine").status_code == 404
    assert bob_client.post("/settings/connections/mine/delete").status_code == 404
    assert Connection.objects.filter(slug="mine").exists()


def test_the_editor_checker_names_a_missing_connection(alice_client, alice, make_pipeline):
    make_pipeline(alice, "chat", raw_recipe=RECIPE)
    answer = alice_client.post("/alice/pipelines/chat/editor/validate", {"rawRecipe": RECIPE}).json()
    [problem] = answer["problems"]
    assert problem["error"] == "Connection my-openai doesn't exist." and problem["severity"] == "error"
    assert RECIPE.splitlines()[problem["line"] - 1].strip().startswith("setup:")
    page = alice_client.get("/alice/pipelines/chat/editor").content.decode()
    assert "1 problem" in page and "Connection my-openai doesn&#x27;t exist." in page
    alice_client.post("/settings/connections", {"integrationId": "openai", "id": "my-openai", "setup.api-key": KEY})
    assert alice_client.post("/alice/pipelines/chat/editor/validate", {"rawRecipe": RECIPE}).json()["problems"] == []
