"""Integrations and a namespace's connections over gRPC, as the Instill SDK 0.18 calls
them (``list_integrations``, ``get_integration``, ``*_connection``): the REST answers
(:mod:`pipelines.services.connections`, :mod:`pipelines.services.component_catalog`)
in Instill's messages, with the same owner-only rule, checks and masked secrets."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from pipelines import ratelimits
from pipelines.auth import AUTHENTICATION_REQUIRED, authenticate_authorization, rate_subject
from pipelines.errors import PermissionDenied, Unauthenticated
from pipelines.grpc.gen.pipeline.pipeline.v1beta import integration_pb2 as ipb
from pipelines.grpc.messages import struct_dict
from pipelines.models import Namespace
from pipelines.paging import paginate
from pipelines.selectors import namespace_get, user_owns_namespace
from pipelines.services import component_catalog
from pipelines.services import connections as connection_services

VIEW_FULL = 2


def _as[M: Message](body: dict[str, Any], message_class: type[M]) -> M:
    return json_format.ParseDict(body, message_class(), ignore_unknown_fields=True)


def _page_params(request) -> dict[str, str]:
    params = {"filter": request.filter, "pageToken": request.page_token}
    if request.HasField("page_size") and request.page_size > 0:
        params["pageSize"] = str(request.page_size)
    return params


def _full(request) -> bool:
    # The SDK's get_connection sends Pipeline.VIEW_RECIPE (3): anything but BASIC shows the setup.
    return request.HasField("view") and request.view not in (0, 1)


def _owned(authorization: str, address: str, namespace_id: str) -> Namespace:
    user: Any = authenticate_authorization(authorization, address=address)
    if user is None:
        raise Unauthenticated(AUTHENTICATION_REQUIRED)
    ratelimits.api_check(subject=rate_subject(authorization, user))
    namespace = namespace_get(namespace_id=namespace_id)
    if not user_owns_namespace(user, namespace):
        raise PermissionDenied(f'you may not create or change resources in namespace "{namespace_id}"')
    return namespace


def _connection_data(connection: ipb.Connection, paths: list[str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": connection.id,
        "integrationId": connection.integration_id,
        "method": ipb.Connection.Method.Name(connection.method),
    }
    if paths is None or "setup" in paths:
        data["setup"] = struct_dict(connection.setup)
    if paths is None or "scopes" in paths:
        data["scopes"] = list(connection.scopes)
    return data


def call(method: str, request, authorization: str, address: str) -> Message:
    """One call, in a worker thread (the services read and write the database)."""
    if method == "ListIntegrations":
        params = _page_params(request)
        page = paginate(component_catalog.integrations_matching(params), params)
        body = {
            "integrations": [component_catalog.integration_json(d, full=False) for d in page.items],
            **page.fields(),
        }
        return _as(body, ipb.ListIntegrationsResponse)
    if method == "GetIntegration":
        definition = component_catalog.integration_get(request.integration_id)
        full = request.HasField("view") and request.view == VIEW_FULL
        return _as(
            {"integration": component_catalog.integration_json(definition, full=full)}, ipb.GetIntegrationResponse
        )
    namespace_id = request.namespace_id
    if method in ("CreateNamespaceConnection", "UpdateNamespaceConnection"):
        # The SDK names the namespace inside the connection, not in the request.
        namespace_id = namespace_id or request.connection.namespace_id
    namespace = _owned(authorization, address, namespace_id)
    if method == "ListNamespaceConnections":
        params = _page_params(request)
        found = connection_services.connections_matching(namespace=namespace, params=params)
        page = paginate(found, params)
        full = _full(request) if hasattr(request, "view") else False
        body = {
            "connections": [connection_services.connection_json(c, full=full) for c in page.items],
            **page.fields(),
        }
        return _as(body, ipb.ListNamespaceConnectionsResponse)
    if method == "GetNamespaceConnection":
        connection = connection_services.connection_get(namespace=namespace, connection_id=request.connection_id)
        body = {"connection": connection_services.connection_json(connection, full=_full(request))}
        return _as(body, ipb.GetNamespaceConnectionResponse)
    if method == "CreateNamespaceConnection":
        connection = connection_services.connection_create(
            namespace=namespace, data=_connection_data(request.connection)
        )
        body = {"connection": connection_services.connection_json(connection, full=True)}
        return _as(body, ipb.CreateNamespaceConnectionResponse)
    if method == "UpdateNamespaceConnection":
        paths = list(request.update_mask.paths) if request.HasField("update_mask") else None
        data = _connection_data(request.connection, paths)
        data.pop("id")
        connection = connection_services.connection_update(
            namespace=namespace, connection_id=request.connection_id, data=data
        )
        body = {"connection": connection_services.connection_json(connection, full=True)}
        return _as(body, ipb.UpdateNamespaceConnectionResponse)
    if method == "DeleteNamespaceConnection":
        connection_services.connection_delete(namespace=namespace, connection_id=request.connection_id)
        return ipb.DeleteNamespaceConnectionResponse()
    assert method == "ListPipelineIDsByConnectionID", method
    params = _page_params(request)
    pipeline_ids = connection_services.referenced_pipelines(
        namespace=namespace, connection_id=request.connection_id, params=params
    )
    page = paginate(pipeline_ids, params)
    return _as(
        {"pipelineIds": page.items, **page.fields()},
        ipb.ListPipelineIDsByConnectionIDResponse,
    )
