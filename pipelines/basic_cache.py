"""Basic credentials that verified, remembered for a short while: a client that sends the
same username and password with every call (Instill's clients do) pays the password hash
(PBKDF2, most of a second of CPU) on its first call, not on each one.

An entry is keyed by the username and an HMAC-SHA256 of the password under a random key
made when the process starts (and never stored), and holds the user's stored password
hash as it was when the password verified. A hit still reads the user: it counts only
while that user is active and their stored hash is unchanged, so a password change (a new
salt makes a new hash) or a deactivation takes effect on the next call, in every process.
Entries expire ``PIPELINE_BASIC_AUTH_CACHE_SECONDS`` after they verified (0 turns the
cache off) and the least recently used goes once ``PIPELINE_BASIC_AUTH_CACHE_ENTRIES``
are held. Only a password that verified is remembered: a wrong one takes the full hash
and counts against the sign-in throttle as before. Neither the password nor an unkeyed
hash of it is kept anywhere.

Neither Django nor a maintained Django package offers this: Django's hashers are slow on
purpose and every ``authenticate`` call pays the hash; the usual answer — trading Basic
for a token or a session — is not open to us, because Instill's clients send Basic.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string

_KEY = secrets.token_bytes(32)
_lock = threading.Lock()
# (username, HMAC of the password) → (stored password hash when it verified, expiry)
_entries: OrderedDict[tuple[str, bytes], tuple[str, float]] = OrderedDict()
_clock = time.monotonic


def _key(username: str, password: str) -> tuple[str, bytes]:
    return username, hmac.new(_KEY, password.encode(), hashlib.sha256).digest()


def _forget(key: tuple[str, bytes]) -> None:
    with _lock:
        _entries.pop(key, None)


def lookup(username: str, password: str):
    """The active user whose remembered credentials these are, with an unchanged stored
    hash; ``None`` otherwise (the caller then authenticates in full)."""
    if settings.PIPELINE_BASIC_AUTH_CACHE_SECONDS <= 0:
        return None
    key = _key(username, password)
    with _lock:
        found = _entries.get(key)
        if found is None:
            return None
        stored, expires = found
        if expires <= _clock():
            del _entries[key]
            return None
        _entries.move_to_end(key)
    model = get_user_model()
    try:
        user = model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        user = None
    if user is None or not user.is_active or not constant_time_compare(user.password, stored):
        _forget(key)
        return None
    user.backend = f"{ModelBackend.__module__}.{ModelBackend.__qualname__}"
    return user


def remember(username: str, password: str, user) -> None:
    """Remember credentials that Django's model backend has just verified for ``user``."""
    seconds = settings.PIPELINE_BASIC_AUTH_CACHE_SECONDS
    backend = getattr(user, "backend", "")
    if seconds <= 0 or not backend or not issubclass(import_string(backend), ModelBackend):
        return
    key = _key(username, password)
    with _lock:
        _entries[key] = (user.password, _clock() + seconds)
        _entries.move_to_end(key)
        while len(_entries) > max(1, settings.PIPELINE_BASIC_AUTH_CACHE_ENTRIES):
            _entries.popitem(last=False)


def size() -> int:
    with _lock:
        return len(_entries)


def clear() -> None:
    with _lock:
        _entries.clear()
