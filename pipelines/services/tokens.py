"""API tokens: ``instill_sk_`` + 32 letters/digits, stored as SHA-256 only.

Authentication is on the hot path of every trigger, so a verified token is cached
in-process for a few seconds. Deleting a token, or changing or deleting its user,
moves the machine's cache generation (:mod:`pipelines.invalidation`) once committed:
from then on no process on this machine answers from an entry cached before, so a
deleted token is refused everywhere at once. Processes on other machines stop
accepting it within ``CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from pipelines import invalidation
from pipelines.errors import AlreadyExists, InvalidArgument, NotFound, Unauthenticated
from pipelines.models import RESOURCE_ID_PATTERN, ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PREFIX = "instill_sk_"
ALPHABET = string.ascii_letters + string.digits
TOKEN_PATTERN = re.compile(r"^instill_sk_[A-Za-z0-9]{32}$")
CACHE_SECONDS = 5.0
# Instill's ttl is an int32 of seconds (about 68 years): the same bound here keeps the
# expiry time within what dates can hold.
MAX_TTL = 2**31 - 1
LAST_USE_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class TokenIdentity:
    token_pk: int
    user: User
    expire_time: datetime | None


# token hash → (monotonic expiry, cache generation read before the row, identity)
_cache: dict[str, tuple[float, int, TokenIdentity]] = {}
_last_use_written: dict[str, datetime] = {}
_lock = threading.Lock()


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(
    *, user: User, token_id: str, ttl: int | None = None, expire_time: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the raw token, which is never shown again."""
    if not re.match(RESOURCE_ID_PATTERN, token_id or ""):
        raise InvalidArgument(f'token id "{token_id}" is not valid: ids match ^[a-z_][-a-z_0-9]{{0,31}}$', field="id")
    if ttl is not None and expire_time is not None:
        raise InvalidArgument("give either ttl or expireTime, not both", field="ttl")
    if ttl is None and expire_time is None:
        ttl = -1
    if ttl is not None:
        if ttl < -1 or ttl == 0 or ttl > MAX_TTL:
            raise InvalidArgument(
                f"ttl must be a number of seconds from 1 to {MAX_TTL} (about 68 years), or -1 for a token that never expires",
                field="ttl",
            )
        expire_time = None if ttl == -1 else timezone.now() + timedelta(seconds=ttl)
    elif expire_time is not None and expire_time <= timezone.now():
        raise InvalidArgument("expireTime must be in the future", field="expireTime")
    raw = PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(32))
    try:
        with transaction.atomic():  # a savepoint: a clash must not break the caller's transaction
            token = ApiToken.objects.create(
                user=user, slug=token_id, token_hash=hash_token(raw), hint=raw[-4:], expire_time=expire_time
            )
    except IntegrityError as exc:
        raise AlreadyExists(f'token "{token_id}" already exists', field="id") from exc
    return token, raw


def token_delete(*, user: User, token_id: str) -> None:
    token = ApiToken.objects.filter(user=user, slug=token_id).first()
    if token is None:
        raise NotFound(f'token "{token_id}" not found')
    token_pk = token.pk
    token.delete()  # other processes forget it once committed (cache_forget_on_commit)
    with _lock:
        for key, (_, _, identity) in list(_cache.items()):
            if identity.token_pk == token_pk:
                del _cache[key]


def cache_forget_on_commit(**_: object) -> None:
    """Receiver of the token and user signals (pipelines/apps.py): once the change is
    committed, no process on this machine answers from a token identity cached before."""
    transaction.on_commit(invalidation.bump)


def _cached(key: str, now_mono: float) -> TokenIdentity | None:
    hit = _cache.get(key)
    if hit is None or hit[0] <= now_mono or hit[1] != invalidation.current():
        return None
    return hit[2]


def token_authenticate(raw: str):
    """The user owning ``raw``, or :class:`Unauthenticated` for unknown, expired or deleted tokens."""
    return token_identity(raw).user


def token_identity(raw: str) -> TokenIdentity:
    """Resolve a raw token to its identity, from the cache when fresh."""
    if not TOKEN_PATTERN.match(raw):
        raise Unauthenticated("invalid API token: tokens look like instill_sk_ followed by 32 letters or digits")
    key = hash_token(raw)
    now_mono = time.monotonic()
    identity = _cached(key, now_mono)
    now = timezone.now()
    if identity is None:
        generation = invalidation.current()  # before the read: a commit after it voids the entry
        token = ApiToken.objects.filter(token_hash=key).select_related("user").first()
        if token is None:
            raise Unauthenticated("invalid API token: it is unknown or has been deleted")
        if not token.user.is_active:
            raise Unauthenticated("the API token's user is inactive")
        identity = TokenIdentity(token_pk=token.pk, user=token.user, expire_time=token.expire_time)
        with _lock:
            if len(_cache) > 10_000:
                _cache.clear()
            _cache[key] = (now_mono + CACHE_SECONDS, generation, identity)
    if identity.expire_time is not None and identity.expire_time <= now:
        raise Unauthenticated("the API token has expired; create a new one")
    _touch(identity.token_pk, key, now)
    return identity


def token_identity_cached(raw: str) -> TokenIdentity | None:
    """The identity of ``raw`` from the cache alone, for callers that must not touch the
    database (the event loop). ``None`` whenever :func:`token_identity` has something to
    do there: an unknown or stale entry, an expired token (it raises the error), or a
    ``lastUseTime`` due to be written."""
    if not TOKEN_PATTERN.match(raw):
        return None
    key = hash_token(raw)
    identity = _cached(key, time.monotonic())
    if identity is None:
        return None
    now = timezone.now()
    if identity.expire_time is not None and identity.expire_time <= now:
        return None
    last = _last_use_written.get(key)
    if last is None or now - last >= LAST_USE_RESOLUTION:
        return None
    return identity


def _touch(token_pk: int, key: str, now: datetime) -> None:
    """Record ``lastUseTime`` at most once a minute per token, to keep triggers write-light."""
    last = _last_use_written.get(key)
    if last is not None and now - last < LAST_USE_RESOLUTION:
        return
    if len(_last_use_written) > 10_000:
        _last_use_written.clear()
    _last_use_written[key] = now
    ApiToken.objects.filter(pk=token_pk).update(last_use_time=now)


def token_state(token: ApiToken) -> str:
    return "STATE_EXPIRED" if token.is_expired() else "STATE_ACTIVE"
