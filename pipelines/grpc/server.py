"""The asyncio gRPC server (``grpc.aio``) of the Instill-compatible API.

``manage.py serve`` starts it on the ASGI server's own event loop (uvicorn's or
daphne's), so triggers over gRPC and over HTTP share one loop (the sync-run recorder
groups their writes together) and one in-process executor; ``manage.py grpcserver`` runs it alone, for scale-out.
"""

from __future__ import annotations

import logging

import grpc
from django.conf import settings
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message_factory import GetMessageClass

from pipelines.grpc.gen.core.mgmt.v1beta import mgmt_public_service_pb2
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_public_service_pb2
from pipelines.grpc.servicer import MgmtServicer, PipelineServicer

logger = logging.getLogger("pipelines.grpc")

PIPELINE_SERVICE = pipeline_public_service_pb2.DESCRIPTOR.services_by_name["PipelinePublicService"]
MGMT_SERVICE = mgmt_public_service_pb2.DESCRIPTOR.services_by_name["MgmtPublicService"]
# Instill SDKs before the rename from VDP call the same methods under this name.
LEGACY_PIPELINE_SERVICE_NAME = "vdp.pipeline.v1beta.PipelinePublicService"


def method_handlers(service: ServiceDescriptor, servicer) -> dict[str, grpc.RpcMethodHandler]:
    """Handlers for every method of ``service``, built from its descriptor."""
    handlers = {}
    for method in service.methods:
        make = grpc.unary_stream_rpc_method_handler if method.server_streaming else grpc.unary_unary_rpc_method_handler
        handlers[method.name] = make(
            getattr(servicer, method.name),
            request_deserializer=GetMessageClass(method.input_type).FromString,
            response_serializer=GetMessageClass(method.output_type).SerializeToString,
        )
    return handlers


def build_server(*, host: str, port: int) -> tuple[grpc.aio.Server, int]:
    """A server with every service added and bound to ``host:port`` (0: any free port).

    Returns the server, not started, and the port it bound. Call from the event loop
    that will run it. Raises ``OSError`` naming the port when it cannot be bound (taken
    by another process: ports are never shared).
    """
    limit = settings.PIPELINE_GRPC_MAX_MESSAGE_BYTES
    # gRPC sets SO_REUSEPORT by default: a second server on the same port would bind
    # without a word and the kernel would hand it half of the connections (calls that
    # then fail with the other server's "invalid API token"). Off, a taken port fails.
    options = [
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", limit),
        ("grpc.so_reuseport", 0),
    ]
    server = grpc.aio.server(options=options)
    pipeline_handlers = method_handlers(PIPELINE_SERVICE, PipelineServicer())
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(PIPELINE_SERVICE.full_name, pipeline_handlers),
            grpc.method_handlers_generic_handler(LEGACY_PIPELINE_SERVICE_NAME, pipeline_handlers),
            grpc.method_handlers_generic_handler(MGMT_SERVICE.full_name, method_handlers(MGMT_SERVICE, MgmtServicer())),
        )
    )
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as exc:  # grpc's word for "address in use" and the like
        raise OSError(f"could not listen for gRPC on {address}: is another server using port {port}?") from exc
    return server, bound


async def start_server(*, host: str, port: int) -> tuple[grpc.aio.Server, int]:
    server, bound = build_server(host=host, port=port)
    await server.start()
    logger.info("gRPC listening on %s:%d", host, bound)
    return server, bound


def serve_beside_daphne(*, host: str, port: int) -> int:
    """Bind the gRPC server now and start it on daphne's event loop when the reactor runs.

    daphne runs Twisted's asyncio reactor; the server is made on that reactor's loop so
    the gRPC methods run on it too. Binding happens here, before the reactor starts, so
    a port in use fails ``serve`` at once. The server stops (5 s grace for calls in
    flight) before the reactor shuts down. Returns the bound port.
    """
    import asyncio

    from twisted.internet import defer, reactor

    loop = reactor._asyncioEventloop  # type: ignore[attr-defined]  # AsyncioSelectorReactor's, untyped
    asyncio.set_event_loop(loop)  # what daphne does when it runs; grpc.aio binds to it
    server, bound = build_server(host=host, port=port)

    def start():
        return defer.Deferred.fromFuture(asyncio.ensure_future(server.start(), loop=loop))

    def stop():
        return defer.Deferred.fromFuture(asyncio.ensure_future(server.stop(5), loop=loop))

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", stop)
    return bound
