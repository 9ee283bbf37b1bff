"""Runs: a pipeline's runs, one run, its component runs and its stored files."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.api import serializers as s
from pipelines.api.list_params import listed
from pipelines.api.truncation import FULL_VIEW, full_view, truncated
from pipelines.errors import NotFound, quoted
from pipelines.list_filters import component_run_filter, run_filter
from pipelines.paging import paginate
from pipelines.selectors import RunFilters, component_runs_of, pipeline_get, run_get, runs_filter, runs_visible
from pipelines.services.run_files import stored_file


class PipelineRunListApi(APIView):
    @extend_schema(
        summary="List a pipeline's runs, newest first",
        parameters=listed(
            "status, source, pipelineTriggerUID, pipelineVersion, createTime, startTime, completeTime",
            'status=RUN_STATUS_FAILED AND startTime>timestamp("2026-01-01T00:00:00Z")',
        ),
    )
    def get(self, request, kind, namespace_id, pipeline_id):
        pipeline, permission = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
        queryset = runs_visible(pipeline=pipeline, user=request.user, permission=permission)
        filters = RunFilters.checked(
            status=request.query_params.get("status") or "", source=request.query_params.get("source") or ""
        )
        queryset = runs_filter(queryset, filters, where=run_filter(request.query_params.get("filter") or ""))
        page = paginate(queryset, request.query_params)
        uid = request.user.pk
        runs = [s.run_json(r, show_data=permission.can_edit or r.requester_id == uid) for r in page.items]
        if not full_view(request.query_params):
            path = request.path.rstrip("/")
            for run in runs:
                url = f"{path}/{run['pipelineRunUid']}"
                run["inputs"], run["outputs"] = truncated(run["inputs"], url=url), truncated(run["outputs"], url=url)
        return Response(
            {
                "pipelineRuns": runs,
                **page.fields(),
                "page": page.page,
                "pageSize": page.size,
            }
        )


class PipelineRunDetailApi(APIView):
    @extend_schema(summary="Get one run of a pipeline, with its whole inputs and outputs")
    def get(self, request, kind, namespace_id, pipeline_id, run_uid):
        run = run_get(run_uid=str(run_uid), user=request.user)
        if run.pipeline.slug != pipeline_id or run.pipeline.namespace.slug != namespace_id:
            raise NotFound(f'pipeline run "{run_uid}" not found')
        return Response({"pipelineRun": s.run_json(run, show_data=True)})


class ComponentRunListApi(APIView):
    @extend_schema(
        summary="List the component runs of a pipeline run",
        parameters=listed("componentID, status, startedTime, completedTime", "status=RUN_STATUS_FAILED"),
    )
    def get(self, request, run_uid, kind=None, namespace_id=None, pipeline_id=None):
        run = run_get(run_uid=str(run_uid), user=request.user)
        if pipeline_id is not None and (
            run.pipeline.slug != pipeline_id or run.pipeline.namespace.slug != namespace_id
        ):
            raise NotFound(f'pipeline run "{run_uid}" not found')
        queryset = component_runs_of(run=run, filter=component_run_filter(request.query_params.get("filter") or ""))
        page = paginate(queryset, request.query_params)
        component_runs = [s.component_run_json(c, show_data=True) for c in page.items]
        if not full_view(request.query_params):
            params = request.query_params.copy()
            params["view"] = FULL_VIEW
            url = f"{request.path}?{params.urlencode()}"
            for component_run in component_runs:
                for key in ("inputs", "outputs"):
                    component_run[key] = truncated(component_run[key], url=url)
        return Response(
            {
                "componentRuns": component_runs,
                **page.fields(),
                "page": page.page,
                "pageSize": page.size,
            }
        )


class RunFileApi(APIView):
    @extend_schema(summary="Download a file kept in a run's history", responses={200: None})
    def get(self, request, run_uid, name):
        run = run_get(run_uid=str(run_uid), user=request.user)
        path = stored_file(run_uid=run.uid, name=name)
        if path is None:
            raise NotFound(
                f'file {quoted(name)} not found in run "{run_uid}" (run files are kept {settings.PIPELINE_RUN_FILE_RETENTION_DAYS} days)'
            )
        meta = _file_meta(run, name)
        return FileResponse(
            open(path, "rb"),
            content_type=meta.get("mimeType") or "application/octet-stream",
            as_attachment=True,
            # The name the file was given (report.pdf), not the stored one.
            filename=meta.get("filename") or name.split("-", 1)[-1],
        )


def _file_meta(run, name: str) -> dict:
    found: dict = {}

    def visit(value):
        if isinstance(value, dict):
            meta = value.get("@file")
            if isinstance(meta, dict) and meta.get("name") == name:
                found.update(meta)
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit([run.inputs, run.outputs])
    return found
