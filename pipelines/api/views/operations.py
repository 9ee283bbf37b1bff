"""Operations: the async triggers' runs, polled and cancelled."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.api import serializers as s
from pipelines.services import operations as operation_services


class OperationApi(APIView):
    @extend_schema(summary="Poll an async trigger's operation")
    def get(self, request, operation_id):
        run = operation_services.operation_get(operation_id=operation_id, user=request.user)
        return Response({"operation": s.operation_json(run)})


class OperationCancelApi(APIView):
    @extend_schema(summary="Cancel a queued or running operation", request=None)
    def post(self, request, operation_id):
        run = operation_services.operation_get(operation_id=operation_id, user=request.user)
        run = operation_services.run_cancel(run=run)
        return Response({"operation": s.operation_json(run)})
