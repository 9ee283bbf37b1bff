"""Refuse oversize requests before anything reads their body."""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

from pipelines.api.errors import error_json, too_big_message


class RequestLimitMiddleware:
    """413 in the error shape when Content-Length is over ``PIPELINE_MAX_REQUEST_BYTES``.

    Sync and async capable, so async views run without a thread hop. Bodies without a
    Content-Length (chunked) are bounded by :class:`pipelines.api.limits.BodyLimitASGI`.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)  # asked once, not on every request
        if self._async:
            markcoroutinefunction(self)

    def _too_big(self, request):
        length = request.META.get("CONTENT_LENGTH")
        limit = settings.PIPELINE_MAX_REQUEST_BYTES
        try:
            if length and int(length) > limit:
                return error_json(413, too_big_message(limit))
        except ValueError:
            return error_json(400, "Content-Length must be a number")
        return None

    def __call__(self, request):
        if self._async:
            return self.__acall__(request)
        return self._too_big(request) or self.get_response(request)

    async def __acall__(self, request):
        return self._too_big(request) or await self.get_response(request)
