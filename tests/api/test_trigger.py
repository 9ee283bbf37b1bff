"""Synchronous trigger over REST: request forms, validation, response shape, runs recorded."""

from __future__ import annotations

import json

import pytest

from pipelines.models import ComponentRun, PipelineRun

URL = "/v1beta/namespaces/alice/pipelines/{}/trigger"

TYPED = """\
variable:
  s: {type: string, default: "dflt"}
  n: {type: number}
  i: {type: integer}
  b: {type: boolean}
  j: {type: json}
  tags: {type: array:string}
  must: {type: string, required: true}
component:
  echo:
    type: json
    task: TASK_JQ
    input:
      json-value: {s: "${variable.s}", n: "${variable.n}", i: "${variable.i}", b: "${variable.b}", j: "${variable.j}", tags: "${variable.tags}", must: "${variable.must}"}
      jq-filter: "."
output:
  all: {value: "${echo.output.results[0]}"}
"""

FAILING = """\
variable:
  text: {type: string}
component:
  parse:
    type: json
    task: TASK_UNMARSHAL
    input: {string: "${variable.text}"}
  after:
    type: json
    task: TASK_MARSHAL
    input: {json: "${parse.output.json}"}
  independent:
    type: json
    task: TASK_JQ
    input: {json-value: "${variable.text}", jq-filter: "length"}
output:
  parsed: {value: "${after.output.string}"}
  length: {value: "${independent.output.results[0]}"}
"""


def test_hello_trigger_exact_shape(api, hello):
    response = api.post(URL.format("hello"), {"data": [{"variable": {"prompt": "user"}}]})
    assert response.status_code == 200
    body = response.json()
    assert body["outputs"] == [{"answer": "Hello user"}]
    trace = body["metadata"]["traces"]["greet"]
    assert trace["statuses"] == ["STATUS_COMPLETED"]
    assert trace["inputs"] == [] and trace["outputs"] == []
    assert trace["error"] == {"message": ""}
    assert isinstance(trace["computeTimeInSeconds"], float)


def test_return_traces_header_fills_inputs_and_outputs(api, hello):
    response = api.post(
        URL.format("hello"), {"data": [{"variable": {"prompt": "x"}}]}, HTTP_INSTILL_RETURN_TRACES="true"
    )
    trace = response.json()["metadata"]["traces"]["greet"]
    assert trace["inputs"][0]["json-value"] == "x" and trace["outputs"][0]["results"] == ["Hello x"]


def test_legacy_inputs_and_batches(api, hello):
    body = api.post(URL.format("hello"), {"inputs": [{"prompt": "a"}, {"prompt": "b"}]}).json()
    assert body["outputs"] == [{"answer": "Hello a"}, {"answer": "Hello b"}]
    assert body["metadata"]["traces"]["greet"]["statuses"] == ["STATUS_COMPLETED"] * 2


def test_batch_limit(api, hello):
    rows = [{"variable": {"prompt": str(i)}} for i in range(33)]
    response = api.post(URL.format("hello"), {"data": rows})
    assert response.status_code == 400 and "32" in response.json()["message"]
    assert api.post(URL.format("hello"), {"data": rows[:32]}).status_code == 200


@pytest.mark.parametrize(
    "body, status, word",
    [
        ({}, 400, "data"),
        ({"data": []}, 400, "data"),
        ({"data": "x"}, 400, "data"),
        ({"data": ["x"]}, 400, "data[0]"),
        ({"data": [{"variable": []}]}, 400, "variable"),
        ({"data": [{"variable": {}}]}, 400, "prompt"),
        ({"data": [{"variable": {"prompt": 42}}]}, 400, "prompt"),
        ({"data": [{"variable": {"prompt": "x"}, "secret": {"k": 1}}]}, 400, "secret"),
    ],
)
def test_bad_trigger_bodies(api, hello, body, status, word):
    response = api.post(URL.format("hello"), body)
    assert response.status_code == status, response.json()
    payload = response.json()
    assert payload["code"] == 3 and word in payload["message"] and payload["details"] == []


def test_malformed_json(api, hello):
    response = api.post(URL.format("hello"), "{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.json()["message"]


def test_unknown_pipeline_404(api, alice):
    response = api.post(URL.format("nope"), {"data": [{"variable": {}}]})
    assert response.status_code == 404 and response.json()["code"] == 5


def test_unauthenticated_trigger_401(anon, hello):
    response = anon.post(URL.format("hello"), {"data": [{"variable": {"prompt": "x"}}]})
    assert response.status_code == 401 and response.json()["code"] == 16


def test_get_on_trigger_is_405(api, hello):
    assert api.get(URL.format("hello")).status_code == 405


def test_types_defaults_and_undeclared_keys(api, alice, make_pipeline):
    make_pipeline(alice, "typed", raw_recipe=TYPED)
    variables = {"n": 1.5, "i": 3, "b": True, "j": {"k": [1]}, "tags": ["a", "b"], "must": "m", "extra": "ignored"}
    body = api.post(URL.format("typed"), {"data": [{"variable": variables}]}).json()
    out = body["outputs"][0]["all"]
    assert out == {"s": "dflt", "n": 1.5, "i": 3, "b": True, "j": {"k": [1]}, "tags": ["a", "b"], "must": "m"}


@pytest.mark.parametrize(
    "variables, word",
    [
        ({"must": "m", "n": "1"}, "n"),
        ({"must": "m", "i": 1.5}, "i"),
        ({"must": "m", "b": "yes"}, "b"),
        ({"must": "m", "tags": ["a", 1]}, "tags"),
        ({"must": "m", "tags": "a"}, "tags"),
        ({}, "must"),
    ],
)
def test_wrong_types_name_the_variable(api, alice, make_pipeline, variables, word):
    make_pipeline(alice, "typed", raw_recipe=TYPED)
    response = api.post(URL.format("typed"), {"data": [{"variable": variables}]})
    assert response.status_code == 400
    assert f'"{word}"' in response.json()["message"] or word in response.json()["message"]


def test_component_failure_is_200_with_error_trace_and_failed_run(api, alice, make_pipeline):
    """A failing component does not fail the call: its trace errors, dependants skip, others finish."""
    make_pipeline(alice, "fragile", raw_recipe=FAILING)
    response = api.post(URL.format("fragile"), {"data": [{"variable": {"text": "{not json"}}]})
    assert response.status_code == 200
    body = response.json()
    traces = body["metadata"]["traces"]
    assert traces["parse"]["statuses"] == ["STATUS_ERROR"] and traces["parse"]["error"]["message"]
    assert traces["after"]["statuses"] == ["STATUS_SKIPPED"]
    assert traces["independent"]["statuses"] == ["STATUS_COMPLETED"]
    assert body["outputs"] == [{"parsed": None, "length": 9}]
    run = PipelineRun.objects.get()
    assert run.status == PipelineRun.Status.FAILED and "parse" in run.error
    statuses = dict(ComponentRun.objects.values_list("component_id", "status"))
    assert statuses == {
        "parse": "RUN_STATUS_FAILED",
        "after": "RUN_STATUS_SKIPPED",
        "independent": "RUN_STATUS_COMPLETED",
    }


def test_every_trigger_is_recorded(api, hello, alice):
    api.post(URL.format("hello"), {"data": [{"variable": {"prompt": "rec"}}]})
    run = PipelineRun.objects.get()
    assert run.status == PipelineRun.Status.COMPLETED and run.pipeline_version == "latest"
    assert run.source == PipelineRun.Source.API and run.requester == alice
    assert run.inputs == [{"prompt": "rec"}] and run.outputs == [{"answer": "Hello rec"}]
    assert run.recipe_snapshot["component"]["greet"]["task"] == "TASK_JQ"
    assert run.start_time and run.complete_time and run.total_duration_ms is not None
    assert ComponentRun.objects.get().status == "RUN_STATUS_COMPLETED"


def test_console_source_header(api, hello):
    api.post(
        URL.format("hello"), {"data": [{"variable": {"prompt": "x"}}]}, HTTP_INSTILL_USER_AGENT="RUN_SOURCE_CONSOLE"
    )
    assert PipelineRun.objects.get().source == PipelineRun.Source.CONSOLE


def test_secrets_resolve_from_owner_namespace_and_row_override(api, alice, make_pipeline, bob_api):
    """The owner's secret (or the row's override) reaches the component; the answer only
    shows what the component made of it (here its length), never the value."""
    raw = """\
component:
  show:
    type: json
    task: TASK_JQ
    input: {json-value: "${secret.greeting}", jq-filter: "length"}
output:
  value: {value: "${show.output.results[0]}"}
"""
    make_pipeline(alice, "secretive", raw_recipe=raw, public="ROLE_EXECUTOR")
    assert api.post("/v1beta/namespaces/alice/secrets", {"id": "greeting", "value": "from-alice"}).status_code == 201
    assert api.post(URL.format("secretive"), {"data": [{"variable": {}}]}).json()["outputs"] == [{"value": 10}]
    # another user triggering a public pipeline still uses the owner's secret
    assert bob_api.post(URL.format("secretive"), {"data": [{"variable": {}}]}).json()["outputs"] == [{"value": 10}]
    override = {"data": [{"variable": {}, "secret": {"greeting": "per-row"}}]}
    assert api.post(URL.format("secretive"), override).json()["outputs"] == [{"value": 7}]


def test_missing_secret_fails_component(api, alice, make_pipeline):
    raw = "component:\n  show: {type: json, task: TASK_JQ, input: {json-value: '${secret.absent}', jq-filter: '.'}}\n"
    make_pipeline(alice, "nosecret", raw_recipe=raw)
    body = api.post(URL.format("nosecret"), {"data": [{"variable": {}}]}).json()
    assert body["metadata"]["traces"]["show"]["statuses"] == ["STATUS_ERROR"]
    assert "secret.absent" in body["metadata"]["traces"]["show"]["error"]["message"]


def test_oversize_body_is_413(api, hello, settings):
    settings.PIPELINE_MAX_REQUEST_BYTES = 1000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = json.dumps({"data": [{"variable": {"prompt": "x" * 2000}}]})
    response = api.post(URL.format("hello"), big, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == 8 and "MB" in response.json()["message"]


def test_iterator_condition_demo(api, alice):
    """The chunk-and-jq demo: chunks, counts words per chunk in an iterator, sums under a condition."""
    from pipelines.demo import CHUNK_AND_JQ
    from pipelines.services.pipelines import pipeline_create

    pipeline_create(namespace=alice.namespace, pipeline_id="chunky", raw_recipe=CHUNK_AND_JQ)
    text = " ".join(f"word{i}" for i in range(60))
    body = api.post(URL.format("chunky"), {"data": [{"variable": {"text": text, "chunk-size": 100}}]}).json()
    out = body["outputs"][0]
    assert len(out["chunks"]) > 1 and sum(c["words"] for c in out["chunks"]) == 60
    assert out["summary"] == {"chunks": len(out["chunks"]), "words": 60}
    skipped = api.post(URL.format("chunky"), {"data": [{"variable": {"text": text, "mode": "full"}}]}).json()
    assert skipped["outputs"][0]["summary"] is None
    assert skipped["metadata"]["traces"]["total"]["statuses"] == ["STATUS_SKIPPED"]


LONG_LOOP = """\
variable:
  n: {type: integer}
component:
  loop:
    type: iterator
    range: [0, "${variable.n}"]
    component:
      up: {type: json, task: TASK_MARSHAL, input: {json: "${loop.element}"}}
    output-elements:
      s: "${up.output.string}"
output:
  s: {value: "${loop.output.s}"}
"""


def test_an_iterator_over_more_than_max_iterations_fails_at_once(api, alice, make_pipeline, settings):
    """A million-element iterator is refused before it starts (STATUS_ERROR naming
    PIPELINE_MAX_ITERATIONS) instead of stalling the server; within the limit it runs."""
    settings.PIPELINE_MAX_ITERATIONS = 100
    make_pipeline(alice, "loop", raw_recipe=LONG_LOOP)
    response = api.post(URL.format("loop"), {"data": [{"variable": {"n": 1_000_000}}]})
    assert response.status_code == 200
    trace = response.json()["metadata"]["traces"]["loop"]
    assert trace["statuses"] == ["STATUS_ERROR"]
    assert trace["error"]["message"] == (
        "the iterator has 1,000,000 elements, more than the limit of 100 (PIPELINE_MAX_ITERATIONS)"
    )
    assert PipelineRun.objects.get().status == PipelineRun.Status.FAILED
    within = api.post(URL.format("loop"), {"data": [{"variable": {"n": 3}}]})
    assert within.json()["outputs"] == [{"s": ["0", "1", "2"]}]


def test_secret_overrides_are_bounded(api, hello):
    """Every per-row secret override is masked out of what the run hands out, so their
    number and length are bounded: over either, 400 naming the field."""
    url = URL.format("hello")
    many = {"data": [{"variable": {"prompt": "x"}, "secret": {f"s{i}": f"value-{i}" for i in range(33)}}]}
    resp = api.post(url, many, format="json")
    assert resp.status_code == 400 and "data[0].secret" in resp.json()["message"]
    long = {"data": [{"variable": {"prompt": "x"}, "secret": {"key": "v" * 16_385}}]}
    resp = api.post(url, long, format="json")
    assert resp.status_code == 400 and "data[0].secret.key" in resp.json()["message"]
    ok = {"data": [{"variable": {"prompt": "x"}, "secret": {f"s{i}": "v" * 16_384 for i in range(32)}}]}
    assert api.post(url, ok, format="json").status_code == 200
