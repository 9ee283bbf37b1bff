"""What every page view shares: service errors as friendly pages, owner checks."""

from __future__ import annotations

import functools
import logging
from typing import cast

from asgiref.sync import iscoroutinefunction
from django.template.loader import render_to_string
from django.template.response import TemplateResponse

from pipelines.errors import NotFound, PermissionDenied, ServiceError
from pipelines.selectors import pipeline_get_editable

logger = logging.getLogger("pipelines.web")

ERROR_PAGES = {
    403: ("You can't do that here", "This page belongs to someone else, or needs other permissions than yours."),
    404: ("Not found", "There is nothing here — or it is private and not yours to see."),
    500: ("Something went wrong", "The server hit an error it did not expect. It has been logged; please try again."),
}


class ErrorPage(TemplateResponse):
    """An error page with the signed-in user in the header, rendered where Django
    renders deferred responses: in a thread for an async request, where the session
    and the user can be loaded (a CSRF failure is reported from the event loop).

    If rendering with the request's context fails (the session or the database may be
    what broke), the page is rendered without it, with no account in the header: an
    error page never raises."""

    @property
    def rendered_content(self) -> str:
        try:
            return super().rendered_content
        except Exception:  # noqa: BLE001 - the page must still be shown
            logger.exception("error page %s failed with the request's context; rendered without it", self.status_code)
        try:
            return render_to_string(cast(str, self.template_name), {**(self.context_data or {}), "bare": True})
        except Exception:  # noqa: BLE001 - and even without a template
            logger.exception("error page %s failed without the request's context", self.status_code)
            return f"{self.status_code} {(self.context_data or {})['title']}"


def error_page(request, status: int, message: str | None = None) -> ErrorPage:
    title, default = ERROR_PAGES.get(status, ("Something went wrong", ""))
    context = {"status": status, "title": title, "message": message or default}
    return ErrorPage(request, "pipelines/error.html", context, status=status)


def _as_page(request, exc: ServiceError):
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, PermissionDenied) else 400
    return error_page(request, status, exc.message)


def page(view):
    """Turn NotFound / PermissionDenied from selectors and services into 404 / 403 pages."""
    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(request, *args, **kwargs):
            try:
                return await view(request, *args, **kwargs)
            except (NotFound, PermissionDenied) as exc:
                return _as_page(request, exc)

        return async_wrapper

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (NotFound, PermissionDenied) as exc:
            return _as_page(request, exc)

    return wrapper


def editable_pipeline(request, namespace_id: str, pipeline_id: str):
    """The pipeline if the user may edit it: 404 when it may not read it, 403 when only read."""
    return pipeline_get_editable(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"
