"""API tokens: create (shown once), list masked, read, revoke."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.api import serializers as s
from pipelines.api.list_params import PAGE
from pipelines.api.views.common import validated
from pipelines.paging import paginate
from pipelines.selectors import token_get, tokens_of
from pipelines.services import tokens as token_services


class TokenListCreateApi(APIView):
    @extend_schema(summary="List your API tokens (masked)", parameters=PAGE)
    def get(self, request):
        page = paginate(tokens_of(user=request.user), request.query_params)
        return Response({"tokens": [s.token_json(t) for t in page.items], **page.fields()})

    @extend_schema(
        summary="Create an API token; the token is shown only in this answer",
        request=s.TokenCreateInput,
        responses={201: OpenApiResponse(description="The token, with accessToken")},
    )
    def post(self, request):
        data = validated(s.TokenCreateInput, request.data)
        token, raw = token_services.token_create(
            user=request.user, token_id=data["id"], ttl=data.get("ttl"), expire_time=data.get("expireTime")
        )
        return Response({"token": s.token_json(token, access_token=raw)}, status=201)


class TokenDetailApi(APIView):
    @extend_schema(summary="Get an API token (masked)")
    def get(self, request, token_id):
        token = token_get(user=request.user, token_id=token_id)
        return Response({"token": s.token_json(token)})

    @extend_schema(summary="Delete (revoke) an API token", responses={204: None})
    def delete(self, request, token_id):
        token_services.token_delete(user=request.user, token_id=token_id)
        return Response(status=204)
