"""What ``manage.py serve`` answers when a request breaks a limit of the HTTP layer,
under either server (daphne: ``serve.py``; uvicorn: :mod:`pipelines.uvicorn_server`).

The limits are Twisted's, which daphne inherits and the uvicorn protocol enforces the
same way: one line (the request line or a header) at most 16,384 bytes, the headers
at most 16,384 bytes and 500 lines in all, the body at most
``PIPELINE_MAX_REQUEST_BYTES``. Each refusal is an answer in the API's error shape
that names what is too large, never a silently closed connection.
"""

from __future__ import annotations

import json
import re

from pipelines.api.errors import error_body, too_big_message

MAX_LINE_BYTES = 16384
MAX_HEADERS_BYTES = 16384
MAX_HEADERS = 500
# After a refusal the connection lingers this long, reading and dropping what the client
# is still sending: closing with unread data makes the kernel send a reset, and a reset
# can destroy the answer before the client has read it.
LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024
MALFORMED = "malformed HTTP request: the request line or a header could not be parsed"

_header_name = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}):")


def line_what(line: bytes) -> str:
    """'the X header' or 'the request line (method and URL)' for a raw head line."""
    # A request line starts with a method and a space, never with "name:".
    found = _header_name.match(line)
    return f"the {found.group(1).decode()} header" if found else "the request line (method and URL)"


def line_too_long(line: bytes, limit: int = MAX_LINE_BYTES) -> str:
    return f"{line_what(line)} is longer than {limit} bytes, the server's limit for one line"


def headers_too_large(line: bytes, limit: int = MAX_HEADERS_BYTES) -> str:
    return (
        f"the request's headers are larger than {limit} bytes in all, the server's limit (passed at {line_what(line)})"
    )


def too_many_headers(limit: int = MAX_HEADERS) -> str:
    return f"the request has more than {limit} headers, the server's limit"


def _answer(status: bytes, code: int, message: str) -> bytes:
    body = json.dumps(error_body(code, message)).encode()
    return (
        b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        % (status, len(body))
        + body
    )


def bad_request(message: str) -> bytes:
    """A whole ``400`` answer (code 3, INVALID_ARGUMENT) that closes the connection."""
    return _answer(b"400 Bad Request", 3, message)


def too_big(limit: int) -> bytes:
    """A whole ``413`` answer (code 8) for a body over ``limit`` bytes."""
    return _answer(b"413 Request Entity Too Large", 8, too_big_message(limit))
