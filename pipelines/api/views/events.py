"""A run's events as server-sent events: the stored ones, then the live ones."""

from __future__ import annotations

from pipelines.aio import db
from pipelines.api.errors import error_json, service_error_json
from pipelines.api.streaming import follow_run
from pipelines.auth import authenticate_request
from pipelines.errors import ServiceError, whole_number
from pipelines.selectors import run_for_follower


def _run_for_events(request, run_uid: str):
    user, _ = authenticate_request(request)
    return run_for_follower(requester=user, run_uid=run_uid)


_run_for_events_in_thread = db(_run_for_events)


async def run_events(request, run_uid):
    """``GET /v1beta/pipeline-runs/{uid}/events``: the run's events as server-sent events,
    the stored ones then the live ones until the run ends. ``Last-Event-ID`` (or
    ``?after=N``) skips the events a client already has."""
    if request.method != "GET":
        return error_json(405, f"{request.method} is not allowed here; use GET")
    field = "Last-Event-ID" if request.META.get("HTTP_LAST_EVENT_ID") else "after"
    raw_after = request.META.get("HTTP_LAST_EVENT_ID") or request.GET.get("after") or "0"
    try:
        after = whole_number(raw_after, name=field, hint=" (an event sequence number)")
        run = await _run_for_events_in_thread(request, str(run_uid))
    except ServiceError as exc:
        return service_error_json(exc)
    return follow_run(run_uid=run.uid, after=after)
