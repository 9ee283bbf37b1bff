"""Websocket consumers: thin adapters over :mod:`pipelines.realtime` and the selectors."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from pipelines.auth import authenticate_authorization
from pipelines.engine import json_bytes
from pipelines.engine.limits import has_surrogate_escape, loads_stored
from pipelines.errors import InvalidArgument, NotFound, RateLimited, Unauthenticated, whole_number
from pipelines.realtime import run_follow
from pipelines.selectors import run_for_follower
from pipelines.services.run_files import MARKER, as_urls

# Close codes (4000-4999 are the application's): a browser sees them in CloseEvent.code.
CLOSE_ENDED = 1000
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400
CLOSE_TOO_MANY = 4429
CLOSE_INTERNAL_ERROR = 1011

logger = logging.getLogger("pipelines.realtime")


class NoSuchPathConsumer(AsyncJsonWebsocketConsumer):
    """Any other path under the websocket router: accepted, then closed 4404, as for a
    run that does not exist."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)


class RunEventsConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/runs/<uid>/``: a run's events, for its requester or the pipeline's owner
    (the access rules of operations), by browser session or ``Authorization`` header.

    On connect it sends the events so far (after ``?after=N``), then live ones, each
    ``{"type": "event", "seq", "event", "data"}`` — ``data`` is the Instill payload, with
    large stored Files as download URLs; when the run ends, ``{"type": "end", "status",
    "error"}`` and close code 1000. Denied: 4401 (not signed in), 4404 (no such run,
    or not yours), 4429 (Basic credentials of a user or address with too many failed
    sign-ins), 1011 when following fails on our side (the client may poll the
    operation instead). The socket is accepted first, so the browser sees the code.
    """

    follower: asyncio.Task | None = None

    async def connect(self) -> None:
        await self.accept()
        try:
            after = whole_number(
                parse_qs(self.scope.get("query_string", b"").decode()).get("after", ["0"])[0], name="after"
            )
        except InvalidArgument:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        try:
            run = await database_sync_to_async(self._run)()
        except Unauthenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        except RateLimited:
            await self.close(code=CLOSE_TOO_MANY)
            return
        except NotFound:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.follower = asyncio.create_task(self._follow(run.uid, after))

    def _run(self):
        user = self.scope.get("user")
        header = dict(self.scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
        if header:
            client = self.scope.get("client") or ("", 0)
            user = authenticate_authorization(header, address=client[0])
        return run_for_follower(requester=user, run_uid=str(self.scope["url_route"]["kwargs"]["run_uid"]))

    async def _follow(self, run_uid, after: int) -> None:
        try:
            async for item in run_follow(run_uid=run_uid, after=after):
                if item.kind == "event":
                    payload = item.payload
                    if MARKER in payload or has_surrogate_escape(payload):
                        payload = json_bytes(as_urls(loads_stored(payload), run_uid=run_uid)).decode()
                    # The stored payload is already JSON: spliced in, not parsed and re-encoded.
                    await self.send(
                        text_data=f'{{"type":"event","seq":{item.seq},"event":"{item.name}","data":{payload}}}'
                    )
                elif item.kind == "end":
                    await self.send_json({"type": "end", "status": item.status, "error": item.error})
                    await self.close(code=CLOSE_ENDED)
                    return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - say so to the client (it can poll), do not hang open
            logger.exception("following run %s over a websocket failed", run_uid)
            await self.close(code=CLOSE_INTERNAL_ERROR)

    async def disconnect(self, code: int) -> None:
        if self.follower is not None:
            self.follower.cancel()
