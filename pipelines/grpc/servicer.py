"""The gRPC API: thin adapters over the services the REST trigger views call.

Each method parses its message, authenticates the ``authorization`` metadata
(:mod:`pipelines.auth`, as every adapter), calls the same trigger service as REST
(:mod:`pipelines.services.triggers`: same validation, same runs recorded) and shapes
the answer. Domain errors become the gRPC status named by the error
(``ServiceError.grpc_name``) with the REST API's message.
"""

from __future__ import annotations

import functools
import logging
import uuid

import grpc
from google.protobuf import json_format

from pipelines import ratelimits
from pipelines.aio import db
from pipelines.auth import AUTHENTICATION_REQUIRED, authenticate_authorization, rate_subject
from pipelines.engine import PipelineOutputUpdated
from pipelines.errors import ServiceError, Unauthenticated
from pipelines.grpc import connections as connection_calls
from pipelines.grpc import messages
from pipelines.grpc.gen.common.healthcheck.v1beta import healthcheck_pb2
from pipelines.grpc.gen.core.mgmt.v1beta import mgmt_pb2
from pipelines.grpc.gen.pipeline.pipeline.v1beta import component_definition_pb2 as cd
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_pb2 as pb
from pipelines.paging import paginate
from pipelines.selectors import database_ready, user_get
from pipelines.services import component_catalog
from pipelines.services import operations as operation_services
from pipelines.services.run_inputs import trigger_rows
from pipelines.services.run_targets import trigger_target
from pipelines.services.triggers import Trigger, trigger_accept, trigger_answer, trigger_enqueue, trigger_stream
from pipelines.services.users import user_json

logger = logging.getLogger("pipelines.grpc")

SERVING = healthcheck_pb2.HealthCheckResponse.SERVING_STATUS_SERVING
NOT_SERVING = healthcheck_pb2.HealthCheckResponse.SERVING_STATUS_NOT_SERVING


def _metadata(context) -> dict[str, str]:
    return {key: value for key, value in context.invocation_metadata() or () if isinstance(value, str)}


def _peer_address(context) -> str:
    """The client's IP address from gRPC's peer string (``ipv4:1.2.3.4:5678``,
    ``ipv6:[::1]:5678``), for the sign-in throttle."""
    peer = context.peer() or ""
    _, _, rest = peer.partition(":")
    host, _, _ = rest.rpartition(":")
    return host.strip("[]") or peer


def _user(authorization: str, address: str):
    user = authenticate_authorization(authorization, address=address)
    if user is None:
        raise Unauthenticated(AUTHENTICATION_REQUIRED)
    return user


def _prepare(authorization: str, address: str, namespace_id: str, pipeline_id: str, release_id: str | None):
    """Auth and the target: one thread hop for all reads, as for REST."""
    user = _user(authorization, address)
    target = trigger_target(namespace_id=namespace_id, pipeline_id=pipeline_id, release_id=release_id, user=user)
    return user, target


_prepare_in_thread = db(_prepare)


def _operation(authorization: str, address: str, operation_id: str) -> operation_services.OperationState:
    user = _user(authorization, address)
    ratelimits.api_check(subject=rate_subject(authorization, user))
    run = operation_services.operation_get(operation_id=operation_id.removeprefix("operations/"), user=user)
    return operation_services.operation_state(run)


_operation_in_thread = db(_operation)


async def _accept(request, context, *, release_id: str | None = None) -> Trigger:
    """The call as a trigger: rows, auth, target, then the service's checks."""
    metadata = _metadata(context)
    rows = trigger_rows(messages.trigger_payload(request))
    authorization = metadata.get("authorization", "")
    user, target = await _prepare_in_thread(
        authorization, _peer_address(context), request.namespace_id, request.pipeline_id, release_id
    )
    return await trigger_accept(requester=user, target=target, rows=rows, authorization=authorization, headers=metadata)


# The status message travels percent-encoded in a trailer: past the peer's metadata
# limit (8 KB by default) the call fails as RESOURCE_EXHAUSTED and the real status is
# lost. 1,000 bytes of UTF-8 are at most 3,000 bytes there.
MAX_STATUS_MESSAGE_BYTES = 1000


def _status_message(message: str) -> str:
    raw = message.encode()
    if len(raw) <= MAX_STATUS_MESSAGE_BYTES:
        return message
    return raw[: MAX_STATUS_MESSAGE_BYTES - 3].decode(errors="ignore") + "..."


async def _abort(context, exc: BaseException):
    if isinstance(exc, ServiceError):
        # Retry-After and RateLimit-* as trailing metadata, lower-case as gRPC wants keys.
        trailers = tuple((name.lower(), value) for name, value in exc.headers.items())
        await context.abort(grpc.StatusCode[exc.grpc_name], _status_message(exc.message), trailing_metadata=trailers)
    request_id = uuid.uuid4().hex
    logger.error("unhandled error in a gRPC call (request id %s)", request_id, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error (request id {request_id})")


def _unary(method):
    """Domain errors and bugs as gRPC statuses, the way the REST API's error handler does."""

    @functools.wraps(method)
    async def call(self, request, context):
        try:
            return await method(self, request, context)
        except Exception as exc:  # noqa: BLE001 - every error gets a status, bugs a logged INTERNAL
            if isinstance(exc, grpc.aio.AbortError):
                raise
            await _abort(context, exc)

    return call


def _streaming(method):
    @functools.wraps(method)
    async def call(self, request, context):
        try:
            async for response in method(self, request, context):
                yield response
        except Exception as exc:  # noqa: BLE001 - as _unary
            if isinstance(exc, grpc.aio.AbortError):
                raise
            await _abort(context, exc)

    return call


def _readiness(response_class):
    """A ``Readiness`` method answering ``response_class``: serving when the database answers."""

    @_unary
    async def Readiness(self, request, context):
        ok = await db(database_ready)()
        status = SERVING if ok else NOT_SERVING
        return response_class(health_check_response=healthcheck_pb2.HealthCheckResponse(status=status))

    return Readiness


class PipelineServicer:
    """``pipeline.pipeline.v1beta.PipelinePublicService`` (and its older ``vdp`` name)."""

    Readiness = _readiness(pb.ReadinessResponse)

    async def _trigger(self, request, context, response_class, *, release_id: str | None = None):
        trigger = await _accept(request, context, release_id=release_id)
        return messages.trigger_response(response_class, await trigger_answer(trigger))

    async def _trigger_async(self, request, context, response_class, *, release_id: str | None = None):
        trigger = await _accept(request, context, release_id=release_id)
        run = await trigger_enqueue(trigger)
        return response_class(operation=messages.operation(operation_services.operation_state(run)))

    @_unary
    async def TriggerNamespacePipeline(self, request, context):
        return await self._trigger(request, context, pb.TriggerNamespacePipelineResponse)

    @_unary
    async def TriggerNamespacePipelineRelease(self, request, context):
        return await self._trigger(
            request, context, pb.TriggerNamespacePipelineReleaseResponse, release_id=request.release_id
        )

    @_unary
    async def TriggerAsyncNamespacePipeline(self, request, context):
        return await self._trigger_async(request, context, pb.TriggerAsyncNamespacePipelineResponse)

    @_unary
    async def TriggerAsyncNamespacePipelineRelease(self, request, context):
        return await self._trigger_async(
            request, context, pb.TriggerAsyncNamespacePipelineReleaseResponse, release_id=request.release_id
        )

    @_streaming
    async def TriggerNamespacePipelineWithStream(self, request, context):
        """One response per update of the outputs (each row's outputs so far, unresolved
        ones null), then the complete answer with its traces. Hanging up stops the
        stream, not the run: it finishes and is recorded. Like an SSE stream, the run is
        stored first (live): its events can be followed at /pipeline-runs/{uid}/events."""
        trigger = await _accept(request, context)
        stream = await trigger_stream(trigger)  # bad input is INVALID_ARGUMENT, not a broken stream
        outputs: list[dict] = [{} for _ in trigger.rows]
        async for event in stream.events():  # no heartbeat asked: never None
            if event is None:
                continue
            if event.name == PipelineOutputUpdated.name:
                outputs[event.batch_index] = event.payload()["output"]
                yield messages.trigger_response(pb.TriggerNamespacePipelineWithStreamResponse, {"outputs": outputs})
        yield messages.trigger_response(pb.TriggerNamespacePipelineWithStreamResponse, stream.outcome().response)

    @_unary
    async def GetOperation(self, request, context):
        operation = await _operation_in_thread(
            _metadata(context).get("authorization", ""), _peer_address(context), request.operation_id
        )
        return pb.GetOperationResponse(operation=messages.operation(operation))

    @_unary
    async def ListComponentDefinitions(self, request, context):
        """The REST list's answer (public, as Instill's): numbered pages, ``view``, ``filter``."""
        params = messages.catalog_params(request)
        found = component_catalog.definitions_matching(params)
        full = component_catalog.view_is_full(params)
        page = paginate(found, {"page": request.page, "pageSize": request.page_size}, lenient=True)
        return json_format.ParseDict(
            {
                "componentDefinitions": [component_catalog.definition_json(d, full=full) for d in page.items],
                "totalSize": page.total,
                "pageSize": page.size,
                "page": page.page,
            },
            cd.ListComponentDefinitionsResponse(),
        )


def _catalog_method(name: str):
    """A connection or integration call (:mod:`pipelines.grpc.connections`)."""

    @_unary
    async def method(self, request, context):
        metadata = _metadata(context)
        return await _catalog_call(name, request, metadata.get("authorization", ""), _peer_address(context))

    method.__name__ = name
    return method


_catalog_call = db(connection_calls.call)

for _name in (
    "ListIntegrations",
    "GetIntegration",
    "ListNamespaceConnections",
    "GetNamespaceConnection",
    "CreateNamespaceConnection",
    "UpdateNamespaceConnection",
    "DeleteNamespaceConnection",
    "ListPipelineIDsByConnectionID",
):
    setattr(PipelineServicer, _name, _catalog_method(_name))


def _user_message(authorization: str, address: str, user_id: str | None):
    """The authenticated user (``user_id`` None) or any user, in the SDK's messages."""
    if user_id is None:
        body = {"user": user_json(_user(authorization, address), authenticated=True)}
        return json_format.ParseDict(body, mgmt_pb2.GetAuthenticatedUserResponse(), ignore_unknown_fields=True)
    authenticate_authorization(authorization, address=address)  # wrong credentials are refused
    body = {"user": user_json(user_get(user_id=user_id))}
    return json_format.ParseDict(body, mgmt_pb2.GetUserResponse(), ignore_unknown_fields=True)


_user_message_in_thread = db(_user_message)


class MgmtServicer:
    """``core.mgmt.v1beta.MgmtPublicService``: what the Instill SDK checks at start
    (Readiness) and the users its management client reads, as ``GET /v1beta/user`` and
    ``GET /v1beta/users/{id}`` answer them."""

    Readiness = _readiness(mgmt_pb2.ReadinessResponse)

    @_unary
    async def GetAuthenticatedUser(self, request, context):
        metadata = _metadata(context)
        return await _user_message_in_thread(metadata.get("authorization", ""), _peer_address(context), None)

    @_unary
    async def GetUser(self, request, context):
        metadata = _metadata(context)
        user_id = request.user_id or request.name
        return await _user_message_in_thread(metadata.get("authorization", ""), _peer_address(context), user_id)
