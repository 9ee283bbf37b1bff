"""Web page fixtures: signed-in browser-like clients (session + CSRF checks on)."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def page_client():
    """A client that enforces CSRF like a browser; sign in with ``client.force_login``."""

    def make(user=None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def alice_client(alice, page_client):
    return page_client(alice)


@pytest.fixture
def bob_client(bob, page_client):
    return page_client(bob)


@pytest.fixture
def htmx():
    """Headers of an htmx request."""
    return {"HTTP_HX_REQUEST": "true"}
