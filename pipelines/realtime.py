"""The only module that talks to the channel layer: run events out to their followers.

Every run has a group, ``run.<uid hex>``. The run event log
(:mod:`pipelines.services.run_events`) broadcasts each batch of events after it is
committed, and the run's end after the run's final state is committed. Followers —
the ``/pipeline-runs/{uid}/events`` SSE view and the websocket consumer — use
:func:`run_follow`, which joins the group *first*, then replays the stored log, then
yields live events. Because an event is broadcast only once it is stored, nothing
falls between the replay and the live feed; duplicates are dropped by sequence
number, and a gap (a full channel drops messages) is filled from the log.

In one process the in-memory layer carries the messages; with ``REDIS_URL`` set,
channels-redis does, so an event published by a Celery worker reaches a follower
connected to any web process. ``serve --workers N`` without ``REDIS_URL`` has N
in-memory layers: a run executing in one process and followed from another (the
console triggers over one connection and follows over a websocket that may land on
another process) reaches its follower through the log instead, which followers then
read every :data:`POLL_SECONDS` besides listening (:func:`poll_seconds`).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from copy import deepcopy
from dataclasses import dataclass

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from pipelines.aio import db
from pipelines.selectors import run_events_after, run_state


class LoopSafeInMemoryChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer, safe across the event loops of one process.

    The parent assumes a single event loop, but async runs execute on the in-process
    executor's own loop while followers wait on the server's: a message put into a
    channel's queue from another thread would not wake its receiver. Here each channel
    belongs to the loop that joined it to a group, and a message for it is put into its
    queue on that loop (``call_soon_threadsafe``); group membership is guarded by a lock.
    A channel's loop is forgotten when it leaves its last group.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._loops: dict[str, asyncio.AbstractEventLoop] = {}

    async def send(self, channel: str, message: dict) -> None:
        loop = self._loops.get(channel)
        if loop is None or loop is asyncio.get_running_loop():
            return await super().send(channel, message)
        if not loop.is_closed():
            expires = time.time() + self.expiry
            loop.call_soon_threadsafe(self._put, channel, (expires, deepcopy(message)))

    def _put(self, channel: str, item: tuple) -> None:
        queue = self.channels.setdefault(channel, asyncio.Queue(maxsize=self.get_capacity(channel)))
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            pass  # as group_send does with ChannelFull: the follower refills from the log

    async def group_add(self, group: str, channel: str) -> None:
        # A channel belongs to the loop that joins it to a group (the follower's): only
        # group members receive from other loops, and only they are remembered here.
        self._loops[channel] = asyncio.get_running_loop()
        with self._lock:
            await super().group_add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        with self._lock:
            await super().group_discard(group, channel)
        if not any(channel in members for members in list(self.groups.values())):
            self._loops.pop(channel, None)

    def _clean_expired(self) -> None:
        with self._lock:
            super()._clean_expired()

    async def group_send(self, group: str, message: dict) -> None:
        self.require_valid_group_name(group)
        self._clean_expired()
        with self._lock:
            channels = list(self.groups.get(group, {}))
        for channel in channels:
            try:
                await self.send(channel, message)
            except ChannelFull:
                pass  # as the parent does: the follower refills from the log


# Stored event: (seq, name, payload JSON text).
StoredEvent = tuple[int, str, str]


def group_name(run_uid: uuid.UUID | str) -> str:
    return f"run.{uuid.UUID(str(run_uid)).hex}"


async def events_broadcast(*, run_uid: uuid.UUID | str, events: Sequence[StoredEvent]) -> None:
    """Announce stored events to the run's followers (call after commit)."""
    layer = get_channel_layer()
    if layer is not None and events:
        await layer.group_send(group_name(run_uid), {"type": "run.events", "events": [list(e) for e in events]})


async def end_broadcast(*, run_uid: uuid.UUID | str, status: str, error: str = "") -> None:
    """Announce that the run ended (call after its final state is committed)."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group_name(run_uid), {"type": "run.end", "status": status, "error": error})


@dataclass(frozen=True, slots=True)
class Followed:
    """What a follower receives: an event, the end of the run, or a quiet interval."""

    kind: str  # "event" | "end" | "idle"
    seq: int = 0
    name: str = ""
    payload: str = ""
    status: str = ""
    error: str = ""


IDLE = Followed("idle")

# How often a follower reads the run's log when messages from other processes cannot
# reach it (see poll_seconds): the most a live event waits there.
POLL_SECONDS = 0.1


def poll_seconds(layer) -> float | None:
    """:data:`POLL_SECONDS` when this is one of several ``serve`` processes, each with its
    own in-memory channel layer (``serve --workers``, no ``REDIS_URL``); ``None`` when
    every event of a run reaches its followers through ``layer``."""
    if settings.PIPELINE_SERVE_WORKERS > 1 and isinstance(layer, InMemoryChannelLayer):
        return POLL_SECONDS
    return None


_stored_after = db(run_events_after)
_state = db(run_state)


async def run_follow(
    *, run_uid: uuid.UUID | str, after: int = 0, idle_seconds: float = 15.0
) -> AsyncIterator[Followed]:
    """The run's events after sequence ``after``: stored ones, then live ones, then the end.

    Yields :data:`IDLE` after ``idle_seconds`` without news (an SSE heartbeat's cue);
    each quiet interval also re-reads the run's state, so a lost end message cannot
    leave a follower waiting for ever.
    """
    layer = get_channel_layer()
    poll = poll_seconds(layer)
    channel = await layer.new_channel()
    group = group_name(run_uid)
    await layer.group_add(group, channel)
    receiver: asyncio.Task | None = None
    last = after
    clock = asyncio.get_running_loop().time
    try:
        state = await _state(run_uid)
        for seq, name, payload in await _stored_after(run_uid, last):
            last = seq
            yield Followed("event", seq, name, payload)
        if state is None or state[0]:
            yield _end(state)
            return
        news = clock()  # when the follower last got something
        while True:
            if receiver is None:
                receiver = asyncio.ensure_future(layer.receive(channel))
            quiet = max(0.0, idle_seconds - (clock() - news))
            # Waiting on a task, not with wait_for: a quiet interval must not cancel a
            # receive half-way (channels-redis would lose the message).
            done, _ = await asyncio.wait({receiver}, timeout=quiet if poll is None else min(poll, quiet))
            if not done:
                if poll is not None:  # events stored by another process
                    for seq, name, payload in await _stored_after(run_uid, last):
                        last, news = seq, clock()
                        yield Followed("event", seq, name, payload)
                state = await _state(run_uid)
                if state is None or state[0]:
                    for seq, name, payload in await _stored_after(run_uid, last):
                        last = seq
                        yield Followed("event", seq, name, payload)
                    yield _end(state)
                    return
                if clock() - news >= idle_seconds:
                    news = clock()
                    yield IDLE
                continue
            message, receiver = receiver.result(), None
            news = clock()
            if message.get("type") == "run.events":
                for seq, name, payload in message["events"]:
                    if seq <= last:
                        continue
                    if seq > last + 1:  # missed some: the log has them
                        for missing in await _stored_after(run_uid, last, before=seq):
                            last = missing[0]
                            yield Followed("event", *missing)
                    last = seq
                    yield Followed("event", seq, name, payload)
            elif message.get("type") == "run.end":
                for seq, name, payload in await _stored_after(run_uid, last):
                    last = seq
                    yield Followed("event", seq, name, payload)
                yield Followed("end", status=message.get("status", ""), error=message.get("error", ""))
                return
    finally:
        if receiver is not None:
            receiver.cancel()
        await layer.group_discard(group, channel)


def _end(state: tuple[bool, str, str] | None) -> Followed:
    if state is None:
        return Followed("end", status="", error="the run no longer exists")
    return Followed("end", status=state[1], error=state[2])
