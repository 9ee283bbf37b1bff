"""DRF's hook for ``PIPELINE_RATE_LIMIT_API``: every DRF API view counts the call
against its caller once authentication has run (triggers count in their own views)."""

from __future__ import annotations

from rest_framework.throttling import BaseThrottle

from pipelines import ratelimits
from pipelines.auth import rate_subject


class ApiRateThrottle(BaseThrottle):
    """Counts the call; over the limit it raises :class:`RateLimited` (429 with
    ``Retry-After`` and ``RateLimit-*``, through the API's exception handler)."""

    def allow_request(self, request, view) -> bool:
        if not ratelimits.api_enabled():
            return True
        user = request.user
        if user is not None and user.is_authenticated:
            subject = rate_subject(request.META.get("HTTP_AUTHORIZATION", ""), user)
        else:
            subject = "a:" + (request.META.get("REMOTE_ADDR") or "unknown")
        ratelimits.api_check(subject=subject)
        return True
