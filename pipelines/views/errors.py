"""Error answers: JSON in the API's shape under ``/v1beta/``, friendly pages elsewhere."""

from __future__ import annotations

from pipelines.api.errors import error_json
from pipelines.api.views.common import api_not_found, api_server_error
from pipelines.views.common import error_page


def _is_api(request) -> bool:
    return request.path.startswith("/v1beta/")


def not_found(request, exception=None):
    return api_not_found(request, exception) if _is_api(request) else error_page(request, 404)


def permission_denied(request, exception=None):
    return error_json(403, "permission denied") if _is_api(request) else error_page(request, 403)


def server_error(request):
    """Rendered at once: Django calls this in a thread, after the view failed."""
    return api_server_error(request) if _is_api(request) else error_page(request, 500).render()


def csrf_failure(request, reason: str = ""):
    """Left for the handler to render: the async CSRF middleware calls this from the
    event loop, where the user cannot be loaded."""
    return error_page(request, 403, "Your form expired or came from another site. Reload the page and try again.")
