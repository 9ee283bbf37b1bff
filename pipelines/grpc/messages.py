"""Protobuf messages to and from the JSON shapes the services speak.

The services take and give the REST API's JSON (``{"data": [{"variable", "secret"}]}``,
``{"outputs", "metadata": {"traces"}}``); gRPC is the same contract in protobuf, so
each side is one ``json_format`` conversion. An operation comes as the service's
:class:`OperationState` and is shaped here, as the REST serializers shape it there.
"""

from __future__ import annotations

from typing import Any

from google.longrunning import operations_pb2
from google.protobuf import json_format, struct_pb2
from google.protobuf.message import Message
from google.rpc import status_pb2

from pipelines.grpc.gen.pipeline.pipeline.v1beta import component_definition_pb2
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_pb2 as pb
from pipelines.services.operations import OperationState

# Whole numbers beyond this are not exact in a double: leave them as they came.
_EXACT = 2**53


def _plain(value: Any) -> Any:
    """A Struct's number is always a double: a whole one becomes the int a JSON client sends."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= _EXACT:
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def struct_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    return _plain(json_format.MessageToDict(struct))


def trigger_payload(request) -> dict[str, Any]:
    """A trigger request as the REST body that :func:`trigger_rows` validates."""
    if request.inputs:
        return {"inputs": [struct_dict(item) for item in request.inputs]}
    return {"data": [{"variable": struct_dict(row.variable), "secret": dict(row.secret)} for row in request.data]}


def trigger_response[M: Message](message_class: type[M], response: dict[str, Any]) -> M:
    """``{"outputs", "metadata"}`` as a Trigger*Response (or a stream update) message."""
    try:
        return json_format.ParseDict(response, message_class())
    except OverflowError:
        # A Struct number is a double: an integer beyond its range (jq or a parsed JSON
        # text can make one) travels as its decimal string instead of failing the call.
        return json_format.ParseDict(_doubles_only(response), message_class())


def _doubles_only(value: Any) -> Any:
    """``value`` with every integer too large for a double as its decimal string."""
    if isinstance(value, dict):
        return {key: _doubles_only(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_doubles_only(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            return str(value)
    return value


def operation(state: OperationState) -> operations_pb2.Operation:
    """An async trigger's operation as ``google.longrunning.Operation``: its error as a
    ``google.rpc.Status``, or its answer packed as a TriggerNamespacePipelineResponse."""
    message = operations_pb2.Operation(name=state.name, done=state.done)
    if state.error_code is not None:
        message.error.CopyFrom(status_pb2.Status(code=state.error_code, message=state.error))
    elif state.done:
        body = {"outputs": state.outputs, "metadata": {"traces": state.traces}}
        message.response.Pack(trigger_response(pb.TriggerNamespacePipelineResponse, body))
    return message


def catalog_params(request: component_definition_pb2.ListComponentDefinitionsRequest) -> dict[str, str]:
    """A ListComponentDefinitions request's filter and view, as the REST query has them."""
    return {
        "filter": request.filter,
        "view": component_definition_pb2.ComponentDefinition.View.Name(request.view),
    }
