"""What every page view shares: service errors as friendly pages, owner checks."""

from __future__ import annotations

import functools

from asgiref.sync import iscoroutinefunction
from django.shortcuts import render

from pipelines.errors import NotFound, PermissionDenied, ServiceError
from pipelines.selectors import pipeline_get

ERROR_PAGES = {
    403: ("You can't do that here", "This page belongs to someone else, or needs other permissions than yours."),
    404: ("Not found", "There is nothing here — or it is private and not yours to see."),
    500: ("Something went wrong", "The server hit an error it did not expect. It has been logged; please try again."),
}


def error_page(request, status: int, message: str | None = None):
    title, default = ERROR_PAGES.get(status, ("Something went wrong", ""))
    return render(request, "pipelines/error.html", {"status": status, "title": title, "message": message or default}, status=status)


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
    pipeline, permission = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
    if not permission.can_edit:
        raise PermissionDenied(f'only the owner of "{pipeline_id}" can edit it')
    return pipeline, permission


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"
