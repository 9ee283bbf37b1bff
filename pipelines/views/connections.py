"""Settings → Connections: a namespace owner's connections to integrations (the page
translates forms to :mod:`pipelines.services.connections` and back)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from pipelines.errors import NotFound, ServiceError
from pipelines.services import component_catalog
from pipelines.services import connections as connection_services
from pipelines.services.users import user_namespace
from pipelines.views.common import is_htmx, page


def _integration(integration_id: str):
    try:
        return component_catalog.integration_get(integration_id) if integration_id else None
    except NotFound:
        return None


def _list_page(request, *, integration=None, values=None, error="", status=200):
    namespace = user_namespace(request.user)
    context = {
        "connections": [
            connection_services.connection_json(c, full=False)
            for c in connection_services.connections_of(namespace=namespace)
        ],
        "integrations": component_catalog.integration_definitions(),
        "integration": integration,
        "fields": connection_services.setup_fields(integration) if integration is not None else [],
        "values": values or {},
        "error": error,
    }
    return render(request, "pipelines/connection_list.html", context, status=status)


@login_required
@page
def connection_list(request):
    """The list and the new-connection form: pick an integration (``?integration=``),
    then fill in its setup fields."""
    if request.method != "POST":
        return _list_page(request, integration=_integration(request.GET.get("integration", "")))
    integration = _integration(request.POST.get("integrationId", ""))
    if integration is None:
        return _list_page(request, error="Choose an integration.", status=400)
    connection_id = request.POST.get("id", "")
    try:
        setup = connection_services.setup_from_form(integration, request.POST, editing=False)
        connection_services.connection_create(
            namespace=user_namespace(request.user),
            data={"id": connection_id, "integrationId": integration.type, "setup": setup},
        )
    except ServiceError as exc:
        return _list_page(request, integration=integration, values=request.POST, error=exc.message, status=400)
    messages.success(request, f'Connection "{connection_id}" saved. Use it as setup: ${{connection.{connection_id}}}')
    return redirect("connection-list")


@login_required
@page
def connection_edit(request, connection_id: str):
    namespace = user_namespace(request.user)
    connection = connection_services.connection_get(namespace=namespace, connection_id=connection_id)
    integration = component_catalog.integration_get(connection.integration_id)
    error = ""
    if request.method == "POST":
        try:
            setup = connection_services.setup_from_form(integration, request.POST, editing=True)
            connection_services.connection_update(
                namespace=namespace, connection_id=connection_id, data={"setup": setup}
            )
        except ServiceError as exc:
            error = exc.message
        else:
            messages.success(request, f'Connection "{connection_id}" updated.')
            return redirect("connection-list")
    context = {
        "connection": connection_services.connection_json(connection, full=True),
        "integration": integration,
        "fields": connection_services.setup_fields(integration, connection),
        "error": error,
    }
    return render(request, "pipelines/connection_edit.html", context, status=400 if error else 200)


@login_required
@require_POST
@page
def connection_delete(request, connection_id: str):
    connection_services.connection_delete(namespace=user_namespace(request.user), connection_id=connection_id)
    messages.success(request, f'Connection "{connection_id}" deleted.')
    if is_htmx(request):  # the confirmed button: the browser goes to the list
        return HttpResponse(status=204, headers={"HX-Redirect": reverse("connection-list")})
    return redirect("connection-list")
