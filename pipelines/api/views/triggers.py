"""Triggers: run a pipeline (sync, streamed) or enqueue it (async), answering in the API's shape.

Triggers are plain async Django views rather than DRF views: DRF's APIView is sync, so
under ASGI every trigger would queue on one shared thread and a slow component would
stall all others; ``adrf`` fixes that but costs ~35% of throughput in its per-request
machinery. The trigger views reuse the same auth, services and error shape as the
DRF views, and do their database work in two short hops to a thread (``pipelines.aio.db``).
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from pipelines.aio import db
from pipelines.api import serializers as s
from pipelines.api.errors import error_json, service_error_json, too_big_message
from pipelines.api.parsers import check_trigger_type, is_multipart, json_body, parse_multipart
from pipelines.api.streaming import sse_response
from pipelines.api.views.common import json_response
from pipelines.auth import AUTHENTICATION_REQUIRED, authenticate_request, credentials_cached
from pipelines.errors import InvalidArgument, PermissionDenied, ServiceError, Unauthenticated
from pipelines.services.run_inputs import trigger_rows
from pipelines.services.run_targets import trigger_target, trigger_target_on_loop
from pipelines.services.triggers import Trigger, trigger_accept, trigger_answer, trigger_enqueue, trigger_stream


def _parse_json_body(request) -> dict:
    try:
        body = request.body
    except RequestDataTooBig as exc:
        raise _TooBig() from exc
    if not body.strip():
        raise InvalidArgument('the request body is empty: send {"data": [{"variable": {...}}]}', field="data")
    return json_body(body)


class _TooBig(Exception):
    pass


async def _trigger_payload(request) -> dict:
    """The trigger body as the JSON shape, from JSON or ``multipart/form-data``."""
    check_trigger_type(request)
    if is_multipart(request):
        try:
            # Parsing writes spooled uploads to disk: keep that off the event loop.
            return await asyncio.to_thread(parse_multipart, request, max_rows=settings.PIPELINE_MAX_BATCH_SIZE)
        except RequestDataTooBig as exc:
            raise _TooBig() from exc
        except (TooManyFieldsSent, TooManyFilesSent) as exc:
            raise InvalidArgument(f"malformed multipart/form-data body: {exc}", field="body") from exc
    return _parse_json_body(request)


def _prepare_trigger(request, namespace_id: str, pipeline_id: str, release_id: str | None):
    """Auth, CSRF for browser sessions, and the target — one thread hop for all reads."""
    user, how = authenticate_request(request)
    if not user.is_authenticated:
        raise Unauthenticated(AUTHENTICATION_REQUIRED)
    if how == "session":
        # The hook alone, outside a middleware chain: no next handler, no view.
        rejected = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})  # type: ignore[arg-type]
        if rejected is not None:
            raise PermissionDenied("CSRF check failed for a browser-session request")
    target = trigger_target(namespace_id=namespace_id, pipeline_id=pipeline_id, release_id=release_id, user=user)
    return user, target


_prepare_trigger_in_thread = db(_prepare_trigger)


def _prepare_trigger_on_loop(request, namespace_id: str, pipeline_id: str, release_id: str | None):
    """:func:`_prepare_trigger` for the common case that needs no database but one read
    on the loop (pipelines/loop_sqlite.py): a cached API token and a cached, current
    pipeline, its latest version, without secrets. ``None``: take the thread path."""
    if release_id is not None:
        return None
    identity = credentials_cached(request.META.get("HTTP_AUTHORIZATION", ""))
    if identity is None:
        return None
    return trigger_target_on_loop(namespace_id=namespace_id, pipeline_id=pipeline_id, user=identity.user)


async def _accept_trigger(request, namespace_id: str, pipeline_id: str, release_id: str | None) -> Trigger:
    """The request as a trigger: body, auth, target, then the service's checks."""
    rows = trigger_rows(await _trigger_payload(request))
    prepared = _prepare_trigger_on_loop(request, namespace_id, pipeline_id, release_id)
    if prepared is None:
        prepared = await _prepare_trigger_in_thread(request, namespace_id, pipeline_id, release_id)
    user, target = prepared
    return await trigger_accept(
        requester=user,
        target=target,
        rows=rows,
        authorization=request.META.get("HTTP_AUTHORIZATION", ""),
        headers=request.headers,
    )


def _trigger_view(handle):
    """A POST-only, CSRF-exempt (token or checked session) trigger view with the API's errors."""

    @csrf_exempt
    async def view(request, kind: str, namespace_id: str, pipeline_id: str, release_id: str | None = None):
        if request.method != "POST":
            return error_json(405, f"{request.method} is not allowed here; use POST")
        try:
            return await handle(await _accept_trigger(request, namespace_id, pipeline_id, release_id))
        except ServiceError as exc:
            return service_error_json(exc)
        except _TooBig:
            return error_json(413, too_big_message(settings.PIPELINE_MAX_REQUEST_BYTES))

    view.__name__ = view.__qualname__ = handle.__name__
    view.__doc__ = handle.__doc__
    view.__dict__["trigger_lane"] = (
        True  # token-authenticated JSON calls may skip the session middleware (pipelines/asgi.py)
    )
    return view


@_trigger_view
async def pipeline_trigger(trigger: Trigger):
    """``POST .../pipelines/{id}/trigger`` and ``.../releases/{v}/trigger``: run and answer with
    outputs, or stream the run's events (``Accept: text/event-stream``)."""
    if trigger.options.stream:
        return sse_response(await trigger_stream(trigger))
    return json_response(await trigger_answer(trigger))


@_trigger_view
async def pipeline_trigger_async(trigger: Trigger):
    """``POST .../trigger-async``: validate now, run later; answers an operation at once."""
    run = await trigger_enqueue(trigger)
    return json_response({"operation": s.operation_json(run)})
