"""The v1beta REST API: thin adapters that parse, call one service, shape the answer.

Triggers are plain async Django views rather than DRF views: DRF's APIView is sync, so
under ASGI every trigger would queue on one shared thread and a slow component would
stall all others; ``adrf`` fixes that but costs ~35% of throughput in its per-request
machinery. The trigger views reuse the same auth, services and error shape as the
DRF views, and do their database work in two short hops to a thread (``pipelines.aio.db``).
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db.models import Q
from django.http import FileResponse, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.aio import db, detached
from pipelines.api import serializers as s
from pipelines import ratelimits
from pipelines.auth import AUTHENTICATION_REQUIRED, authenticate_request, credentials_cached, rate_subject
from pipelines.api.errors import error_json, service_error_json, too_big_message
from pipelines.api.pagination import numbered_page, token_page
from pipelines.api.parsers import check_trigger_type, is_multipart, json_body, parse_multipart
from pipelines.api.streaming import follow_run, stream_trigger
from pipelines.api.truncation import FULL_VIEW, full_view, truncated
from pipelines.errors import InvalidArgument, NotFound, PermissionDenied, ServiceError, Unauthenticated, quoted, whole_number
from pipelines.models import ApiToken, ComponentRun, PipelineRelease, PipelineRun, Secret
from pipelines.selectors import (
    database_ready,
    namespace_get,
    pipeline_permission,
    pipeline_get,
    pipeline_get_editable,
    pipeline_stats,
    readable_pipelines,
    release_get,
    run_get,
    runs_visible,
    user_owns_namespace,
)
from pipelines.services import pipelines as pipeline_services
from pipelines.services import operations as operation_services
from pipelines.services import releases as release_services
from pipelines.services import runs as run_services
from pipelines.services import secrets as secret_services
from pipelines.services import tokens as token_services
from pipelines.engine import json_bytes
from pipelines.services.run_files import stored_file
from pipelines.services.triggers import wants_stream

# --- triggers -----------------------------------------------------------------------


def _parse_json_body(request) -> dict:
    try:
        body = request.body
    except RequestDataTooBig as exc:
        raise _TooBig() from exc
    if not body.strip():
        raise InvalidArgument('the request body is empty: send {"data": [{"variable": {...}}]}', field="data")
    return json_body(body)


def json_response(payload: dict, status: int = 200) -> HttpResponse:
    """JSON straight to bytes (orjson): trigger answers carry files as data URIs, and
    the stdlib's str-then-encode would hold two more copies of them."""
    return HttpResponse(json_bytes(payload), status=status, content_type="application/json")


class _TooBig(Exception):
    pass


async def _trigger_payload(request) -> dict:
    """The trigger body as the JSON shape, from JSON or ``multipart/form-data``."""
    check_trigger_type(request)
    if is_multipart(request):
        try:
            # Parsing writes spooled uploads to disk: keep that off the event loop.
            return await asyncio.to_thread(parse_multipart, request, max_rows=settings.PIPELINE_MAX_BATCH_SIZE)
        except RequestDataTooBig as exc:
            raise _TooBig() from exc
        except (TooManyFieldsSent, TooManyFilesSent) as exc:
            raise InvalidArgument(f"malformed multipart/form-data body: {exc}", field="body") from exc
    return _parse_json_body(request)


def _source(request) -> str:
    if request.META.get("HTTP_INSTILL_USER_AGENT", "").upper() == PipelineRun.Source.CONSOLE:
        return PipelineRun.Source.CONSOLE
    return PipelineRun.Source.API


def _prepare_trigger(request, namespace_id: str, pipeline_id: str, release_id: str | None):
    """Auth, CSRF for browser sessions, and the target — one thread hop for all reads."""
    user, how = authenticate_request(request)
    if not user.is_authenticated:
        raise Unauthenticated(AUTHENTICATION_REQUIRED)
    if how == "session":
        rejected = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if rejected is not None:
            raise PermissionDenied("CSRF check failed for a browser-session request")
    target = run_services.trigger_target(
        namespace_id=namespace_id, pipeline_id=pipeline_id, release_id=release_id, user=user
    )
    return user, target


def _trigger_options(request) -> dict:
    return {
        "source": _source(request),
        "return_traces": request.META.get("HTTP_INSTILL_RETURN_TRACES", "").lower() == "true",
        "idempotency_key": operation_services.idempotency_key_checked(request.META.get("HTTP_IDEMPOTENCY_KEY")),
    }


_prepare_trigger_in_thread = db(_prepare_trigger)


def _prepare_trigger_on_loop(request, namespace_id: str, pipeline_id: str, release_id: str | None):
    """:func:`_prepare_trigger` for the common case that needs no database but one read
    on the loop (pipelines/loop_sqlite.py): a cached API token and a cached, current
    pipeline, its latest version, without secrets. ``None``: take the thread path."""
    if release_id is not None:
        return None
    identity = credentials_cached(request.META.get("HTTP_AUTHORIZATION", ""))
    if identity is None:
        return None
    return run_services.trigger_target_on_loop(namespace_id=namespace_id, pipeline_id=pipeline_id, user=identity.user)


async def _accept_trigger(request, namespace_id: str, pipeline_id: str, release_id: str | None):
    """What every trigger path does first: body, auth, target, file URLs fetched."""
    payload = await _trigger_payload(request)
    rows = run_services.trigger_rows(payload)
    prepared = _prepare_trigger_on_loop(request, namespace_id, pipeline_id, release_id)
    if prepared is None:
        prepared = await _prepare_trigger_in_thread(request, namespace_id, pipeline_id, release_id)
    user, target = prepared
    if ratelimits.triggers_limited():
        subject = rate_subject(request.META.get("HTTP_AUTHORIZATION", ""), user)
        await ratelimits.acall(ratelimits.trigger_check, subject=subject, pipeline_key=str(target.pipeline.pk))
    rows = await run_services.rows_with_fetched_files(target, rows)
    return user, target, rows, _trigger_options(request)


def _trigger_view(handle):
    """A POST-only, CSRF-exempt (token or checked session) trigger view with the API's errors."""

    @csrf_exempt
    async def view(request, kind: str, namespace_id: str, pipeline_id: str, release_id: str | None = None):
        if request.method != "POST":
            return error_json(405, f"{request.method} is not allowed here; use POST")
        try:
            return await handle(request, *await _accept_trigger(request, namespace_id, pipeline_id, release_id))
        except ServiceError as exc:
            return service_error_json(exc)
        except _TooBig:
            return error_json(413, too_big_message(settings.PIPELINE_MAX_REQUEST_BYTES))

    view.__name__ = view.__qualname__ = handle.__name__
    view.__doc__ = handle.__doc__
    view.trigger_lane = True  # token-authenticated JSON calls may skip the session middleware (pipelines/asgi.py)
    return view


@_trigger_view
async def pipeline_trigger(request, user, target, rows, options):
    """``POST .../pipelines/{id}/trigger`` and ``.../releases/{v}/trigger``: run and answer with
    outputs, or stream the run's events (``Accept: text/event-stream``)."""
    if wants_stream(request.headers):
        run_services.bind_rows(target, rows)  # bad input is a 400, not an event
        return await stream_trigger(target=target, rows=rows, requester=user, source=options["source"])
    # Shielded: a client that hangs up does not stop the run; it finishes and is recorded.
    response = await asyncio.shield(
        detached(
            operation_services.run_trigger_once(
                target=target,
                rows=rows,
                requester=user,
                source=options["source"],
                return_traces=options["return_traces"],
                idempotency_key=options["idempotency_key"],
            )
        )
    )
    return json_response(response)


def _enqueue(user, target, rows, options):
    return operation_services.run_enqueue(
        target=target, rows=rows, requester=user, source=options["source"], idempotency_key=options["idempotency_key"]
    )


_enqueue_in_thread = db(_enqueue)


@_trigger_view
async def pipeline_trigger_async(request, user, target, rows, options):
    """``POST .../trigger-async``: validate now, run later; answers an operation at once."""
    run = await _enqueue_in_thread(user, target, rows, options)
    return json_response({"operation": operation_services.operation_json(run)})


def _run_for_events(request, run_uid: str):
    user, _ = authenticate_request(request)
    if not user.is_authenticated:
        raise Unauthenticated("authentication required: send Authorization: Bearer <API token>")
    run, _ = run_get(run_uid=run_uid, user=user)
    return run


_run_for_events_in_thread = db(_run_for_events)


async def run_events(request, run_uid):
    """``GET /v1beta/pipeline-runs/{uid}/events``: the run's events as server-sent events,
    the stored ones then the live ones until the run ends. ``Last-Event-ID`` (or
    ``?after=N``) skips the events a client already has."""
    if request.method != "GET":
        return error_json(405, f"{request.method} is not allowed here; use GET")
    field = "Last-Event-ID" if request.META.get("HTTP_LAST_EVENT_ID") else "after"
    raw_after = request.META.get("HTTP_LAST_EVENT_ID") or request.GET.get("after") or "0"
    try:
        after = whole_number(raw_after, name=field, hint=" (an event sequence number)")
        run = await _run_for_events_in_thread(request, str(run_uid))
    except ServiceError as exc:
        return service_error_json(exc)
    return follow_run(run_uid=run.uid, after=after)


class OperationApi(APIView):
    @extend_schema(summary="Poll an async trigger's operation")
    def get(self, request, operation_id):
        run = operation_services.operation_get(operation_id=operation_id, user=request.user)
        return Response({"operation": operation_services.operation_json(run)})


class OperationCancelApi(APIView):
    @extend_schema(summary="Cancel a queued or running operation", request=None)
    def post(self, request, operation_id):
        run = operation_services.operation_get(operation_id=operation_id, user=request.user)
        run = operation_services.run_cancel(run=run)
        return Response({"operation": operation_services.operation_json(run)})


# --- health -------------------------------------------------------------------------


async def liveness(request):
    return JsonResponse({"healthCheckResponse": {"status": "SERVING_STATUS_SERVING"}})


async def readiness(request):
    ok = await db(database_ready)()
    status_name = "SERVING_STATUS_SERVING" if ok else "SERVING_STATUS_NOT_SERVING"
    return JsonResponse({"healthCheckResponse": {"status": status_name}}, status=200 if ok else 503)


# --- pipelines ----------------------------------------------------------------------


def _spec(pipeline) -> dict | None:
    try:
        return pipeline_services.pipeline_recipe(pipeline).data_specification()
    except ServiceError:
        return None


def _pipeline_response(pipeline, permission, *, status_code: int = 200) -> Response:
    stats = pipeline_stats(pipelines=[pipeline]).get(pipeline.pk)
    return Response(
        {"pipeline": s.pipeline_json(pipeline, permission=permission, stats=stats, recipe_spec=_spec(pipeline))},
        status=status_code,
    )


def _owned_namespace(request, namespace_id: str):
    namespace = namespace_get(namespace_id=namespace_id)
    if not user_owns_namespace(request.user, namespace):
        raise PermissionDenied(f'you may not create or change resources in namespace "{namespace_id}"')
    return namespace


def _editable(request, namespace_id: str, pipeline_id: str):
    return pipeline_get_editable(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)


def _pipeline_list(queryset, request) -> Response:
    query = request.query_params.get("filter") or request.query_params.get("q") or ""
    if query:
        term = query.split("=", 1)[-1].strip().strip('"') if "=" in query else query
        queryset = queryset.filter(Q(slug__icontains=term) | Q(description__icontains=term))
    items, next_token, total = token_page(queryset.order_by("-update_time", "-id"), request.query_params)
    stats = pipeline_stats(pipelines=items)
    return Response(
        {
            "pipelines": [
                s.pipeline_json(p, permission=pipeline_permission(pipeline=p, user=request.user), stats=stats.get(p.pk), recipe_spec=_spec(p))
                for p in items
            ],
            "nextPageToken": next_token,
            "totalSize": total,
        }
    )


class PipelineListAllApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(summary="List the pipelines you can read (yours and public ones)")
    def get(self, request):
        return _pipeline_list(readable_pipelines(user=request.user), request)


class NamespacePipelineListCreateApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(summary="List a namespace's pipelines")
    def get(self, request, kind, namespace_id):
        namespace = namespace_get(namespace_id=namespace_id)
        return _pipeline_list(readable_pipelines(user=request.user).filter(namespace=namespace), request)

    @extend_schema(summary="Create a pipeline", request=s.PipelineCreateInput, responses={201: OpenApiResponse(description="The pipeline")})
    def post(self, request, kind, namespace_id):
        namespace = _owned_namespace(request, namespace_id)
        data = _validated(s.PipelineCreateInput, request.data)
        pipeline = pipeline_services.pipeline_create(
            namespace=namespace,
            pipeline_id=data["id"],
            description=data.get("description", ""),
            readme=data.get("readme", ""),
            raw_recipe=data.get("rawRecipe"),
            recipe=data.get("recipe"),
            sharing=data.get("sharing"),
            visibility=data.get("visibility"),
        )
        return _pipeline_response(pipeline, pipeline_permission(pipeline=pipeline, user=request.user), status_code=201)


def _validated(serializer_class, data) -> dict:
    if not isinstance(data, dict):
        raise InvalidArgument("the request body must be a JSON object", field="body")
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PipelineDetailApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(summary="Get a pipeline")
    def get(self, request, kind, namespace_id, pipeline_id):
        pipeline, permission = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
        return _pipeline_response(pipeline, permission)

    @extend_schema(summary="Update a pipeline", request=s.PipelineUpdateInput)
    def patch(self, request, kind, namespace_id, pipeline_id):
        pipeline, permission = _editable(request, namespace_id, pipeline_id)
        _validated(s.PipelineUpdateInput, request.data)
        pipeline = pipeline_services.pipeline_update(pipeline=pipeline, changes=dict(request.data))
        return _pipeline_response(pipeline, permission)

    @extend_schema(summary="Delete a pipeline", responses={204: None})
    def delete(self, request, kind, namespace_id, pipeline_id):
        pipeline, _ = _editable(request, namespace_id, pipeline_id)
        pipeline_services.pipeline_delete(pipeline=pipeline)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PipelineValidateApi(APIView):
    @extend_schema(summary="Validate a pipeline's recipe (or a draft sent as rawRecipe)", request=s.PipelineValidateInput)
    def post(self, request, kind, namespace_id, pipeline_id):
        pipeline, _ = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
        data = _validated(s.PipelineValidateInput, request.data or {})
        raw = data.get("rawRecipe", pipeline.raw_recipe)
        problems = pipeline_services.recipe_validate(raw_recipe=raw)
        return Response({"success": not problems, "errors": problems})


class PipelineRenameApi(APIView):
    @extend_schema(summary="Rename a pipeline", request=s.PipelineRenameInput)
    def post(self, request, kind, namespace_id, pipeline_id):
        pipeline, permission = _editable(request, namespace_id, pipeline_id)
        data = _validated(s.PipelineRenameInput, request.data)
        pipeline = pipeline_services.pipeline_rename(pipeline=pipeline, new_id=data["newPipelineId"])
        return _pipeline_response(pipeline, permission)


class PipelineCloneApi(APIView):
    @extend_schema(summary="Clone a pipeline into a namespace you own", request=s.PipelineCloneInput, responses={201: OpenApiResponse(description="The clone")})
    def post(self, request, kind, namespace_id, pipeline_id):
        pipeline, _ = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
        data = _validated(s.PipelineCloneInput, request.data)
        target_ns = data.get("targetNamespaceId") or request.user.username
        namespace = _owned_namespace(request, target_ns)
        clone = pipeline_services.pipeline_clone(
            pipeline=pipeline,
            target_namespace=namespace,
            target_id=data["targetPipelineId"],
            description=data.get("description"),
            sharing=data.get("sharing"),
        )
        return _pipeline_response(clone, pipeline_permission(pipeline=clone, user=request.user), status_code=201)


# --- releases -----------------------------------------------------------------------


def _release_spec(release) -> dict | None:
    try:
        return pipeline_services.recipe_for(key=("r", release.uid), raw_recipe=release.raw_recipe).data_specification()
    except ServiceError:
        return None


class ReleaseListCreateApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(summary="List a pipeline's releases, newest first")
    def get(self, request, kind, namespace_id, pipeline_id):
        pipeline, _ = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
        queryset = PipelineRelease.objects.filter(pipeline=pipeline).select_related("pipeline__namespace").order_by("-create_time", "-id")
        items, next_token, total = token_page(queryset, request.query_params)
        return Response(
            {"releases": [s.release_json(r, recipe_spec=_release_spec(r)) for r in items], "nextPageToken": next_token, "totalSize": total}
        )

    @extend_schema(summary="Release the pipeline's current recipe under a semantic version", request=s.ReleaseCreateInput, responses={201: OpenApiResponse(description="The release")})
    def post(self, request, kind, namespace_id, pipeline_id):
        pipeline, _ = _editable(request, namespace_id, pipeline_id)
        data = _validated(s.ReleaseCreateInput, request.data)
        release = release_services.release_create(
            pipeline=pipeline, release_id=data["id"], description=data.get("description", ""), readme=data.get("readme", "")
        )
        return Response({"release": s.release_json(release, recipe_spec=_release_spec(release))}, status=201)


class ReleaseDetailApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    def _release(self, request, namespace_id, pipeline_id, release_id, *, edit: bool):
        if edit:
            pipeline, _ = _editable(request, namespace_id, pipeline_id)
        else:
            pipeline, _ = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
        return release_get(pipeline=pipeline, release_id=release_id)

    @extend_schema(summary="Get a release")
    def get(self, request, kind, namespace_id, pipeline_id, release_id):
        release = self._release(request, namespace_id, pipeline_id, release_id, edit=False)
        return Response({"release": s.release_json(release, recipe_spec=_release_spec(release))})

    @extend_schema(summary="Update a release's description or readme", request=s.ReleaseUpdateInput)
    def patch(self, request, kind, namespace_id, pipeline_id, release_id):
        release = self._release(request, namespace_id, pipeline_id, release_id, edit=True)
        release = release_services.release_update(release=release, changes=dict(_validated_raw(request.data)))
        return Response({"release": s.release_json(release, recipe_spec=_release_spec(release))})

    @extend_schema(summary="Delete a release", responses={204: None})
    def delete(self, request, kind, namespace_id, pipeline_id, release_id):
        release = self._release(request, namespace_id, pipeline_id, release_id, edit=True)
        release_services.release_delete(release=release)
        return Response(status=204)


def _validated_raw(data) -> dict:
    if not isinstance(data, dict):
        raise InvalidArgument("the request body must be a JSON object", field="body")
    return data


# --- runs ---------------------------------------------------------------------------


class PipelineRunListApi(APIView):
    @extend_schema(summary="List a pipeline's runs, newest first")
    def get(self, request, kind, namespace_id, pipeline_id):
        pipeline, permission = pipeline_get(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)
        queryset = runs_visible(pipeline=pipeline, user=request.user, permission=permission)
        queryset = _filter_runs(queryset, request.query_params)
        items, total, page, size = numbered_page(queryset, request.query_params)
        uid = request.user.pk
        runs = [s.run_json(r, show_data=permission.can_edit or r.requester_id == uid) for r in items]
        if not full_view(request.query_params):
            path = request.path.rstrip("/")
            for run in runs:
                url = f"{path}/{run['pipelineRunUid']}"
                run["inputs"], run["outputs"] = truncated(run["inputs"], url=url), truncated(run["outputs"], url=url)
        return Response({"pipelineRuns": runs, "totalSize": total, "page": page, "pageSize": size})


class PipelineRunDetailApi(APIView):
    @extend_schema(summary="Get one run of a pipeline, with its whole inputs and outputs")
    def get(self, request, kind, namespace_id, pipeline_id, run_uid):
        run, show_data = run_get(run_uid=str(run_uid), user=request.user)
        if run.pipeline.slug != pipeline_id or run.pipeline.namespace.slug != namespace_id:
            raise NotFound(f'pipeline run "{run_uid}" not found')
        return Response({"pipelineRun": s.run_json(run, show_data=show_data)})


def _filter_runs(queryset, params):
    wanted = params.get("status")
    if wanted:
        if wanted not in PipelineRun.Status.values:
            raise InvalidArgument(f"status must be one of {', '.join(PipelineRun.Status.values)}", field="status")
        queryset = queryset.filter(status=wanted)
    source = params.get("source")
    if source:
        if source not in PipelineRun.Source.values:
            raise InvalidArgument(f"source must be one of {', '.join(PipelineRun.Source.values)}", field="source")
        queryset = queryset.filter(source=source)
    return queryset


class ComponentRunListApi(APIView):
    @extend_schema(summary="List the component runs of a pipeline run")
    def get(self, request, run_uid, kind=None, namespace_id=None, pipeline_id=None):
        run, show_data = run_get(run_uid=str(run_uid), user=request.user)
        if pipeline_id is not None and (run.pipeline.slug != pipeline_id or run.pipeline.namespace.slug != namespace_id):
            raise NotFound(f'pipeline run "{run_uid}" not found')
        queryset = ComponentRun.objects.filter(run=run).select_related("run").order_by("id")
        items, total, page, size = numbered_page(queryset, request.query_params)
        component_runs = [s.component_run_json(c, show_data=show_data) for c in items]
        if not full_view(request.query_params):
            params = request.query_params.copy()
            params["view"] = FULL_VIEW
            url = f"{request.path}?{params.urlencode()}"
            for component_run in component_runs:
                for key in ("inputs", "outputs"):
                    component_run[key] = truncated(component_run[key], url=url)
        return Response({"componentRuns": component_runs, "totalSize": total, "page": page, "pageSize": size})


class RunFileApi(APIView):
    @extend_schema(summary="Download a file kept in a run's history", responses={200: None})
    def get(self, request, run_uid, name):
        run, _ = run_get(run_uid=str(run_uid), user=request.user)
        path = stored_file(run_uid=run.uid, name=name)
        if path is None:
            raise NotFound(f'file {quoted(name)} not found in run "{run_uid}" (run files are kept {settings.PIPELINE_RUN_FILE_RETENTION_DAYS} days)')
        meta = _file_meta(run, name)
        return FileResponse(
            open(path, "rb"),
            content_type=meta.get("mimeType") or "application/octet-stream",
            as_attachment=True,
            filename=meta.get("filename") or name,
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


# --- tokens -------------------------------------------------------------------------


class TokenListCreateApi(APIView):
    @extend_schema(summary="List your API tokens (masked)")
    def get(self, request):
        items, next_token, total = token_page(ApiToken.objects.filter(user=request.user).order_by("-create_time", "-id"), request.query_params)
        return Response({"tokens": [s.token_json(t) for t in items], "nextPageToken": next_token, "totalSize": total})

    @extend_schema(summary="Create an API token; the token is shown only in this answer", request=s.TokenCreateInput, responses={201: OpenApiResponse(description="The token, with accessToken")})
    def post(self, request):
        data = _validated(s.TokenCreateInput, request.data)
        token, raw = token_services.token_create(
            user=request.user, token_id=data["id"], ttl=data.get("ttl"), expire_time=data.get("expireTime")
        )
        return Response({"token": s.token_json(token, access_token=raw)}, status=201)


class TokenDetailApi(APIView):
    @extend_schema(summary="Get an API token (masked)")
    def get(self, request, token_id):
        token = ApiToken.objects.filter(user=request.user, slug=token_id).first()
        if token is None:
            raise NotFound(f'token "{token_id}" not found')
        return Response({"token": s.token_json(token)})

    @extend_schema(summary="Delete (revoke) an API token", responses={204: None})
    def delete(self, request, token_id):
        token_services.token_delete(user=request.user, token_id=token_id)
        return Response(status=204)


# --- secrets ------------------------------------------------------------------------


class SecretListCreateApi(APIView):
    @extend_schema(summary="List a namespace's secrets (values are never returned)")
    def get(self, request, kind, namespace_id):
        namespace = _owned_namespace(request, namespace_id)
        items, next_token, total = token_page(Secret.objects.filter(namespace=namespace).select_related("namespace").order_by("slug"), request.query_params)
        return Response({"secrets": [s.secret_json(x) for x in items], "nextPageToken": next_token, "totalSize": total})

    @extend_schema(summary="Create a secret", request=s.SecretCreateInput, responses={201: OpenApiResponse(description="The secret, without its value")})
    def post(self, request, kind, namespace_id):
        namespace = _owned_namespace(request, namespace_id)
        data = _validated(s.SecretCreateInput, request.data)
        secret = secret_services.secret_create(
            namespace=namespace, secret_id=data["id"], value=data["value"], description=data.get("description", "")
        )
        return Response({"secret": s.secret_json(secret)}, status=201)


class SecretDetailApi(APIView):
    @extend_schema(summary="Get a secret (without its value)")
    def get(self, request, kind, namespace_id, secret_id):
        namespace = _owned_namespace(request, namespace_id)
        secret = Secret.objects.filter(namespace=namespace, slug=secret_id).select_related("namespace").first()
        if secret is None:
            raise NotFound(f'secret "{secret_id}" not found')
        return Response({"secret": s.secret_json(secret)})

    @extend_schema(summary="Update a secret's value or description", request=s.SecretUpdateInput)
    def patch(self, request, kind, namespace_id, secret_id):
        namespace = _owned_namespace(request, namespace_id)
        data = _validated(s.SecretUpdateInput, request.data)
        secret = secret_services.secret_update(
            namespace=namespace, secret_id=secret_id, value=data.get("value"), description=data.get("description")
        )
        return Response({"secret": s.secret_json(secret)})

    @extend_schema(summary="Delete a secret", responses={204: None})
    def delete(self, request, kind, namespace_id, secret_id):
        namespace = _owned_namespace(request, namespace_id)
        secret_services.secret_delete(namespace=namespace, secret_id=secret_id)
        return Response(status=204)


@csrf_exempt  # a POST to no endpoint is a 404 in the error shape, not a CSRF page
def api_not_found(request, exception=None):
    return error_json(404, f"no API endpoint at {request.path}")


def api_server_error(request):
    return error_json(500, "internal error")

