"""Component definitions, as Instill serves them: what each component type takes.

Public (no sign-in), like Instill's: the catalog describes the server, not anyone's data.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.api.list_params import listed
from pipelines.paging import paginate
from pipelines.services import component_catalog

VIEW = OpenApiParameter("view", OpenApiTypes.STR, enum=list(component_catalog.VIEWS), description="VIEW_FULL adds spec")


class ComponentDefinitionListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="List component definitions (the component types this server runs)",
        parameters=[
            *listed(
                "qTitle, componentType, releaseStage, tasks, id",
                'qTitle="jso" OR (componentType=COMPONENT_TYPE_AI AND tasks:"TASK_TEXT_GENERATION")',
            ),
            VIEW,
        ],
    )
    def get(self, request):
        full = component_catalog.view_is_full(request.query_params)
        found = component_catalog.definitions_matching(request.query_params)
        page = paginate(found, request.query_params, lenient=True)
        return Response(
            {
                "componentDefinitions": [component_catalog.definition_json(d, full=full) for d in page.items],
                **page.fields(),
                "pageSize": page.size,
                "page": page.page,
            }
        )


class ComponentDefinitionDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(summary="Get a component definition", parameters=[VIEW])
    def get(self, request, definition_id):
        return Response(component_catalog.component_definition(definition_id, request.query_params))
