"""Our protos: the committed generated code matches them, and their names and field
numbers are Instill's (shared/API.md, gRPC) — the wire contract with the SDK."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipelines.grpc.gen.common.healthcheck.v1beta import healthcheck_pb2
from pipelines.grpc.gen.core.mgmt.v1beta import mgmt_pb2
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_pb2
from pipelines.grpc.server import MGMT_SERVICE, PIPELINE_SERVICE

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import gen_protos  # noqa: E402

TRIGGER = {"namespace_id": 1, "pipeline_id": 2, "inputs": 3, "data": 4}
RELEASE = {"namespace_id": 1, "pipeline_id": 2, "release_id": 3, "inputs": 4, "data": 5}
RESPONSE = {"outputs": 1, "metadata": 2}
FIELDS = {
    "TriggerData": {"variable": 1, "secret": 2, "connection_references": 3},
    "TriggerNamespacePipelineRequest": TRIGGER,
    "TriggerAsyncNamespacePipelineRequest": TRIGGER,
    "TriggerNamespacePipelineWithStreamRequest": TRIGGER,
    "TriggerNamespacePipelineReleaseRequest": RELEASE,
    "TriggerAsyncNamespacePipelineReleaseRequest": RELEASE,
    "TriggerNamespacePipelineResponse": RESPONSE,
    "TriggerNamespacePipelineWithStreamResponse": RESPONSE,
    "TriggerNamespacePipelineReleaseResponse": RESPONSE,
    "TriggerMetadata": {"traces": 1},
    "Trace": {"statuses": 1, "inputs": 2, "outputs": 3, "error": 4, "compute_time_in_seconds": 5},
    "TriggerAsyncNamespacePipelineResponse": {"operation": 1},
    "TriggerAsyncNamespacePipelineReleaseResponse": {"operation": 1},
    "GetOperationRequest": {"operation_id": 1},
    "GetOperationResponse": {"operation": 1},
    "ReadinessRequest": {"health_check_request": 1},
    "ReadinessResponse": {"health_check_response": 1},
}


def test_generated_code_is_current():
    """`make protos` was run after the last change to pipelines/grpc/protos."""
    assert gen_protos.is_current(), "pipelines/grpc/gen is out of date: run `make protos` and commit it"


@pytest.mark.parametrize("message, numbers", FIELDS.items())
def test_field_numbers_are_instills(message, numbers):
    descriptor = pipeline_pb2.DESCRIPTOR.message_types_by_name[message]
    assert descriptor.full_name == f"pipeline.pipeline.v1beta.{message}"
    assert {field.name: field.number for field in descriptor.fields} == numbers


def test_health_messages_and_services():
    assert {f.name: f.number for f in mgmt_pb2.ReadinessRequest.DESCRIPTOR.fields} == {"health_check_request": 1}
    status = healthcheck_pb2.HealthCheckResponse.DESCRIPTOR.fields_by_name["status"]
    assert status.number == 1 and status.enum_type.values_by_name["SERVING_STATUS_SERVING"].number == 1
    assert healthcheck_pb2.HealthCheckRequest.DESCRIPTOR.fields_by_name["service"].number == 1
    assert pipeline_pb2.Trace.Status.Value("STATUS_ERROR") == 3
    assert PIPELINE_SERVICE.full_name == "pipeline.pipeline.v1beta.PipelinePublicService"
    assert MGMT_SERVICE.full_name == "core.mgmt.v1beta.MgmtPublicService"
    assert {m.name for m in PIPELINE_SERVICE.methods} == {
        "Readiness",
        "TriggerNamespacePipeline",
        "TriggerAsyncNamespacePipeline",
        "TriggerNamespacePipelineRelease",
        "TriggerAsyncNamespacePipelineRelease",
        "TriggerNamespacePipelineWithStream",
        "GetOperation",
        "ListComponentDefinitions",
        "ListIntegrations",
        "GetIntegration",
        "ListNamespaceConnections",
        "GetNamespaceConnection",
        "CreateNamespaceConnection",
        "UpdateNamespaceConnection",
        "DeleteNamespaceConnection",
        "ListPipelineIDsByConnectionID",
    }
    assert PIPELINE_SERVICE.methods_by_name["TriggerNamespacePipelineWithStream"].server_streaming
