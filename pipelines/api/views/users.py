"""Users, in the shape of Instill's management API (``mgmt.v1beta``): the signed-in
user, and any user by id (what a pipeline's ``owner.user`` is compared with)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.api import serializers as s
from pipelines.selectors import user_get


class AuthenticatedUserApi(APIView):
    @extend_schema(summary="Get the authenticated user (Instill's GetAuthenticatedUser)")
    def get(self, request):
        return Response({"user": s.user_json(request.user, authenticated=True)})


class UserDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(summary="Get a user by id (Instill's GetUser)")
    def get(self, request, user_id):
        return Response({"user": s.user_json(user_get(user_id=user_id))})
