"""The gRPC API against a real ``grpc.aio`` server, with stubs generated from our protos:
every method, the runs it records, and every error row of the contract — with the
REST API's status and message for the same mistake."""

from __future__ import annotations

import time

import grpc
import pytest
from google.protobuf import json_format

from pipelines.auth import AUTHENTICATION_REQUIRED
from pipelines.grpc.gen.common.healthcheck.v1beta import healthcheck_pb2
from pipelines.grpc.gen.core.mgmt.v1beta import mgmt_pb2
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_pb2 as pb
from pipelines.models import ComponentRun, PipelineRun
from tests.conftest import SLOW_RECIPE

pytestmark = pytest.mark.django_db(transaction=True)

SERVING = healthcheck_pb2.HealthCheckResponse.SERVING_STATUS_SERVING
TRIGGERS = [
    "TriggerNamespacePipeline",
    "TriggerAsyncNamespacePipeline",
    "TriggerNamespacePipelineWithStream",
    "TriggerNamespacePipelineRelease",
    "TriggerAsyncNamespacePipelineRelease",
]
REST_PATH = {
    "TriggerNamespacePipeline": "trigger",
    "TriggerAsyncNamespacePipeline": "trigger-async",
    "TriggerNamespacePipelineWithStream": "trigger",
    "TriggerNamespacePipelineRelease": "releases/v1.0.0/trigger",
    "TriggerAsyncNamespacePipelineRelease": "releases/v1.0.0/trigger-async",
}


def rows(*variables: dict) -> list[pb.TriggerData]:
    data = []
    for variable in variables:
        row = pb.TriggerData()
        row.variable.update(variable)
        data.append(row)
    return data


def call(stub, method: str, metadata=(), **fields):
    """Call ``method`` with a request of its type; a stream is read to its end."""
    if "Release" in method:
        fields.setdefault("release_id", "v1.0.0")
    request = getattr(pb, f"{method}Request")(**fields)
    answer = getattr(stub, method)(request, metadata=metadata, timeout=30)
    return list(answer) if method.endswith("WithStream") else answer


def as_dict(message) -> dict:
    return json_format.MessageToDict(message)


def wait_done(stub, metadata, name: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        operation = stub.GetOperation(
            pb.GetOperationRequest(operation_id=name.split("/")[1]), metadata=metadata
        ).operation
        if operation.done:
            return operation
        time.sleep(0.05)
    raise AssertionError(f"{name} not done after {timeout} s")


@pytest.fixture
def released(api, hello):
    assert api.post("/v1beta/namespaces/alice/pipelines/hello/releases", {"id": "v1.0.0"}).status_code == 201
    return hello


# --- health -------------------------------------------------------------------------


def test_readiness_of_mgmt_pipeline_and_legacy_vdp_service(mgmt_stub, pipeline_stub, channel):
    """The SDK checks mgmt, then pipeline readiness; older SDKs use the vdp service name."""
    assert mgmt_stub.Readiness(mgmt_pb2.ReadinessRequest()).health_check_response.status == SERVING
    assert pipeline_stub.Readiness(pb.ReadinessRequest()).health_check_response.status == SERVING
    legacy = channel.unary_unary(
        "/vdp.pipeline.v1beta.PipelinePublicService/Readiness",
        request_serializer=pb.ReadinessRequest.SerializeToString,
        response_deserializer=pb.ReadinessResponse.FromString,
    )
    assert legacy(pb.ReadinessRequest()).health_check_response.status == SERVING


# --- sync triggers --------------------------------------------------------------------


def test_trigger_answers_outputs_and_traces_and_records_an_api_run(pipeline_stub, alice_md, hello, alice):
    answer = call(
        pipeline_stub,
        "TriggerNamespacePipeline",
        alice_md,
        namespace_id="alice",
        pipeline_id="hello",
        data=rows({"prompt": "grpc"}),
    )
    body = as_dict(answer)
    assert body["outputs"] == [{"answer": "Hello grpc"}]
    trace = body["metadata"]["traces"]["greet"]
    assert trace["statuses"] == ["STATUS_COMPLETED"] and "inputs" not in trace
    run = PipelineRun.objects.get()
    assert run.source == PipelineRun.Source.API and run.pipeline_version == "latest" and run.requester == alice
    assert run.status == PipelineRun.Status.COMPLETED and run.outputs == [{"answer": "Hello grpc"}]
    assert ComponentRun.objects.get(run=run).component_id == "greet"


def test_trigger_batch_legacy_inputs_return_traces_and_console_source(pipeline_stub, alice_md, hello):
    """``inputs`` is the legacy form of data[i].variable; metadata as the REST headers."""
    inputs = [json_format.ParseDict({"prompt": name}, pb.TriggerData().variable) for name in ("a", "b")]
    metadata = [*alice_md, ("instill-return-traces", "true"), ("instill-user-agent", "RUN_SOURCE_CONSOLE")]
    body = as_dict(
        call(
            pipeline_stub,
            "TriggerNamespacePipeline",
            metadata,
            namespace_id="alice",
            pipeline_id="hello",
            inputs=inputs,
        )
    )
    assert body["outputs"] == [{"answer": "Hello a"}, {"answer": "Hello b"}]
    assert body["metadata"]["traces"]["greet"]["outputs"] == [{"results": ["Hello a"]}, {"results": ["Hello b"]}]
    assert PipelineRun.objects.get().source == PipelineRun.Source.CONSOLE


def test_numbers_arrive_as_json_numbers(pipeline_stub, alice_md, alice, make_pipeline):
    """A Struct's numbers are doubles; whole ones reach the recipe as integers, as from JSON."""
    recipe = "variable:\n  n: {type: json}\ncomponent:\n  c: {type: json, task: TASK_JQ, input: {json-value: '${variable.n}', jq-filter: '[.i, .f] | tojson'}}\noutput:\n  s: {value: '${c.output.results[0]}'}\n"
    make_pipeline(alice, "numbers", raw_recipe=recipe)
    answer = call(
        pipeline_stub,
        "TriggerNamespacePipeline",
        alice_md,
        namespace_id="alice",
        pipeline_id="numbers",
        data=rows({"n": {"i": 3, "f": 1.5}}),
    )
    assert as_dict(answer)["outputs"] == [{"s": "[3,1.5]"}]


def test_an_output_integer_too_large_for_a_double_arrives_as_its_digits(pipeline_stub, alice_md, alice, make_pipeline):
    """A Struct cannot hold an integer beyond a double's range (a parsed JSON text can
    make one): it arrives as its decimal string, and the call still answers."""
    recipe = "variable:\n  s: {type: string}\ncomponent:\n  c: {type: json, task: TASK_UNMARSHAL, input: {string: '${variable.s}'}}\noutput:\n  n: {value: '${c.output.json}'}\n"
    make_pipeline(alice, "huge", raw_recipe=recipe)
    digits = "1" * 400
    answer = call(
        pipeline_stub,
        "TriggerNamespacePipeline",
        alice_md,
        namespace_id="alice",
        pipeline_id="huge",
        data=rows({"s": digits}),
    )
    assert as_dict(answer)["outputs"] == [{"n": digits}]


def test_trigger_release_runs_the_release_and_records_its_version(pipeline_stub, alice_md, released, api):
    api.patch("/v1beta/namespaces/alice/pipelines/hello", {"rawRecipe": released.raw_recipe.replace("Hello", "Bye")})
    answer = call(
        pipeline_stub,
        "TriggerNamespacePipelineRelease",
        alice_md,
        namespace_id="alice",
        pipeline_id="hello",
        data=rows({"prompt": "r"}),
    )
    assert isinstance(answer, pb.TriggerNamespacePipelineReleaseResponse)
    assert as_dict(answer)["outputs"] == [{"answer": "Hello r"}]
    assert PipelineRun.objects.get().pipeline_version == "v1.0.0"


def test_secrets_per_row(pipeline_stub, alice_md, alice, make_pipeline):
    recipe = "component:\n  c: {type: json, task: TASK_JQ, input: {json-value: '${secret.word}', jq-filter: length}}\noutput:\n  w: {value: '${c.output.results[0]}'}\n"
    make_pipeline(alice, "secretive", raw_recipe=recipe)
    data = rows({})
    data[0].secret["word"] = "per-row"
    answer = call(
        pipeline_stub, "TriggerNamespacePipeline", alice_md, namespace_id="alice", pipeline_id="secretive", data=data
    )
    assert as_dict(answer)["outputs"] == [{"w": 7}]  # the value reached the component, not the answer


# --- async triggers and operations ----------------------------------------------------


def test_trigger_async_then_get_operation(pipeline_stub, alice_md, hello):
    answer = call(
        pipeline_stub,
        "TriggerAsyncNamespacePipeline",
        alice_md,
        namespace_id="alice",
        pipeline_id="hello",
        data=rows({"prompt": "later"}),
    )
    assert answer.operation.name.startswith("operations/") and not answer.operation.done
    operation = wait_done(pipeline_stub, alice_md, answer.operation.name)
    assert operation.WhichOneof("result") == "response"
    assert (
        operation.response.type_url == "type.googleapis.com/pipeline.pipeline.v1beta.TriggerNamespacePipelineResponse"
    )
    response = pb.TriggerNamespacePipelineResponse()
    assert operation.response.Unpack(response)
    assert as_dict(response)["outputs"] == [{"answer": "Hello later"}]
    assert as_dict(response)["metadata"]["traces"]["greet"]["outputs"] == [{"results": ["Hello later"]}]
    run = PipelineRun.objects.get()
    assert str(run.uid) == answer.operation.name.split("/")[1] and run.source == PipelineRun.Source.API
    # The operation's full name is accepted too.
    again = pipeline_stub.GetOperation(pb.GetOperationRequest(operation_id=answer.operation.name), metadata=alice_md)
    assert again.operation.done


def test_trigger_async_release(pipeline_stub, alice_md, released):
    answer = call(
        pipeline_stub,
        "TriggerAsyncNamespacePipelineRelease",
        alice_md,
        namespace_id="alice",
        pipeline_id="hello",
        data=rows({"prompt": "r"}),
    )
    assert isinstance(answer, pb.TriggerAsyncNamespacePipelineReleaseResponse)
    wait_done(pipeline_stub, alice_md, answer.operation.name)
    assert PipelineRun.objects.get().pipeline_version == "v1.0.0"


def test_operation_of_a_cancelled_run_carries_its_error(
    pipeline_stub, alice_md, alice, make_pipeline, slow_server, settings, api
):
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    make_pipeline(alice, "slow", raw_recipe=SLOW_RECIPE)
    answer = call(
        pipeline_stub,
        "TriggerAsyncNamespacePipeline",
        alice_md,
        namespace_id="alice",
        pipeline_id="slow",
        data=rows({"url": f"{slow_server}/sleep/10"}),
    )
    assert api.post(f"/v1beta/{answer.operation.name}:cancel").status_code == 200
    operation = wait_done(pipeline_stub, alice_md, answer.operation.name)
    assert operation.WhichOneof("result") == "error"
    assert (operation.error.code, operation.error.message) == (1, "the run was cancelled")


# --- streaming ----------------------------------------------------------------------


def test_stream_sends_each_output_update_then_the_complete_answer(pipeline_stub, alice_md, hello):
    responses = call(
        pipeline_stub,
        "TriggerNamespacePipelineWithStream",
        alice_md,
        namespace_id="alice",
        pipeline_id="hello",
        data=rows({"prompt": "a"}, {"prompt": "b"}),
    )
    bodies = [as_dict(response) for response in responses]
    assert len(bodies) >= 3  # at least one update per row, then the complete answer
    updates, last = bodies[:-1], bodies[-1]
    assert all("metadata" not in body and len(body["outputs"]) == 2 for body in updates)
    assert {"answer": "Hello a"} in [body["outputs"][0] for body in updates]
    assert last["outputs"] == [{"answer": "Hello a"}, {"answer": "Hello b"}]
    assert last["metadata"]["traces"]["greet"]["statuses"] == ["STATUS_COMPLETED", "STATUS_COMPLETED"]
    assert PipelineRun.objects.get().status == PipelineRun.Status.COMPLETED


def test_stream_hang_up_does_not_stop_the_run(pipeline_stub, alice_md, alice, make_pipeline, slow_server, settings):
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    make_pipeline(alice, "slow", raw_recipe=SLOW_RECIPE)
    request = pb.TriggerNamespacePipelineWithStreamRequest(
        namespace_id="alice", pipeline_id="slow", data=rows({"url": f"{slow_server}/sleep/1"})
    )
    stream = pipeline_stub.TriggerNamespacePipelineWithStream(request, metadata=alice_md)
    time.sleep(0.5)  # the run is under way: the slow server answers after 1 s
    stream.cancel()
    deadline = time.monotonic() + 10
    while not PipelineRun.objects.filter(status=PipelineRun.Status.COMPLETED).exists():
        assert time.monotonic() < deadline, "the run was not recorded after the client hung up"
        time.sleep(0.05)
    assert PipelineRun.objects.get().outputs == [{"status": 200}]


def test_run_over_its_time_limit_is_deadline_exceeded_sync_and_mid_stream(
    pipeline_stub, alice_md, alice, make_pipeline, slow_server, settings, api
):
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    make_pipeline(alice, "slow", raw_recipe=SLOW_RECIPE)
    assert api.patch("/v1beta/namespaces/alice/pipelines/slow", {"maxRunSeconds": 1}).status_code == 200
    data = rows({"url": f"{slow_server}/sleep/3"})
    for method in ("TriggerNamespacePipeline", "TriggerNamespacePipelineWithStream"):
        with pytest.raises(grpc.RpcError) as excinfo:
            call(pipeline_stub, method, alice_md, namespace_id="alice", pipeline_id="slow", data=data)
        assert_status(excinfo, grpc.StatusCode.DEADLINE_EXCEEDED, word="maximum run time of 1 s")
    assert PipelineRun.objects.filter(status=PipelineRun.Status.FAILED).count() == 2


def test_idempotency_key_metadata(pipeline_stub, alice_md, hello):
    metadata = [*alice_md, ("idempotency-key", "k1")]
    fields = {"namespace_id": "alice", "pipeline_id": "hello"}
    first = call(pipeline_stub, "TriggerAsyncNamespacePipeline", metadata, **fields, data=rows({"prompt": "once"}))
    again = call(pipeline_stub, "TriggerAsyncNamespacePipeline", metadata, **fields, data=rows({"prompt": "once"}))
    assert first.operation.name == again.operation.name
    with pytest.raises(grpc.RpcError) as excinfo:
        call(pipeline_stub, "TriggerAsyncNamespacePipeline", metadata, **fields, data=rows({"prompt": "other"}))
    assert_status(excinfo, grpc.StatusCode.ALREADY_EXISTS, word="Idempotency-Key")
    wait_done(pipeline_stub, alice_md, first.operation.name)


# --- errors: the contract's table, as REST answers it --------------------------------


def assert_status(excinfo, code: grpc.StatusCode, rest_response=None, word: str = ""):
    error = excinfo.value
    assert error.code() == code, error.details()
    assert word in error.details()
    if rest_response is not None:
        assert error.details() == rest_response.json()["message"]


@pytest.mark.parametrize("method", TRIGGERS)
def test_unauthenticated(pipeline_stub, method, released, anon):
    rest = anon.post(
        f"/v1beta/namespaces/alice/pipelines/hello/{REST_PATH[method]}", {"data": [{"variable": {"prompt": "x"}}]}
    )
    with pytest.raises(grpc.RpcError) as excinfo:
        call(pipeline_stub, method, namespace_id="alice", pipeline_id="hello", data=rows({"prompt": "x"}))
    assert_status(excinfo, grpc.StatusCode.UNAUTHENTICATED, rest)
    with pytest.raises(grpc.RpcError) as excinfo:
        call(
            pipeline_stub,
            method,
            [("authorization", "Bearer instill_sk_" + "x" * 32)],
            namespace_id="alice",
            pipeline_id="hello",
            data=rows({"prompt": "x"}),
        )
    assert_status(excinfo, grpc.StatusCode.UNAUTHENTICATED, word="unknown or has been deleted")
    assert not PipelineRun.objects.exists()


@pytest.mark.parametrize("method", TRIGGERS)
def test_unknown_pipeline_and_another_users_private_pipeline_are_not_found(
    pipeline_stub, method, alice_md, api, bob, make_pipeline
):
    make_pipeline(bob, "private")
    for namespace, pipeline in (("alice", "nope"), ("bob", "private"), ("nobody", "x")):
        rest = api.post(
            f"/v1beta/namespaces/{namespace}/pipelines/{pipeline}/{REST_PATH[method]}",
            {"data": [{"variable": {"prompt": "x"}}]},
        )
        with pytest.raises(grpc.RpcError) as excinfo:
            call(
                pipeline_stub,
                method,
                alice_md,
                namespace_id=namespace,
                pipeline_id=pipeline,
                data=rows({"prompt": "x"}),
            )
        assert_status(excinfo, grpc.StatusCode.NOT_FOUND, rest)


@pytest.mark.parametrize("method", ["TriggerNamespacePipelineRelease", "TriggerAsyncNamespacePipelineRelease"])
def test_unknown_release_is_not_found(pipeline_stub, method, alice_md, api, hello):
    rest = api.post(
        f"/v1beta/namespaces/alice/pipelines/hello/{REST_PATH[method]}", {"data": [{"variable": {"prompt": "x"}}]}
    )
    with pytest.raises(grpc.RpcError) as excinfo:
        call(pipeline_stub, method, alice_md, namespace_id="alice", pipeline_id="hello", data=rows({"prompt": "x"}))
    assert_status(excinfo, grpc.StatusCode.NOT_FOUND, rest, "v1.0.0")


@pytest.mark.parametrize("method", TRIGGERS)
def test_view_only_public_pipeline_is_permission_denied(pipeline_stub, method, alice_md, api, bob, make_pipeline):
    make_pipeline(bob, "hello", public="ROLE_VIEWER")
    rest = api.post(
        f"/v1beta/namespaces/bob/pipelines/hello/{REST_PATH[method]}", {"data": [{"variable": {"prompt": "x"}}]}
    )
    with pytest.raises(grpc.RpcError) as excinfo:
        call(pipeline_stub, method, alice_md, namespace_id="bob", pipeline_id="hello", data=rows({"prompt": "x"}))
    assert_status(excinfo, grpc.StatusCode.PERMISSION_DENIED, rest)


@pytest.mark.parametrize("method", TRIGGERS)
@pytest.mark.parametrize(
    "variables, word",
    [
        ([{}], "prompt"),  # a missing required variable: 400 here, where Instill answers 500
        ([{"prompt": 42}], "prompt"),  # wrong type
        ([], "data"),  # no rows
        ([{"prompt": "x"}] * 33, "batch size"),
    ],
)
def test_invalid_arguments(pipeline_stub, method, variables, word, alice_md, api, released):
    rest = api.post(
        f"/v1beta/namespaces/alice/pipelines/hello/{REST_PATH[method]}", {"data": [{"variable": v} for v in variables]}
    )
    runs = PipelineRun.objects.count()
    with pytest.raises(grpc.RpcError) as excinfo:
        call(pipeline_stub, method, alice_md, namespace_id="alice", pipeline_id="hello", data=rows(*variables))
    assert_status(excinfo, grpc.StatusCode.INVALID_ARGUMENT, rest, word)
    assert PipelineRun.objects.count() == runs  # nothing runs, nothing is recorded


def test_oversize_message_is_resource_exhausted(pipeline_stub, alice_md, hello):
    """Messages are accepted up to 64 MB; a larger one is refused before it is handled."""
    with pytest.raises(grpc.RpcError) as excinfo:
        call(
            pipeline_stub,
            "TriggerNamespacePipeline",
            alice_md,
            namespace_id="alice",
            pipeline_id="hello",
            data=rows({"prompt": "x" * (65 * 1024 * 1024)}),
        )
    assert excinfo.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert not PipelineRun.objects.exists()


def test_get_operation_errors(pipeline_stub, alice_md, hello, bob_token):
    answer = call(
        pipeline_stub,
        "TriggerAsyncNamespacePipeline",
        alice_md,
        namespace_id="alice",
        pipeline_id="hello",
        data=rows({"prompt": "x"}),
    )
    wait_done(pipeline_stub, alice_md, answer.operation.name)
    uid = answer.operation.name.split("/")[1]
    cases = [
        ([("authorization", f"Bearer {bob_token}")], uid, grpc.StatusCode.NOT_FOUND),  # only the requester or owner
        (alice_md, "not-a-uuid", grpc.StatusCode.NOT_FOUND),
        ((), uid, grpc.StatusCode.UNAUTHENTICATED),
    ]
    for metadata, operation_id, code in cases:
        with pytest.raises(grpc.RpcError) as excinfo:
            pipeline_stub.GetOperation(pb.GetOperationRequest(operation_id=operation_id), metadata=metadata)
        assert excinfo.value.code() == code
    # As the REST trigger paths say it (REST's DRF views word it their own way).
    assert excinfo.value.details() == AUTHENTICATION_REQUIRED


def test_get_operation_with_a_10000_character_id_is_not_found(pipeline_stub, alice_md):
    """A huge operation id is NOT_FOUND, not echoed (echoed, it overflowed the status
    trailer and the client saw RESOURCE_EXHAUSTED)."""
    long_id = "x" * 10_000
    with pytest.raises(grpc.RpcError) as excinfo:
        pipeline_stub.GetOperation(pb.GetOperationRequest(operation_id=long_id), metadata=alice_md, timeout=30)
    assert excinfo.value.code() == grpc.StatusCode.NOT_FOUND
    assert "x" * 100 not in excinfo.value.details()


@pytest.mark.parametrize("field", ["namespace_id", "pipeline_id"])
def test_a_10000_character_pipeline_name_is_not_found(pipeline_stub, alice_md, hello, field):
    """Whatever a message would echo, the status arrives: NOT_FOUND with a bounded message."""
    fields = {"namespace_id": "alice", "pipeline_id": "hello", field: "p" * 10_000}
    with pytest.raises(grpc.RpcError) as excinfo:
        call(pipeline_stub, "TriggerNamespacePipeline", alice_md, data=rows({"prompt": "x"}), **fields)
    assert excinfo.value.code() == grpc.StatusCode.NOT_FOUND
    assert len(excinfo.value.details().encode()) <= 1000


def test_an_idempotency_key_over_255_characters_is_invalid(pipeline_stub, alice_md, hello):
    """As over REST: the key's documented maximum is 255 characters, and nothing runs."""
    metadata = [*alice_md, ("idempotency-key", "k" * 1000)]
    with pytest.raises(grpc.RpcError) as excinfo:
        call(
            pipeline_stub,
            "TriggerAsyncNamespacePipeline",
            metadata,
            namespace_id="alice",
            pipeline_id="hello",
            data=rows({"prompt": "x"}),
        )
    assert_status(excinfo, grpc.StatusCode.INVALID_ARGUMENT, word="Idempotency-Key")
    assert not PipelineRun.objects.exists()


def test_list_component_definitions_answers_as_rest_does(pipeline_stub, anon):
    """Public like the REST list, with the same paging, filter and views."""
    from pipelines.grpc.gen.pipeline.pipeline.v1beta import component_definition_pb2 as cd

    basic = pipeline_stub.ListComponentDefinitions(cd.ListComponentDefinitionsRequest(page_size=2, page=1), timeout=30)
    rest = anon.get("/v1beta/component-definitions?pageSize=2&page=1").json()
    fields = ("name", "uid", "id", "title", "type", "tasks", "releaseStage", "version")
    assert [{f: d[f] for f in fields} for d in as_dict(basic)["componentDefinitions"]] == [
        {f: d[f] for f in fields} for d in rest["componentDefinitions"]
    ]
    assert not any(d.HasField("spec") for d in basic.component_definitions)
    assert (basic.total_size, basic.page, basic.page_size) == (rest["totalSize"], 1, 2)
    full = pipeline_stub.ListComponentDefinitions(
        cd.ListComponentDefinitionsRequest(filter='tasks:"TASK_JQ"', view=cd.ComponentDefinition.VIEW_FULL), timeout=30
    )
    assert [d.id for d in full.component_definitions] == ["json"]
    assert "TASK_JQ" in full.component_definitions[0].spec.data_specifications
    with pytest.raises(grpc.RpcError) as caught:
        pipeline_stub.ListComponentDefinitions(cd.ListComponentDefinitionsRequest(filter="qTitle"), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "filter cannot be parsed" in caught.value.details()
