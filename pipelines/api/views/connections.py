"""A namespace's connections, as Instill serves them: the owner's only; secret setup
fields go in and come back as ``*****MASK*****``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.api.list_params import listed
from pipelines.api.views.common import owned_namespace, validated_raw
from pipelines.api.views.component_definitions import VIEW
from pipelines.paging import paginate
from pipelines.services import connections as connection_services


class ConnectionListCreateApi(APIView):
    @extend_schema(
        summary="List a namespace's connections (VIEW_FULL adds their setup, secrets masked)",
        parameters=[
            *listed("integrationId, qConnection, q, id, createTime, updateTime", 'integrationId="openai"'),
            VIEW,
        ],
    )
    def get(self, request, kind, namespace_id):
        namespace = owned_namespace(request, namespace_id)
        full = connection_services.full_view(request.query_params)
        found = connection_services.connections_matching(namespace=namespace, params=request.query_params)
        page = paginate(found, request.query_params)
        return Response(
            {
                "connections": [connection_services.connection_json(c, full=full) for c in page.items],
                **page.fields(),
            }
        )

    @extend_schema(
        summary="Create a connection: id, integrationId, method METHOD_DICTIONARY, setup",
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiResponse(description="The connection, its secret fields masked")},
    )
    def post(self, request, kind, namespace_id):
        namespace = owned_namespace(request, namespace_id)
        connection = connection_services.connection_create(namespace=namespace, data=validated_raw(request.data))
        return Response({"connection": connection_services.connection_json(connection, full=True)}, status=201)


class ConnectionDetailApi(APIView):
    @extend_schema(summary="Get a connection (VIEW_FULL adds its setup, secrets masked)", parameters=[VIEW])
    def get(self, request, kind, namespace_id, connection_id):
        namespace = owned_namespace(request, namespace_id)
        full = connection_services.full_view(request.query_params)
        connection = connection_services.connection_get(namespace=namespace, connection_id=connection_id)
        return Response({"connection": connection_services.connection_json(connection, full=full)})

    @extend_schema(
        summary="Update a connection's setup (whole; a masked secret keeps its value) or scopes",
        request=OpenApiTypes.OBJECT,
    )
    def patch(self, request, kind, namespace_id, connection_id):
        namespace = owned_namespace(request, namespace_id)
        connection = connection_services.connection_update(
            namespace=namespace, connection_id=connection_id, data=validated_raw(request.data)
        )
        return Response({"connection": connection_services.connection_json(connection, full=True)})

    @extend_schema(summary="Delete a connection", responses={204: None})
    def delete(self, request, kind, namespace_id, connection_id):
        namespace = owned_namespace(request, namespace_id)
        connection_services.connection_delete(namespace=namespace, connection_id=connection_id)
        return Response(status=204)


class ConnectionReferencedPipelinesApi(APIView):
    @extend_schema(
        summary="The ids of the namespace's pipelines whose recipes reference the connection",
        parameters=listed("q (in the pipeline id)", 'q="text"'),
    )
    def get(self, request, kind, namespace_id, connection_id):
        namespace = owned_namespace(request, namespace_id)
        found = connection_services.referenced_pipelines(
            namespace=namespace, connection_id=connection_id, params=request.query_params
        )
        page = paginate(found, request.query_params)
        return Response({"pipelineIds": page.items, **page.fields()})
