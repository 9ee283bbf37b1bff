"""Counting requests: failed sign-ins per user and per client address, and API calls
per token (per user for Basic and sessions) and per pipeline.

Counters are fixed windows in the ``limits`` cache (settings.CACHES): process memory
for one ``serve`` — authentication only ever happens there, never in its run workers;
with ``serve --workers N`` each of its processes counts on its own, so up to N times a
limit gets through — or Redis with ``REDIS_URL``, shared by every process of a
scaled-out deployment. A
counter's window opens with its first event and lasts the limit's period; the count
and the window's end are two cache keys that expire with it, and ``Retry-After`` is
the time left. A client may send up to twice the limit across the end of one window
and the start of the next, never more.

Everything here is off until a setting turns it on, except the sign-in throttle,
which costs only on sign-ins and Basic-auth calls. Limits are read from settings at
each call.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured

from pipelines.errors import RateLimited

RATE_SETTINGS = ("PIPELINE_RATE_LIMIT_TRIGGERS", "PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS", "PIPELINE_RATE_LIMIT_API")
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
RATE_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*$")


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int


@functools.lru_cache(maxsize=32)
def parse_rate(text: str, *, setting: str) -> Rate | None:
    """``"N/second|minute|hour|day"`` → :class:`Rate`; empty → ``None`` (no limit).
    A malformed value is a configuration error (pipelines/checks.py reports it at start)."""
    if not text:
        return None
    match = RATE_PATTERN.match(text)
    if match is None or int(match[1]) < 1:
        raise ImproperlyConfigured(
            f'{setting}={text!r} is not a rate: write "N/second", "N/minute", "N/hour" or "N/day"'
        )
    return Rate(int(match[1]), UNITS[match[2]])


def _cache():
    return caches["limits"]


def _count(key: str, seconds: int, now: float) -> tuple[int, int]:
    """Count one event; (events in ``key``'s current window, whole seconds until it ends).
    A window opens with its first event and lasts ``seconds``."""
    cache = _cache()
    if not cache.add(key, 1, timeout=seconds):
        try:
            count = cache.incr(key)
        except ValueError:  # the window closed between add and incr
            count = 0
        if count:
            end = cache.get(f"{key}:end") or now + seconds
            return count, max(1, math.ceil(end - now))
        cache.set(key, 1, timeout=seconds)
    cache.set(f"{key}:end", now + seconds, timeout=seconds)
    return 1, seconds


def _peek(key: str, now: float) -> tuple[int, int]:
    """(events in ``key``'s current window, whole seconds until it ends) without counting."""
    found = _cache().get_many([key, f"{key}:end"])
    count = found.get(key, 0)
    return count, max(1, math.ceil(found.get(f"{key}:end", now) - now))


# --- sign-in throttle ------------------------------------------------------------------


def _user_key(username: str) -> str:
    # Hashed: usernames tried by an attacker are arbitrary text, and cache keys are not.
    return "signin:u:" + hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _address_key(address: str) -> str:
    return "signin:a:" + (address or "unknown")


def signin_check(*, username: str, address: str) -> None:
    """Refuse a sign-in attempt (:class:`RateLimited`) while the username or the client
    address has used up its failed attempts of the current window, before the password
    is even looked at — so a locked-out account cannot be probed."""
    seconds = settings.PIPELINE_LOGIN_FAILURE_WINDOW_SECONDS
    now = time.time()
    for key, limit, what in (
        (_user_key(username), settings.PIPELINE_LOGIN_FAILURES_PER_USER, "this user"),
        (_address_key(address), settings.PIPELINE_LOGIN_FAILURES_PER_ADDRESS, "this client address"),
    ):
        if limit <= 0:
            continue
        failures, reset = _peek(key, now)
        if failures >= limit:
            raise RateLimited(
                f"too many failed sign-ins for {what} ({limit} per {seconds} s): try again in {reset} s",
                retry_after=reset,
            )


def signin_failed(*, username: str, address: str) -> None:
    """Count a failed attempt against the username and the client address."""
    seconds = settings.PIPELINE_LOGIN_FAILURE_WINDOW_SECONDS
    now = time.time()
    _count(_user_key(username), seconds, now)
    _count(_address_key(address), seconds, now)


def signin_succeeded(*, username: str) -> None:
    """A correct password clears the user's failures (the address keeps its count: one
    account's success says nothing about the other names tried from there)."""
    key = _user_key(username)
    _cache().delete_many([key, f"{key}:end"])


# --- API rate limits -----------------------------------------------------------------


def _limit(key: str, rate: Rate, *, setting: str, what: str, now: float) -> None:
    used, reset = _count(key, rate.seconds, now)
    if used > rate.limit:
        per = next(unit for unit, length in UNITS.items() if length == rate.seconds)
        raise RateLimited(
            f"rate limit exceeded: {rate.limit} {what} per {per} ({setting}); try again in {reset} s",
            retry_after=reset,
            headers={"RateLimit-Limit": str(rate.limit), "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)},
        )


def triggers_limited() -> bool:
    """Whether any trigger limit is set: callers skip everything else when not."""
    return bool(settings.PIPELINE_RATE_LIMIT_TRIGGERS or settings.PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS)


def trigger_check(*, subject: str, pipeline_key: str) -> None:
    """Count a trigger against its caller (``subject``: a token or user) and its
    pipeline; :class:`RateLimited` over either limit."""
    now = time.time()
    rate = parse_rate(settings.PIPELINE_RATE_LIMIT_TRIGGERS, setting="PIPELINE_RATE_LIMIT_TRIGGERS")
    if rate is not None:
        _limit(f"rl:trigger:{subject}", rate, setting="PIPELINE_RATE_LIMIT_TRIGGERS", what="triggers", now=now)
    rate = parse_rate(settings.PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS, setting="PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS")
    if rate is not None:
        _limit(
            f"rl:pipeline:{pipeline_key}",
            rate,
            setting="PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS",
            what="triggers of this pipeline",
            now=now,
        )


def api_enabled() -> bool:
    return bool(settings.PIPELINE_RATE_LIMIT_API)


def api_check(*, subject: str) -> None:
    """Count an API call other than a trigger against its caller; :class:`RateLimited`
    over ``PIPELINE_RATE_LIMIT_API``. No cost when it is unset."""
    rate = parse_rate(settings.PIPELINE_RATE_LIMIT_API, setting="PIPELINE_RATE_LIMIT_API")
    if rate is None:
        return
    _limit(f"rl:api:{subject}", rate, setting="PIPELINE_RATE_LIMIT_API", what="API calls", now=time.time())


async def acall(check: Callable[..., None], **kwargs) -> None:
    """Run a check from async code: inline for the in-memory counters (no I/O), in a
    thread for Redis (a network round trip must not block the event loop)."""
    if isinstance(_cache(), LocMemCache):
        check(**kwargs)
    else:
        await asyncio.to_thread(check, **kwargs)
