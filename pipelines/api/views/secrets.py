"""A namespace's secrets: values go in, never out."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.api import serializers as s
from pipelines.api.list_params import PAGE
from pipelines.api.views.common import owned_namespace, validated
from pipelines.paging import paginate
from pipelines.selectors import secret_get, secrets_of
from pipelines.services import secrets as secret_services


class SecretListCreateApi(APIView):
    @extend_schema(summary="List a namespace's secrets (values are never returned)", parameters=PAGE)
    def get(self, request, kind, namespace_id):
        namespace = owned_namespace(request, namespace_id)
        page = paginate(secrets_of(namespace=namespace), request.query_params)
        return Response(
            {
                "secrets": [s.secret_json(x) for x in page.items],
                **page.fields(),
            }
        )

    @extend_schema(
        summary="Create a secret",
        request=s.SecretCreateInput,
        responses={201: OpenApiResponse(description="The secret, without its value")},
    )
    def post(self, request, kind, namespace_id):
        namespace = owned_namespace(request, namespace_id)
        data = validated(s.SecretCreateInput, request.data)
        secret = secret_services.secret_create(
            namespace=namespace, secret_id=data["id"], value=data["value"], description=data.get("description", "")
        )
        return Response({"secret": s.secret_json(secret)}, status=201)


class SecretDetailApi(APIView):
    @extend_schema(summary="Get a secret (without its value)")
    def get(self, request, kind, namespace_id, secret_id):
        namespace = owned_namespace(request, namespace_id)
        secret = secret_get(namespace=namespace, secret_id=secret_id)
        return Response({"secret": s.secret_json(secret)})

    @extend_schema(summary="Update a secret's value or description", request=s.SecretUpdateInput)
    def patch(self, request, kind, namespace_id, secret_id):
        namespace = owned_namespace(request, namespace_id)
        data = validated(s.SecretUpdateInput, request.data)
        secret = secret_services.secret_update(
            namespace=namespace, secret_id=secret_id, value=data.get("value"), description=data.get("description")
        )
        return Response({"secret": s.secret_json(secret)})

    @extend_schema(summary="Delete a secret", responses={204: None})
    def delete(self, request, kind, namespace_id, secret_id):
        namespace = owned_namespace(request, namespace_id)
        secret_services.secret_delete(namespace=namespace, secret_id=secret_id)
        return Response(status=204)
