"""Django's ASGI handler without a new thread per request, a lane for API triggers,
and the websocket origin check."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections import Counter

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.core import signals
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import Resolver404, ResolverMatch, get_resolver, set_script_prefix
from django.utils.module_loading import import_string

from pipelines.auth import credentials
from pipelines.errors import Unauthenticated

logger = logging.getLogger("pipelines.asgi")

# Requests served by the trigger lane, and those it looked at and passed on: for tests
# and diagnosis.
lane_counters: Counter[str] = Counter()


class PipelineASGIHandler(ASGIHandler):
    """Serves each request without wrapping it in a ``ThreadSensitiveContext``.

    Django's handler gives every request its own one-thread executor for sync code, so
    each request starts and joins a thread (its request signals alone need two hops)
    and sync views open a fresh database connection. Without it, thread-sensitive sync
    code runs on asgiref's one long-lived thread with a persistent connection. The cost:
    sync views of one process run one at a time — they are short database reads and
    writes here; everything that waits (triggers, streams) is async and not affected.

    Token-authenticated JSON triggers go through :class:`TriggerLane`
    (``PIPELINE_TRIGGER_LANE``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.lane = None
        if settings.PIPELINE_TRIGGER_LANE:
            try:
                self.lane = TriggerLane()
            except ImproperlyConfigured as exc:  # a middleware it cannot run: every request takes the full cycle
                logger.warning("trigger lane off: %s (set PIPELINE_TRIGGER_LANE=false to silence this)", exc)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        if self.lane is not None and self.lane.admits(scope):
            await self.lane.serve(scope, receive, send, passed_on=self.handle)
            return
        await self.handle(scope, receive, send)


# Middleware that only concern browser sessions: a request that carries its own
# credentials in the Authorization header never reaches the session, the CSRF token
# (trigger views are CSRF-exempt; CSRF is checked for session-authenticated triggers
# only), the lazy ``request.user`` or the message store.
SESSION_MIDDLEWARE = frozenset(
    {
        "pipelines.middleware.SessionMiddleware",
        "pipelines.middleware.CsrfViewMiddleware",
        "pipelines.middleware.AuthenticationMiddleware",
        "pipelines.middleware.MessageMiddleware",
    }
)

TRIGGER_VERBS = frozenset({"trigger", "trigger-async", "triggerAsync"})


class TriggerLane(ASGIHandler):
    """Django's request cycle for API triggers, without what only browsers need.

    The trigger is the request this product exists to serve, and profiling showed
    Django's per-request machinery at about half of its cost in the web process: two
    thread hops for the ``request_started``/``request_finished`` signals, a task that
    listens for a disconnect, and middleware for sessions, CSRF, users and messages
    that a token-authenticated call never touches. A ``POST`` to a trigger view with
    ``Authorization`` credentials and a JSON body of known length therefore goes
    through this handler instead:

    * the same URL resolution, view, error handling and error logging (Django's
      ``get_response_async``), behind ``settings.MIDDLEWARE`` minus
      :data:`SESSION_MIDDLEWARE` — so the body limit, host validation and security
      headers are those of every other request;
    * ``request_started`` and ``request_finished`` sent inline on the event loop: their
      receivers (Django's: close stale database connections and cache clients of the
      calling context) have nothing to do there, since the event loop's context holds
      no database connection — the thread pool of :mod:`pipelines.aio` refreshes its
      own connections on each call;
    * no disconnect listener while the view works: a trigger is not cancelled by a
      client hanging up anyway (it finishes and is recorded), so a sync trigger simply
      answers into the void; a streamed trigger's events are sent while a listener
      waits for the disconnect, which ends the stream (not the run), as in Django's
      handler.

    Anything else — session auth, multipart uploads, large or chunked
    bodies, a path that turns out not to be a trigger view — takes the full cycle, with
    the body already read replayed to it.
    """

    def __init__(self) -> None:  # noqa: D107 - not super().__init__(): its middleware is all of settings.MIDDLEWARE
        self._view_middleware: list = []
        self._template_response_middleware: list = []
        self._exception_middleware: list = []
        handler = convert_exception_to_response(self._get_response_async)  # type: ignore[attr-defined]  # Django private API, absent from django-stubs
        for path in reversed([m for m in settings.MIDDLEWARE if m not in SESSION_MIDDLEWARE]):
            middleware = import_string(path)
            if not getattr(middleware, "async_capable", False):
                raise ImproperlyConfigured(f"{path} must be async-capable to serve the trigger lane")
            try:
                instance = middleware(handler)
            except MiddlewareNotUsed:
                continue
            for hook in ("process_view", "process_template_response", "process_exception"):
                if hasattr(instance, hook):
                    raise ImproperlyConfigured(f"{path}.{hook} is not supported by the trigger lane")
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler

    def admits(self, scope) -> bool:
        """Whether a request may take the lane, from its method, path and headers alone
        (:meth:`serve` looks at the request itself before answering)."""
        if scope.get("method") != "POST" or scope["path"].rpartition("/")[2] not in TRIGGER_VERBS:
            return False
        authorization = length = None
        for name, value in scope.get("headers") or ():
            if name == b"authorization":
                authorization = value
            elif name == b"content-length":
                length = value
        if authorization is None or length is None:
            return False
        try:
            if not 0 <= int(length) <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE:
                return False  # Django spools larger bodies to disk, and judges oversize ones
        except ValueError:
            return False
        try:  # header credentials the view can judge by themselves (never the session)
            return credentials(authorization.decode("latin-1")) is not None
        except Unauthenticated:
            return False

    async def serve(self, scope, receive, send, *, passed_on) -> None:
        """Answer an admitted request, or hand it to ``passed_on`` (the full cycle)."""
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # gone before it was complete, as in Django's handler
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        request, _ = self.create_request(scope, io.BytesIO(body))  # on error, the full cycle answers
        match = None
        if request is not None:
            try:
                match = _resolve(request.path_info)
            except Resolver404:
                pass
        if request is None or match is None or not _servable(request, match):
            lane_counters["passed_on"] += 1
            await passed_on(scope, _replay(body, receive), send)
            return
        lane_counters["served"] += 1
        request.lane_match = match  # type: ignore[attr-defined]  # ours, read back by resolve_request
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        response = await self.get_response_async(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]  # as Django's handler sets it; absent from django-stubs
        try:
            if response.streaming:
                await self._send_while_connected(response, receive, send)
            else:
                await self.send_response(response, send)
        finally:
            response.close()  # sends request_finished

    async def _send_while_connected(self, response, receive, send) -> None:
        """Send a streamed answer (a streamed trigger's events) until it ends or the
        client goes away, as Django's handler does: a stream follows its client (the
        run goes on either way; see pipelines/api/streaming.py)."""
        sender = asyncio.ensure_future(self.send_response(response, send))
        listener = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            listener.cancel()
            if not sender.done():
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender
        if not sender.cancelled():
            sender.result()

    def resolve_request(self, request):
        """The match :meth:`serve` found (Django's handler would resolve the path again)."""
        request.resolver_match = request.lane_match
        return request.lane_match


async def _disconnected(receive) -> None:
    """Return once the client has gone: with the request body read, the only message
    an ASGI server still sends is ``http.disconnect``."""
    await receive()


# Trigger paths the lane resolved: Django's resolver tries the URL patterns one regex at
# a time, a twentieth of a trigger's CPU in ``serve`` (profiled). Bounded: emptied when
# full, and when the URL configuration changes (tests).
_matches: dict[str, ResolverMatch] = {}
MATCHES_KEPT = 1024


def _resolve(path: str) -> ResolverMatch:
    """``get_resolver().resolve(path)``, remembered (the match is only read)."""
    match = _matches.get(path)
    if match is None:
        match = get_resolver().resolve(path)
        if len(_matches) >= MATCHES_KEPT:
            _matches.clear()
        _matches[path] = match
    return match


@receiver(setting_changed)
def _forget_matches(*, setting: str, **_) -> None:
    if setting == "ROOT_URLCONF":
        _matches.clear()


def _servable(request, match) -> bool:
    """A trigger view, and not an upload (spooled to disk in a thread): decided by the
    view's own tests."""
    return getattr(match.func, "trigger_lane", False) and request.content_type != "multipart/form-data"


def _replay(body: bytes, receive):
    """``receive`` for the full cycle: the body the lane read, then the connection's own."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class BrowserOriginValidator(OriginValidator):
    """Websockets from browsers must come from one of ``ALLOWED_HOSTS`` (a page of
    another site must not ride on our session cookie); a client that sends no
    ``Origin`` is not a browser — a script or an SDK, with its own credentials — and is
    let through, where Channels' ``AllowedHostsOriginValidator`` would refuse it."""

    def __init__(self, application):
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, allowed)

    def valid_origin(self, parsed_origin) -> bool:
        return parsed_origin is None or super().valid_origin(parsed_origin)
