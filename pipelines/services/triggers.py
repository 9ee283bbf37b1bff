"""A trigger from options to outcome, shared by every adapter (REST, gRPC, pages).

Adapters translate: their wire format in (headers or gRPC metadata, a body or a
message), this module's answers out. Everything a trigger means — its options, the
target it runs, how a run is started so that a caller hanging up does not stop it, and
the events of a streamed run — is decided here once.
"""

from __future__ import annotations

from collections.abc import Mapping


def wants_stream(headers: Mapping[str, str]) -> bool:
    """Whether the caller asks for the run's events rather than its outcome
    (``Accept: text/event-stream`` or ``Instill-Use-SSE: true``). ``headers`` maps
    lower-case names to values: Django's ``request.headers`` or gRPC metadata."""
    return "text/event-stream" in headers.get("accept", "") or headers.get("instill-use-sse", "").lower() == "true"
