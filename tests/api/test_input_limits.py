"""Limits at the door, through the API: JSON depth, huge numbers, invalid Unicode,
recipe size after YAML alias expansion, content types — each a 4xx in the error shape
naming the field or the limit — and readers that survive rows stored before."""

from __future__ import annotations

import json

import pytest
from django.test import AsyncClient
from django.test.client import MULTIPART_CONTENT

from pipelines.models import ComponentRun, Pipeline, PipelineRun, RunEvent
from tests.api.test_run_events import receive_all, ws
from tests.api.test_trigger_lane import call, handlers  # noqa: F401 - the fixture, both ASGI handlers
from tests.engine.test_input_limits import alias_bomb

BASE = "/v1beta/namespaces/alice/pipelines"
TRIGGER = f"{BASE}/hello/trigger"


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    return body


# --- trigger bodies -------------------------------------------------------------


def trigger_raw(api, body: bytes | str, content_type: str = "application/json", path: str = TRIGGER):
    return api.post(path, body, content_type=content_type)


@pytest.mark.parametrize("path", [TRIGGER, f"{BASE}/hello/trigger-async"])
def test_trigger_nested_100k_levels_is_400_naming_the_limit(api, hello, path):
    """100,000 nested lists in a trigger body (a RecursionError 500 before) answer 400
    naming PIPELINE_MAX_JSON_DEPTH; so do 101 levels, one over the default."""
    for body in (
        '{"data": [{"variable": {"prompt": ' + deep(100_000) + "}}]}",
        '{"data": [{"variable": {"prompt": "x", "j": ' + deep(97) + "}}]}",
    ):
        body_json = error_of(trigger_raw(api, body, path=path), 400)
        assert body_json["code"] == 3 and "PIPELINE_MAX_JSON_DEPTH" in body_json["message"]
    assert not PipelineRun.objects.exists()


def test_trigger_5000_digit_integer_is_400(api, hello):
    """A 5,000-digit integer (Python's int-string limit: a 500 before) answers 400."""
    body = '{"data": [{"variable": {"prompt": ' + "9" * 5000 + "}}]}"
    assert "too large" in error_of(trigger_raw(api, body), 400)["message"]


def test_trigger_lone_surrogate_is_400_naming_the_field_and_nothing_is_stored(api, hello):
    """``"\\ud800"`` in a trigger is refused naming the field; no run is recorded."""
    body = '{"data": [{"variable": {"prompt": "a\\ud800b"}}]}'
    message = error_of(trigger_raw(api, body), 400)["message"]
    assert "data[0].variable.prompt" in message and "Unicode" in message
    raw = b'{"data": [{"variable": {"prompt": "\xed\xa0\x80"}}]}'  # the same as raw (CESU) bytes
    assert "data[0].variable.prompt" in error_of(trigger_raw(api, raw), 400)["message"]
    assert not PipelineRun.objects.exists()


def test_trigger_with_emoji_and_64_bit_numbers_still_works(api, hello):
    """Escaped surrogate pairs (emoji) and big-but-sane numbers are not caught by the checks."""
    response = trigger_raw(api, '{"data": [{"variable": {"prompt": "\\ud83d\\ude00", "n": 9007199254740993}}]}')
    assert response.status_code == 200
    assert response.json()["outputs"] == [{"answer": "Hello \U0001f600"}]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_trigger_with_a_non_json_content_type_is_415(api, hello, content_type):
    """A body declared as anything but JSON (or multipart) answers 415 telling how to
    send it — ``curl -d`` without a Content-Type header sends a form body."""
    body = error_of(trigger_raw(api, json.dumps({"data": [{"variable": {"prompt": "x"}}]}), content_type), 415)
    assert "application/json" in body["message"] and content_type in body["message"]
    assert not PipelineRun.objects.exists()


def test_trigger_without_a_content_type_or_with_a_json_variant_is_read_as_json(api, hello):
    """No Content-Type at all, ``application/json; charset=utf-8`` and ``+json`` types
    are JSON, as before."""
    body = json.dumps({"data": [{"variable": {"prompt": "x"}}]})
    for content_type in ("", "application/json; charset=utf-8", "application/vnd.api+json"):
        response = trigger_raw(api, body, content_type)
        assert response.status_code == 200, (content_type, response.content)


def test_trigger_limits_hold_on_the_lane_and_the_full_cycle(handlers, alice_token, hello):  # noqa: F811
    """The trigger lane and Django's full request cycle answer the same 4xx for deep
    nesting, lone surrogates and non-JSON bodies."""
    headers = {"authorization": f"Bearer {alice_token}", "content-type": "application/json"}
    cases = [
        ('{"data": [{"variable": {"prompt": ' + deep(5000) + "}}]}", headers, 400, "PIPELINE_MAX_JSON_DEPTH"),
        ('{"data": [{"variable": {"prompt": "\\udc00"}}]}', headers, 400, "data[0].variable.prompt"),
        ('{"data": []}', {**headers, "content-type": "text/plain"}, 415, "application/json"),
    ]
    for body, sent, status, named in cases:
        answers = [call(handler, "POST", TRIGGER, body.encode(), sent) for handler in handlers]
        for got_status, _, got_body in answers:
            assert got_status == status
            assert named in json.loads(got_body)["message"]
        assert answers[0][2] == answers[1][2]


def test_multipart_json_fields_meet_the_same_limits(api, hello):
    """A multipart text field is read as JSON within the same limits: too deep or a
    lone surrogate answers 400 naming the form field; plain text is still text."""
    url = TRIGGER
    answer = api.post(url, {"variables[0].prompt": deep(5000)}, content_type=MULTIPART_CONTENT)
    body = error_of(answer, 400)
    assert "variables[0].prompt" in body["message"] and "PIPELINE_MAX_JSON_DEPTH" in body["message"]
    answer = api.post(url, {"variables[0].prompt": '{"k": "\\ud800"}'}, content_type=MULTIPART_CONTENT)
    assert "variables[0].prompt.k" in error_of(answer, 400)["message"]
    answer = api.post(url, {"variables[0].prompt": "9" * 5000}, content_type=MULTIPART_CONTENT)
    assert "too large" in error_of(answer, 400)["message"]
    assert api.post(url, {"variables[0].prompt": "plain text"}, content_type=MULTIPART_CONTENT).status_code == 200


# --- API bodies and recipes -------------------------------------------------------


def test_api_body_nested_100k_levels_is_400(api, alice):
    """Creating a pipeline with a 100,000-level body (a 500 before) answers 400."""
    body = '{"id": "deep", "recipe": {"x": ' + deep(100_000) + "}}"
    assert "PIPELINE_MAX_JSON_DEPTH" in error_of(api.post(f"{BASE}", body), 400)["message"]
    body = '{"id": "deep", "description": ' + "9" * 5000 + "}"
    assert "too large" in error_of(api.post(f"{BASE}", body), 400)["message"]
    assert not Pipeline.objects.exists()


def test_api_body_lone_surrogate_is_400_naming_the_field(api, alice):
    message = error_of(api.post(f"{BASE}", '{"id": "p", "description": "\\ud800"}'), 400)["message"]
    assert "description" in message and "Unicode" in message
    assert not Pipeline.objects.exists()


def test_api_body_of_another_content_type_is_415(api, alice):
    """The DRF endpoints read JSON only."""
    error_of(api.post(f"{BASE}", "id=p", content_type="application/x-www-form-urlencoded"), 415)


def test_yaml_alias_bomb_is_400_and_not_stored(api, alice, hello):
    """A 332-byte YAML alias bomb in ``rawRecipe`` is refused naming
    PIPELINE_MAX_RECIPE_BYTES, on create and on update; nothing changes."""
    bomb = alias_bomb(9)
    assert len(bomb) < 400
    body = error_of(api.post(f"{BASE}", {"id": "bomb", "rawRecipe": bomb}), 400)
    assert "PIPELINE_MAX_RECIPE_BYTES" in body["message"]
    before = Pipeline.objects.get(slug="hello").raw_recipe
    body = error_of(api.patch(f"{BASE}/hello", {"rawRecipe": bomb}), 400)
    assert "PIPELINE_MAX_RECIPE_BYTES" in body["message"]
    assert Pipeline.objects.get(slug="hello").raw_recipe == before
    assert list(Pipeline.objects.values_list("slug", flat=True)) == ["hello"]
    answer = api.post(f"{BASE}/hello/validate", {"rawRecipe": bomb})
    assert answer.status_code == 200 and "PIPELINE_MAX_RECIPE_BYTES" in answer.json()["errors"][0]["error"]


def test_a_bomb_stored_before_the_limit_is_not_copied_or_run(api, hello):
    """A recipe saved before the limit existed (written to the row here) cannot be
    cloned, released or triggered: each answers 400 naming the limit."""
    Pipeline.objects.filter(slug="hello").update(raw_recipe=alias_bomb(9))
    answers = [
        api.post(f"{BASE}/hello/clone", {"targetNamespaceId": "alice", "targetPipelineId": "copy"}),
        api.post(f"{BASE}/hello/releases", {"id": "v1.0.0"}),
        api.post(TRIGGER, {"data": [{"variable": {"prompt": "x"}}]}),
    ]
    for answer in answers:
        assert "PIPELINE_MAX_RECIPE_BYTES" in error_of(answer, 400)["message"]
    assert list(Pipeline.objects.values_list("slug", flat=True)) == ["hello"]


def test_recipe_size_limit_is_a_setting(api, alice, settings):
    """PIPELINE_MAX_RECIPE_BYTES bounds the recipe text as sent."""
    settings.PIPELINE_MAX_RECIPE_BYTES = 2000
    recipe = "version: v1beta\ndescription: " + "x" * 3000 + "\n"
    body = error_of(api.post(f"{BASE}", {"id": "big", "rawRecipe": recipe}), 400)
    assert "2000-byte limit (PIPELINE_MAX_RECIPE_BYTES)" in body["message"]


# --- readers of rows stored before the checks --------------------------------------

POISON = "a\ud800b"


def poison_the_run(run: PipelineRun) -> None:
    """Write a lone surrogate into the run's rows as the old code stored it: Django's
    JSONField escapes it (``"\\ud800"``), the event log holds the escape in its text."""
    PipelineRun.objects.filter(pk=run.pk).update(
        inputs=[{"prompt": POISON}],
        outputs=[{"answer": f"Hello {POISON}"}],
        traces={"greet": {"inputs": [{"prompt": POISON}]}},
    )
    ComponentRun.objects.filter(run=run).update(inputs=[{"prompt": POISON}], outputs=[{"text": POISON}])
    for event in RunEvent.objects.filter(run=run):
        event.payload = event.payload.replace('"Hello x"', '"Hello a\\ud800b"')
        event.save(update_fields=["payload"])
    assert "\\ud800" in RunEvent.objects.filter(run=run, payload__contains="ud800").first().payload


@pytest.fixture
def poisoned_run(api, hello):
    assert api.post(TRIGGER, {"data": [{"variable": {"prompt": "x"}}]}).status_code == 200
    run = PipelineRun.objects.get()
    poison_the_run(run)
    return run


def test_runs_list_operation_and_component_runs_survive_a_stored_lone_surrogate(api, poisoned_run):
    """The runs list, the operation and the component runs answer 200 with U+FFFD where
    a stored lone surrogate was (they answered 500 for good before)."""
    runs = api.get(f"{BASE}/hello/runs")
    assert runs.status_code == 200
    assert runs.json()["pipelineRuns"][0]["inputs"] == [{"prompt": "a\ufffdb"}]
    operation = api.get(f"/v1beta/operations/{poisoned_run.uid}")
    assert operation.status_code == 200
    assert operation.json()["operation"]["response"]["outputs"] == [{"answer": "Hello a\ufffdb"}]
    component_runs = api.get(f"/v1beta/pipeline-runs/{poisoned_run.uid}/component-runs")
    assert component_runs.status_code == 200
    assert component_runs.json()["componentRuns"][0]["inputs"] == [{"prompt": "a\ufffdb"}]


def test_run_page_survives_a_stored_lone_surrogate(client, alice, poisoned_run):
    """The run page (inputs, outputs, event log) renders, U+FFFD in place."""
    from tests.conftest import PASSWORD

    assert client.login(username="alice", password=PASSWORD)
    page = client.get(f"/alice/pipelines/hello/runs/{poisoned_run.uid}/")
    assert page.status_code == 200
    assert "a\ufffdb" in page.content.decode()


@pytest.mark.django_db(transaction=True)
async def test_event_replay_survives_a_stored_lone_surrogate(alice_token, poisoned_run):
    """The event replay streams every stored event, the poisoned one included."""
    client = AsyncClient()
    response = await client.get(
        f"/v1beta/pipeline-runs/{poisoned_run.uid}/events", headers={"Authorization": f"Bearer {alice_token}"}
    )
    assert response.status_code == 200
    text = b"".join([chunk async for chunk in response.streaming_content]).decode()
    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    assert len(events) == 8
    assert {"answer": "Hello a\ufffdb"} in [e.get("output") for e in events]


@pytest.mark.django_db(transaction=True)
async def test_websocket_replay_survives_a_stored_lone_surrogate(alice_token, poisoned_run):
    """The websocket feed replays the poisoned run to its end, U+FFFD in place."""
    communicator = ws(str(poisoned_run.uid), alice_token)
    connected, _ = await communicator.connect()
    assert connected
    messages, code = await receive_all(communicator)
    assert code == 1000
    events = [m for m in messages if m["type"] == "event"]
    assert len(events) == 8
    assert {"answer": "Hello a\ufffdb"} in [m["data"].get("output") for m in events]
