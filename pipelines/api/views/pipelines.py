"""Pipelines: list, create, read, update, delete, validate, rename, clone."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.api import serializers as s
from pipelines.api.list_params import listed
from pipelines.api.views.common import editable, owned_namespace, validated
from pipelines.errors import ServiceError
from pipelines.list_filters import pipeline_filter
from pipelines.paging import paginate
from pipelines.selectors import namespace_get, pipeline_get, pipeline_permission, pipeline_search, pipeline_stats
from pipelines.services import pipeline_removal
from pipelines.services import pipelines as pipeline_services


def _spec(pipeline, view: str) -> dict | None:
    """The recipe's data specification, which only ``VIEW_FULL`` carries."""
    if view != s.VIEW_FULL:
        return None
    try:
        return pipeline_services.version_recipe(pipeline).data_specification()
    except ServiceError:
        return None


def _pipeline_response(pipeline, permission, *, status_code: int = 200, view: str = s.VIEW_FULL) -> Response:
    """One pipeline: a write answers with all of it (``VIEW_FULL``), a read in the view asked for."""
    stats = pipeline_stats(pipelines=[pipeline]).get(pipeline.pk)
    spec = _spec(pipeline, view)
    return Response(
        {"pipeline": s.pipeline_json(pipeline, permission=permission, stats=stats, recipe_spec=spec, view=view)},
        status=status_code,
    )


_LIST_PARAMETERS = [
    *listed(
        "q, uid, id, description, owner, visibility, tag, numberOfRuns, createTime, updateTime",
        'createTime>timestamp("2000-06-19T23:31:08.657Z") AND q="chat"',
    ),
    OpenApiParameter("visibility", OpenApiTypes.STR, enum=["VISIBILITY_PUBLIC", "VISIBILITY_PRIVATE"]),
]


def _pipeline_list(request, namespace=None) -> Response:
    params = request.query_params
    found = pipeline_filter(params.get("filter") or "", visibility=params.get("visibility") or "")
    queryset = pipeline_search(user=request.user, query=params.get("q") or "", namespace=namespace, filter=found)
    page = paginate(queryset, params)
    view = s.view_param(params)
    stats = pipeline_stats(pipelines=page.items)
    return Response(
        {
            "pipelines": [
                s.pipeline_json(
                    p,
                    permission=pipeline_permission(pipeline=p, user=request.user),
                    stats=stats.get(p.pk),
                    recipe_spec=_spec(p, view),
                    view=view,
                )
                for p in page.items
            ],
            **page.fields(),
        }
    )


class PipelineListAllApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="List the pipelines you can read (yours and public ones)",
        parameters=[*_LIST_PARAMETERS, s.VIEW_PARAMETER],
    )
    def get(self, request):
        return _pipeline_list(request)


class NamespacePipelineListCreateApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(summary="List a namespace's pipelines", parameters=[*_LIST_PARAMETERS, s.VIEW_PARAMETER])
    def get(self, request, kind, namespace_id):
        namespace = namespace_get(namespace_id=namespace_id)
        return _pipeline_list(request, namespace)

    @extend_schema(
        summary="Create a pipeline",
        request=s.PipelineCreateInput,
        responses={201: OpenApiResponse(description="The pipeline")},
    )
    def post(self, request, kind, namespace_id):
        namespace = owned_namespace(request, namespace_id)
        data = validated(s.PipelineCreateInput, request.data)
        pipeline = pipeline_services.pipeline_create(
            namespace=namespace,
            pipeline_id=data.get("id"),
            display_name=data.get("displayName", ""),
            creator=request.user,
            runtime_errors=True,
            description=data.get("description", ""),
            readme=data.get("readme", ""),
            raw_recipe=data.get("rawRecipe"),
            recipe=data.get("recipe"),
            sharing=data.get("sharing"),
            visibility=data.get("visibility"),
        )
        return _pipeline_response(pipeline, pipeline_permission(pipeline=pipeline, user=request.user), status_code=201)


class PipelineDetailApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(
        summary="Get a pipeline (?view=VIEW_FULL or VIEW_RECIPE for its recipe)", parameters=[s.VIEW_PARAMETER]
    )
    def get(self, request, kind, namespace_id, pipeline_id):
        view = s.view_param(request.query_params)
        pipeline, permission = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
        return _pipeline_response(pipeline, permission, view=view)

    @extend_schema(summary="Update a pipeline", request=s.PipelineUpdateInput)
    def patch(self, request, kind, namespace_id, pipeline_id):
        pipeline, permission = editable(request, namespace_id, pipeline_id)
        validated(s.PipelineUpdateInput, request.data)
        pipeline = pipeline_services.pipeline_update(pipeline=pipeline, changes=dict(request.data), runtime_errors=True)
        return _pipeline_response(pipeline, permission)

    @extend_schema(summary="Delete a pipeline", responses={204: None})
    def delete(self, request, kind, namespace_id, pipeline_id):
        pipeline, _ = editable(request, namespace_id, pipeline_id)
        pipeline_removal.pipeline_delete(pipeline=pipeline)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PipelineValidateApi(APIView):
    @extend_schema(
        summary="Validate a pipeline's recipe (or a draft sent as rawRecipe)", request=s.PipelineValidateInput
    )
    def post(self, request, kind, namespace_id, pipeline_id):
        pipeline, _ = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
        data = validated(s.PipelineValidateInput, request.data or {})
        raw = data.get("rawRecipe", pipeline.raw_recipe)
        problems = pipeline_services.recipe_validate(raw_recipe=raw, namespace=pipeline.namespace)
        errors = [p for p in problems if p["severity"] == "error"]
        warnings = [p for p in problems if p["severity"] != "error"]
        return Response({"success": not errors, "errors": errors, "warnings": warnings})


class PipelineRenameApi(APIView):
    @extend_schema(summary="Rename a pipeline", request=s.PipelineRenameInput)
    def post(self, request, kind, namespace_id, pipeline_id):
        pipeline, permission = editable(request, namespace_id, pipeline_id)
        data = validated(s.PipelineRenameInput, request.data)
        pipeline = pipeline_services.pipeline_rename(pipeline=pipeline, new_id=data["newPipelineId"])
        return _pipeline_response(pipeline, permission)


class PipelineCloneApi(APIView):
    @extend_schema(
        summary="Clone a pipeline into a namespace you own",
        request=s.PipelineCloneInput,
        responses={201: OpenApiResponse(description="The clone")},
    )
    def post(self, request, kind, namespace_id, pipeline_id):
        pipeline, _ = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
        data = validated(s.PipelineCloneInput, request.data)
        target_ns = data.get("targetNamespaceId") or request.user.username
        namespace = owned_namespace(request, target_ns)
        clone = pipeline_services.pipeline_clone(
            pipeline=pipeline,
            target_namespace=namespace,
            target_id=data["targetPipelineId"],
            description=data.get("description"),
            sharing=data.get("sharing"),
        )
        return _pipeline_response(clone, pipeline_permission(pipeline=clone, user=request.user), status_code=201)
