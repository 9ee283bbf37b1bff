"""Limits of the HTTP layer itself (``manage.py serve``): requests that the server (Twisted
under daphne; uvicorn's httptools protocol) refuses before our code sees them are answered
400 in the API's error shape, naming what is too large, instead of a closed connection
or a bare ``400 Bad Request``."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.e2e.test_serve import HELLO_BODY, HELLO_TRIGGER, assert_error

pytestmark = pytest.mark.e2e


def assert_still_serving(api: httpx.Client) -> None:
    assert api.post(HELLO_TRIGGER, json=HELLO_BODY).status_code == 200


def test_a_100_kb_idempotency_key_is_400_naming_the_header(api: httpx.Client) -> None:
    """A header line over 16 KB: Twisted closed the connection without an answer."""
    response = api.post(HELLO_TRIGGER, json=HELLO_BODY, headers={"Idempotency-Key": "k" * 100_000})
    body = assert_error(response, 400, 3)
    assert "Idempotency-Key header" in body["message"] and "16384 bytes" in body["message"]
    assert_still_serving(api)


def test_headers_over_16_kb_in_all_are_400_naming_the_header_that_passed_it(api: httpx.Client) -> None:
    """Each line under 16 KB but the lot over it: Twisted's bare 400 had no body."""
    response = api.post(HELLO_TRIGGER, json=HELLO_BODY, headers={"Idempotency-Key": "k" * 16_300})
    body = assert_error(response, 400, 3)
    assert "Idempotency-Key header" in body["message"] and "in all" in body["message"]


def test_an_idempotency_key_the_server_admits_is_checked_by_the_api(api: httpx.Client) -> None:
    """Under the server's limits, the API's own maximum (255 characters) applies."""
    body = assert_error(api.post(HELLO_TRIGGER, json=HELLO_BODY, headers={"Idempotency-Key": "k" * 10_000}), 400, 3)
    assert "Idempotency-Key" in body["message"] and "255" in body["message"]


def test_a_request_line_over_16_kb_is_400(api: httpx.Client) -> None:
    body = assert_error(api.get("/v1beta/operations/" + "x" * 20_000), 400, 3)
    assert "request line" in body["message"]


def test_a_header_twisted_cannot_parse_is_400_in_the_error_shape(e2e_server) -> None:
    """A header line without a colon: malformed, said in JSON."""
    with socket.create_connection(("127.0.0.1", e2e_server.port), timeout=10) as sock:
        sock.sendall(b"GET /v1beta/__liveness HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert b'"code": 3' in body and b"malformed HTTP request" in body
