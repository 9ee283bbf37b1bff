"""Integrations, as Instill serves them: one per component type that has a setup, with
the setup's schema (what a connection to it holds). Public, like Instill's."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.api.list_params import listed
from pipelines.api.views.component_definitions import VIEW
from pipelines.paging import paginate
from pipelines.services import component_catalog


class IntegrationListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="List integrations (component types with a setup)",
        parameters=listed("qIntegration (title or vendor), q, id", 'qIntegration="open"'),
    )
    def get(self, request):
        found = component_catalog.integrations_matching(request.query_params)
        page = paginate(found, request.query_params)
        return Response(
            {
                "integrations": [component_catalog.integration_json(d, full=False) for d in page.items],
                **page.fields(),
            }
        )


class IntegrationDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(summary="Get an integration; VIEW_FULL adds its setup schema", parameters=[VIEW])
    def get(self, request, integration_id):
        full = component_catalog.view_is_full(request.query_params)
        definition = component_catalog.integration_get(integration_id)
        return Response({"integration": component_catalog.integration_json(definition, full=full)})
