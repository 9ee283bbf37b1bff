"""The gRPC API: thin adapters over the services the REST trigger views call.

Each method parses its message, authenticates the ``authorization`` metadata with the
REST API's token authentication, calls the same services (same validation, same runs
recorded, source API) and shapes the answer. Domain errors become the gRPC status
named by the error (``ServiceError.grpc_name``) with the REST API's message.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import grpc

from pipelines.aio import db, detached
from pipelines import ratelimits
from pipelines.auth import AUTHENTICATION_REQUIRED, authenticate_authorization, rate_subject
from pipelines.engine import PipelineOutputUpdated
from pipelines.errors import ServiceError, Unauthenticated
from pipelines.grpc import messages
from pipelines.grpc.gen.common.healthcheck.v1beta import healthcheck_pb2
from pipelines.grpc.gen.core.mgmt.v1beta import mgmt_pb2
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_pb2 as pb
from pipelines.models import PipelineRun
from pipelines.selectors import database_ready
from pipelines.services import operations as operation_services
from pipelines.services import runs as run_services

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
    """Auth, rate limits and the target: one thread hop for all reads, as for REST."""
    user = _user(authorization, address)
    target = run_services.trigger_target(namespace_id=namespace_id, pipeline_id=pipeline_id, release_id=release_id, user=user)
    if ratelimits.triggers_limited():
        ratelimits.trigger_check(subject=rate_subject(authorization, user), pipeline_key=str(target.pipeline.pk))
    return user, target


_prepare_in_thread = db(_prepare)
_enqueue_in_thread = db(operation_services.run_enqueue)


def _operation(authorization: str, address: str, operation_id: str) -> dict[str, Any]:
    user = _user(authorization, address)
    ratelimits.api_check(subject=rate_subject(authorization, user))
    run = operation_services.operation_get(operation_id=operation_id.removeprefix("operations/"), user=user)
    return operation_services.operation_json(run)


_operation_in_thread = db(_operation)


@dataclass
class Trigger:
    user: Any
    target: run_services.TriggerTarget
    rows: list[run_services.TriggerRow]
    source: str
    return_traces: bool
    idempotency_key: str | None

    def run_args(self) -> dict[str, Any]:
        """What every run service takes: what to run, with which rows, for whom, from where."""
        return {"target": self.target, "rows": self.rows, "requester": self.user, "source": self.source}


async def _accept(request, context, *, release_id: str | None = None) -> Trigger:
    """What every trigger method does first: rows, auth, target, file URLs fetched."""
    metadata = _metadata(context)
    rows = run_services.trigger_rows(messages.trigger_payload(request))
    user, target = await _prepare_in_thread(
        metadata.get("authorization", ""), _peer_address(context), request.namespace_id, request.pipeline_id, release_id
    )
    rows = await run_services.rows_with_fetched_files(target, rows)
    console = metadata.get("instill-user-agent", "").upper() == PipelineRun.Source.CONSOLE
    return Trigger(
        user=user,
        target=target,
        rows=rows,
        source=PipelineRun.Source.CONSOLE if console else PipelineRun.Source.API,
        return_traces=metadata.get("instill-return-traces", "").lower() == "true",
        idempotency_key=operation_services.idempotency_key_checked(metadata.get("idempotency-key")),
    )


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
        # Shielded: a client that hangs up does not stop the run; it finishes and is recorded.
        response = await asyncio.shield(
            detached(
                operation_services.run_trigger_once(
                    **trigger.run_args(), return_traces=trigger.return_traces, idempotency_key=trigger.idempotency_key
                )
            )
        )
        return messages.trigger_response(response_class, response)

    async def _trigger_async(self, request, context, response_class, *, release_id: str | None = None):
        trigger = await _accept(request, context, release_id=release_id)
        run = await _enqueue_in_thread(**trigger.run_args(), idempotency_key=trigger.idempotency_key)
        return response_class(operation=messages.operation(operation_services.operation_json(run)))

    @_unary
    async def TriggerNamespacePipeline(self, request, context):
        return await self._trigger(request, context, pb.TriggerNamespacePipelineResponse)

    @_unary
    async def TriggerNamespacePipelineRelease(self, request, context):
        return await self._trigger(request, context, pb.TriggerNamespacePipelineReleaseResponse, release_id=request.release_id)

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
        run_services.bind_rows(trigger.target, trigger.rows)  # bad input is INVALID_ARGUMENT, not a broken stream
        events: asyncio.Queue = asyncio.Queue()
        task = detached(
            run_services.run_trigger(
                **trigger.run_args(), return_traces=trigger.return_traces, on_event=events.put_nowait, live=True
            )
        )
        # Every event is queued before the run's task ends, so this marker comes last.
        task.add_done_callback(lambda _: events.put_nowait(None))
        outputs: list[dict] = [{} for _ in trigger.rows]
        while (event := await events.get()) is not None:
            if event.name == PipelineOutputUpdated.name:
                outputs[event.batch_index] = event.payload()["output"]
                yield messages.trigger_response(pb.TriggerNamespacePipelineWithStreamResponse, {"outputs": outputs})
        yield messages.trigger_response(pb.TriggerNamespacePipelineWithStreamResponse, task.result().response)

    @_unary
    async def GetOperation(self, request, context):
        operation = await _operation_in_thread(_metadata(context).get("authorization", ""), _peer_address(context), request.operation_id)
        return pb.GetOperationResponse(operation=messages.operation(operation))


class MgmtServicer:
    """``core.mgmt.v1beta.MgmtPublicService``: only what the Instill SDK checks at start."""

    Readiness = _readiness(mgmt_pb2.ReadinessResponse)
