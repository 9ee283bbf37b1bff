"""Error answers: JSON in the API's shape under ``/v1beta/``, friendly pages elsewhere."""

from __future__ import annotations

from django.http import HttpResponse
from django.template.loader import render_to_string

from pipelines.api.views import api_not_found, api_server_error
from pipelines.api.errors import error_json
from pipelines.views.common import ERROR_PAGES, error_page


def _is_api(request) -> bool:
    return request.path.startswith("/v1beta/")


def not_found(request, exception=None):
    return api_not_found(request, exception) if _is_api(request) else error_page(request, 404)


def permission_denied(request, exception=None):
    return error_json(403, "permission denied") if _is_api(request) else error_page(request, 403)


def _bare_page(status: int, message: str | None = None) -> HttpResponse:
    """The error page without the request's context (user, session): for a 500, where
    they may be what broke, and for CSRF failures, which the async CSRF middleware
    reports from the event loop, where the session cannot be loaded."""
    title, default = ERROR_PAGES[status]
    context = {"status": status, "title": title, "message": message or default, "bare": True}
    return HttpResponse(render_to_string("pipelines/error.html", context), status=status)


def server_error(request):
    return api_server_error(request) if _is_api(request) else _bare_page(500)


def csrf_failure(request, reason: str = ""):
    return _bare_page(403, "Your form expired or came from another site. Reload the page and try again.")
