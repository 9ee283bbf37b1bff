"""Liveness and readiness probes."""

from __future__ import annotations

from django.http import JsonResponse

from pipelines.aio import db
from pipelines.selectors import database_ready


async def liveness(request):
    return JsonResponse({"healthCheckResponse": {"status": "SERVING_STATUS_SERVING"}})


async def readiness(request):
    ok = await db(database_ready)()
    status_name = "SERVING_STATUS_SERVING" if ok else "SERVING_STATUS_NOT_SERVING"
    return JsonResponse({"healthCheckResponse": {"status": status_name}}, status=200 if ok else 503)
