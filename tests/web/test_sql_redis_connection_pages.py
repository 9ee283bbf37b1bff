"""Settings → Connections for the data components: a ``sql`` connection made with the
page's form (its password a password field, ``ssl-tls`` written as JSON, the port a
number) is the setup a run gets, and no page shows the password; a ``redis`` one too."""

from __future__ import annotations

import json

from tests.web.test_connection_pages import stored_setup

PASSWORD = "page-db-password-42"


def test_a_sql_connection_from_the_form(alice_client, alice):
    form = alice_client.get("/settings/connections", {"integration": "sql"}).content.decode()
    assert 'name="setup.password" type="password"' in form
    assert 'name="setup.port"' in form and 'name="setup.ssl-tls"' in form
    created = alice_client.post(
        "/settings/connections",
        {
            "integrationId": "sql",
            "id": "shop-db",
            "setup.engine": "PostgreSQL",
            "setup.username": "shop",
            "setup.password": PASSWORD,
            "setup.database-name": "shop",
            "setup.host": "db.example.com",
            "setup.port": "5432",
            "setup.ssl-tls": '{"ssl-tls-type": "NO TLS"}',
        },
        follow=True,
    )
    assert created.status_code == 200 and "${connection.shop-db}" in created.content.decode()
    assert json.loads(stored_setup(alice, "shop-db")) == {
        "engine": "PostgreSQL",
        "username": "shop",
        "password": PASSWORD,
        "database-name": "shop",
        "host": "db.example.com",
        "port": 5432,
        "ssl-tls": {"ssl-tls-type": "NO TLS"},
    }
    for page in ("/settings/connections", "/settings/connections/shop-db"):
        assert PASSWORD not in alice_client.get(page).content.decode()


def test_a_bad_sql_setup_is_refused_naming_the_field(alice_client):
    response = alice_client.post(
        "/settings/connections",
        {"integrationId": "sql", "id": "bad-db", "setup.engine": "Access", "setup.database-name": "x"},
    )
    assert "setup.engine" in response.content.decode()


def test_a_redis_connection_from_the_form(alice_client, alice):
    created = alice_client.post(
        "/settings/connections",
        {
            "integrationId": "redis",
            "id": "chat",
            "setup.host": "cache.internal",
            "setup.port": "6380",
            "setup.ssl": "on",
        },
        follow=True,
    )
    assert created.status_code == 200
    assert json.loads(stored_setup(alice, "chat")) == {"host": "cache.internal", "port": 6380, "ssl": True}
