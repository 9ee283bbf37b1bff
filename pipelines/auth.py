"""Credentials → requester, for every adapter alike (REST, gRPC, websockets, the ASGI
trigger lane): ``Bearer instill_sk_…``, the raw token alone, Basic for local users, and
the browser session for our own pages. Nothing here knows a wire format beyond the
``Authorization`` value itself."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from django.contrib.auth import authenticate as django_authenticate

from pipelines import basic_cache, ratelimits
from pipelines.errors import AUTHENTICATION_REQUIRED, Unauthenticated  # noqa: F401 - AUTHENTICATION_REQUIRED: the adapters' message
from pipelines.services.tokens import PREFIX, hash_token, token_authenticate, token_identity_cached

if TYPE_CHECKING:
    from pipelines.models import Requester


def credentials(header: str) -> tuple[str, str, str] | None:
    """Classify an Authorization header: ("token", raw, "") | ("basic", user, password) | None."""
    header = header.strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    lowered = scheme.lower()
    if lowered == "bearer":
        return ("token", rest.strip(), "")
    if lowered == "basic":
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise Unauthenticated("malformed Basic credentials: expected base64 of user:password") from exc
        user, sep, password = decoded.partition(":")
        if not sep:
            raise Unauthenticated("malformed Basic credentials: expected base64 of user:password")
        return ("basic", user, password)
    if header.startswith(PREFIX):
        return ("token", header, "")
    raise Unauthenticated('unsupported Authorization header: use "Bearer instill_sk_..." or Basic credentials')


def authenticate_header(request) -> object | None:
    """The user named by the request's Authorization header, None when there is none.

    Raises :class:`Unauthenticated` for credentials that are present but wrong.
    """
    return authenticate_authorization(
        request.META.get("HTTP_AUTHORIZATION", ""), address=request.META.get("REMOTE_ADDR", "")
    )


def authenticate_authorization(header: str, *, address: str) -> object | None:
    """The user named by an Authorization value (an HTTP header or gRPC ``authorization``
    metadata, a websocket handshake) sent from client ``address``, None when it is empty;
    :class:`Unauthenticated` when it is wrong. Basic credentials go through the sign-in
    throttle (:class:`RateLimited` once a user or address has failed too often); ones that
    verified a moment ago are not hashed again (:mod:`pipelines.basic_cache`)."""
    found = credentials(header)
    if found is None:
        return None
    kind, first, second = found
    if kind == "token":
        return token_authenticate(first)
    ratelimits.signin_check(username=first, address=address)
    user = basic_cache.lookup(first, second)
    if user is None:
        user = django_authenticate(request=None, username=first, password=second)
        if user is None or not user.is_active:
            ratelimits.signin_failed(username=first, address=address)
            raise Unauthenticated("wrong username or password")
        basic_cache.remember(first, second, user)
    ratelimits.signin_succeeded(username=first)
    return user


def rate_subject(header: str, user: Requester) -> str:
    """Whom API rate limits count against: the API token in ``header``, else the user
    (Basic credentials, a browser session)."""
    try:
        found = credentials(header)
    except Unauthenticated:
        found = None
    if found is not None and found[0] == "token":
        return "t:" + hash_token(found[1])[:32]
    return f"u:{user.pk}"


def credentials_cached(header: str):
    """The token identity of an Authorization value from the token cache alone (see
    :func:`token_identity_cached`); ``None`` for anything that needs more: no or other
    credentials, malformed ones (:func:`authenticate_authorization` says what is wrong)."""
    try:
        found = credentials(header)
    except Unauthenticated:
        return None
    if found is None or found[0] != "token":
        return None
    return token_identity_cached(found[1])


def authenticate_request(request):
    """Header credentials first, then the browser session; anonymous → AnonymousUser."""
    user = authenticate_header(request)
    if user is not None:
        return user, "header"
    return request.user, "session"
