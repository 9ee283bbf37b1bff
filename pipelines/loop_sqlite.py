"""Reading and writing SQLite on the event loop itself, for the trigger's hot path.

Every ORM call from async code is a hop to a thread. On SQLite that hop costs far more
than the query: the ``sqlite3`` module releases the GIL around each step, so a query
in a thread hands the GIL back and forth with the busy event loop several times.
Profiled under load, the one freshness query a cached trigger needs (has the pipeline
changed?) took ~40 µs of work and ~400 µs of CPU as a thread hop.

The same went for writing a finished sync trigger's run: a thread hop per group
commit, and the GIL handed over for every row; and for every write of a streamed or
async run (stored, claimed, its events as they come, its end), several per run.

So that query and those writes run here, on the loop's thread, through a plain
``sqlite3`` connection of its own with **no busy timeout**: it never waits for another
connection's lock (only, at most, for the other loop of this process to finish one
transaction: see :func:`write`).
In WAL mode readers do not wait for the writer; a write starts with ``BEGIN
IMMEDIATE``, which fails at once if another connection is writing, and commits
without fsync (``synchronous=NORMAL``, as the ORM's connections). Whenever SQLite
answers "busy" or anything else goes wrong, callers get ``False`` and take the ORM
path in a thread, as before. Checkpoints (copying the WAL back into the database,
with fsync) are left to a thread too: this connection never checkpoints by itself.
With any other database (PostgreSQL: a network round trip) this module is off and
callers always take the thread path.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.conf import settings

logger = logging.getLogger("pipelines.loop_sqlite")

_local = threading.local()

# What went through here, and what could not (``fallbacks``): for tests and diagnosis.
counters: Counter[str] = Counter()


def _database() -> str | None:
    """The SQLite file of the default database, None when it is not a SQLite file.
    Read at each call: test runs rename the database after start-up."""
    config = settings.DATABASES["default"]
    if config["ENGINE"] != "django.db.backends.sqlite3" or not settings.PIPELINE_LOOP_SQLITE:
        return None
    name = str(config["NAME"])
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return name


def unavailable() -> bool:
    """True when this module is off (not SQLite, or PIPELINE_LOOP_SQLITE is false)."""
    return _database() is None


def _connection() -> sqlite3.Connection | None:
    name = _database()
    if name is None:
        return None
    opened = getattr(_local, "opened", None)
    if opened is not None and opened[0] == name:
        return opened[1]
    if opened is not None:
        opened[1].close()
    connection = sqlite3.connect(name, timeout=0, isolation_level=None, check_same_thread=True)
    try:
        if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            raise sqlite3.OperationalError("not in WAL mode: readers would wait for writers")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA wal_autocheckpoint = 0")
        connection.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        connection.close()
        raise
    _local.opened = (name, connection)
    _local.commits = 0
    return connection


def fetch_one(sql: str, params: tuple[Any, ...]) -> tuple | bool | None:
    """The first row of a read-only query, ``None`` when there is none, or ``False``
    when it could not be asked here (not SQLite, locked, any error): the caller then
    uses the ORM in a thread."""
    try:
        connection = _connection()
        if connection is None:
            return False
        row = connection.execute(sql, params).fetchone()
    except sqlite3.Error as exc:  # busy, schema being migrated, file replaced: ask the ORM instead
        logger.debug("loop read failed, falling back to a thread: %s", exc)
        counters["fallbacks"] += 1
        close()
        return False
    counters["reads"] += 1
    return row


# Loop commits between two checkpoints requested from a thread (about what SQLite's own
# 1000-page auto-checkpoint would do for small runs).
CHECKPOINT_EVERY = 200
# The log starts over at a write that finds it wholly copied into the database. A
# checkpoint in a thread copies it while this loop goes on writing, so it never found it
# so: the log grew by ~22 KB per trigger without end (2 GB after 100,000 triggers, its
# index mapped into every process). So once the thread's checkpoint is done, the loop
# copies the few frames written meanwhile itself, and its next write starts the log over.
# Should that still not happen (other processes writing all the time), past this many
# frames (64 MB at 4 KB pages) the checkpoint waits, briefly, for the log's readers and
# truncates it.
TRUNCATE_FRAMES = 16384
TRUNCATE_WAIT_MS = 100


# Held by a loop's write transaction. A process has two loops that write here (the
# server's, and the in-process executor's for async runs), each with its own connection:
# without it, one loop's BEGIN IMMEDIATE would fail whenever the other's transaction is
# open — SQLite releases the GIL inside every step — and fall back to a thread. Waiting
# for the lock is waiting for one short transaction of this process, with no await in
# it; a writer outside this process or in a thread still never makes a loop wait.
_loop_writer = threading.Lock()
LOCK_WAIT_SECONDS = 0.05


def write(fn: Callable[[sqlite3.Cursor], None]) -> bool:
    """Run ``fn(cursor)`` in one write transaction here; True when committed. False (and
    nothing written) when it could not be done without waiting on another connection:
    not SQLite, another connection writing, or any error — the caller then writes
    through the ORM."""
    if not _loop_writer.acquire(timeout=LOCK_WAIT_SECONDS):
        counters["fallbacks"] += 1
        return False
    try:
        return _write(fn)
    finally:
        _loop_writer.release()


def _write(fn: Callable[[sqlite3.Cursor], None]) -> bool:
    try:
        connection = _connection()
        if connection is None:
            return False
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        busy = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
        _local.busy = busy
        logger.debug("loop write not started, falling back to a thread: %s", exc)
        counters["fallbacks"] += 1
        counters["busy"] += busy
        return False
    _local.busy = False
    try:
        fn(cursor)
        cursor.execute("COMMIT")
    except BaseException as exc:
        try:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        except sqlite3.Error:
            close()
        if not isinstance(exc, Exception):
            raise
        if isinstance(exc, sqlite3.Error):
            logger.debug("loop write failed, falling back to a thread: %s", exc)
        else:  # a value the fast adapters did not expect: the ORM path will say what
            logger.warning("loop write failed, falling back to a thread", exc_info=True)
        counters["fallbacks"] += 1
        return False
    counters["writes"] += 1
    _local.commits += 1
    if _local.commits % CHECKPOINT_EVERY == 0:
        _checkpoint_soon()
    return True


def write_was_busy() -> bool:
    """Whether this thread's last :func:`write` found another connection writing (another
    process, with ``serve --workers``): worth trying again here in a moment."""
    return getattr(_local, "busy", False)


def _checkpoint_soon() -> None:
    from pipelines.aio import db

    async def checkpoint() -> None:
        try:
            await db(_checkpoint)()
        except Exception:  # noqa: BLE001 - the next one will do
            logger.exception("WAL checkpoint failed")
            return
        _catch_up()

    from pipelines.aio import detached

    detached(checkpoint())


def _catch_up() -> None:
    """On the loop, after a checkpoint in a thread: copy what was written meanwhile (a
    few frames; never waits), so that the loop's next write starts the log over."""
    opened = getattr(_local, "opened", None)
    if opened is None or opened[1].in_transaction:
        return
    try:
        opened[1].execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error as exc:
        logger.debug("catching up with the checkpoint failed: %s", exc)


def _checkpoint() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        row = cursor.fetchone()
        if row is None or row[1] <= TRUNCATE_FRAMES:
            return
        cursor.execute("PRAGMA busy_timeout")
        (waited,) = cursor.fetchone()
        cursor.execute(f"PRAGMA busy_timeout = {TRUNCATE_WAIT_MS}")
        try:  # writers wait meanwhile (a moment): readers of the log finish in milliseconds
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {int(waited)}")


def close() -> None:
    """Close this thread's connection (tests drop their database afterwards)."""
    opened = getattr(_local, "opened", None)
    _local.opened = None
    if opened is not None:
        opened[1].close()
