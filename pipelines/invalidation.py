"""One counter shared by every process of this machine, for in-memory caches that must
forget an entry everywhere at once (a deleted API token, a deactivated user).

The counter is 8 bytes at the start of ``PIPELINE_DATA_DIR/cache-generation``, mapped
into memory by each process that reads it: ``serve`` and its ``--workers`` processes,
their run workers, ``grpcserver``, Celery workers on this machine. Reading it costs a
few hundred nanoseconds and no system call, so a cache checks it on every hit. A
change that must reach other processes' caches calls :func:`bump` once it is
committed; an entry remembers the :func:`current` value read *before* the database was
read for it, and counts only while the counter still has that value. So an entry
filled from a row that a later commit changed is never used after that commit's
:func:`bump` returns — in any process that maps the same file.

Processes on other machines do not share the file: there the caches' own expiry (a few
seconds, :mod:`pipelines.services.tokens`) is the bound. When the file cannot be made
(a read-only data dir) :func:`current` is always 0 and only that expiry applies.
"""

from __future__ import annotations

import logging
import mmap
import os
import struct
import threading
from pathlib import Path

from django.conf import settings

logger = logging.getLogger("pipelines.invalidation")

FILE_NAME = "cache-generation"
_COUNTER = struct.Struct("<Q")
_lock = threading.Lock()
_mapped: tuple[Path, mmap.mmap] | None = None
_failed: Path | None = None


def _map() -> mmap.mmap | None:
    """The counter's page, mapped once per process (and again when the data dir changes:
    tests switch it)."""
    global _mapped, _failed
    path = Path(settings.PIPELINE_DATA_DIR) / FILE_NAME
    mapped = _mapped
    if mapped is not None and mapped[0] == path:
        return mapped[1]
    if _failed == path:
        return None
    with _lock:
        if _mapped is not None and _mapped[0] == path:
            return _mapped[1]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size < mmap.PAGESIZE:
                    os.ftruncate(fd, mmap.PAGESIZE)  # zeros: generation 0
                page = mmap.mmap(fd, mmap.PAGESIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            finally:
                os.close(fd)
        except OSError as exc:
            logger.warning("no shared cache generation in %s (%s): caches expire on their own only", path, exc)
            _failed = path
            return None
        _mapped = (path, page)
        return page


def current() -> int:
    """The counter's value now (0 without a counter file)."""
    page = _map()
    return 0 if page is None else _COUNTER.unpack_from(page, 0)[0]


def bump() -> None:
    """Move the counter on: every entry remembered before this call stops counting, in
    every process on this machine. Call after the change is committed."""
    page = _map()
    if page is None:
        return
    import fcntl

    with _lock:
        # Two processes bumping at once must not write the same value back over a
        # third's read: the increment is done under an exclusive lock on the file.
        fd = os.open(Path(settings.PIPELINE_DATA_DIR) / FILE_NAME, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _COUNTER.pack_into(page, 0, _COUNTER.unpack_from(page, 0)[0] + 1)
        finally:
            os.close(fd)  # releases the lock
