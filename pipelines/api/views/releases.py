"""Releases: a pipeline's recipe frozen under a semantic version."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.api import serializers as s
from pipelines.api.list_params import listed
from pipelines.api.views.common import editable, validated, validated_raw
from pipelines.errors import ServiceError
from pipelines.list_filters import release_filter
from pipelines.paging import paginate
from pipelines.selectors import pipeline_get, release_get, releases_of
from pipelines.services import pipelines as pipeline_services
from pipelines.services import releases as release_services


def _release_response(release, *, view: str = s.VIEW_FULL) -> dict:
    return s.release_json(release, recipe_spec=_release_spec(release) if view == s.VIEW_FULL else None, view=view)


def _release_spec(release) -> dict | None:
    try:
        return pipeline_services.version_recipe(release.pipeline, release).data_specification()
    except ServiceError:
        return None


class ReleaseListCreateApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(
        summary="List a pipeline's releases, newest first",
        parameters=[*listed("q, uid, id, description, createTime, updateTime", 'id="v1.*"'), s.VIEW_PARAMETER],
    )
    def get(self, request, kind, namespace_id, pipeline_id):
        pipeline, _ = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
        queryset = releases_of(pipeline=pipeline, filter=release_filter(request.query_params.get("filter") or ""))
        page = paginate(queryset, request.query_params)
        view = s.view_param(request.query_params)
        return Response(
            {
                "releases": [_release_response(r, view=view) for r in page.items],
                **page.fields(),
            }
        )

    @extend_schema(
        summary="Release the pipeline's current recipe under a semantic version",
        request=s.ReleaseCreateInput,
        responses={201: OpenApiResponse(description="The release")},
    )
    def post(self, request, kind, namespace_id, pipeline_id):
        pipeline, _ = editable(request, namespace_id, pipeline_id)
        data = validated(s.ReleaseCreateInput, request.data)
        release = release_services.release_create(
            pipeline=pipeline,
            release_id=data["id"],
            display_name=data.get("displayName", ""),
            description=data.get("description", ""),
            readme=data.get("readme", ""),
        )
        return Response({"release": _release_response(release)}, status=201)


class ReleaseDetailApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    def _release(self, request, namespace_id, pipeline_id, release_id, *, edit: bool):
        if edit:
            pipeline, _ = editable(request, namespace_id, pipeline_id)
        else:
            pipeline, _ = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
        return release_get(pipeline=pipeline, release_id=release_id)

    @extend_schema(
        summary="Get a release (?view=VIEW_FULL or VIEW_RECIPE for its recipe)", parameters=[s.VIEW_PARAMETER]
    )
    def get(self, request, kind, namespace_id, pipeline_id, release_id):
        view = s.view_param(request.query_params)
        release = self._release(request, namespace_id, pipeline_id, release_id, edit=False)
        return Response({"release": _release_response(release, view=view)})

    @extend_schema(summary="Update a release's description or readme", request=s.ReleaseUpdateInput)
    def patch(self, request, kind, namespace_id, pipeline_id, release_id):
        release = self._release(request, namespace_id, pipeline_id, release_id, edit=True)
        release = release_services.release_update(release=release, changes=dict(validated_raw(request.data)))
        return Response({"release": _release_response(release)})

    @extend_schema(summary="Delete a release", responses={204: None})
    def delete(self, request, kind, namespace_id, pipeline_id, release_id):
        release = self._release(request, namespace_id, pipeline_id, release_id, edit=True)
        release_services.release_delete(release=release)
        return Response(status=204)
