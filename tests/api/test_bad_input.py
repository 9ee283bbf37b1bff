"""Bad input answers 4xx in the error shape, naming the parameter, never 500 (issue 13 §4)."""

from __future__ import annotations

import base64

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from instill_site.asgi import application
from pipelines.models import ApiToken, IdempotencyKey, PipelineRun

BASE = "/v1beta/namespaces/alice/pipelines/hello"
NOT_A_UUID = "a" * 36  # 36 hex digits: the shape of a run id, but not a UUID
HUGE = "9" * 20
ROW = {"data": [{"variable": {"prompt": "x"}}]}


def assert_error(response, status: int, *words: str) -> str:
    """The answer is ``status`` in the API's error shape; returns its message."""
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    for word in words:
        assert word in body["message"], body["message"]
    return body["message"]


@pytest.fixture
def run(api, hello) -> PipelineRun:
    assert api.post(f"{BASE}/trigger", ROW).status_code == 200
    return PipelineRun.objects.get()


@pytest.mark.parametrize("ttl", [2**31, 10**12, 10**30])
def test_token_ttl_too_large_is_400_naming_ttl(api, ttl):
    """A ttl past Instill's int32 of seconds is refused by name (it overflowed the expiry date: 500)."""
    assert_error(api.post("/v1beta/tokens", {"id": "far", "ttl": ttl}), 400, "ttl")
    assert not ApiToken.objects.filter(slug="far").exists()
    assert api.post("/v1beta/tokens", {"id": "far", "ttl": 2**31 - 1}).status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"{BASE}/runs/{NOT_A_UUID}/component-runs"),
        ("get", f"/v1beta/pipeline-runs/{NOT_A_UUID}/component-runs"),
        ("get", f"/v1beta/pipeline-runs/{NOT_A_UUID}/events"),
        ("get", f"/v1beta/pipeline-runs/{NOT_A_UUID}/files/x.txt"),
        ("get", f"/v1beta/operations/{NOT_A_UUID}"),
        ("post", f"/v1beta/operations/{NOT_A_UUID}:cancel"),
        ("post", f"/v1beta/operations/{NOT_A_UUID}/cancel"),
        ("get", f"/alice/pipelines/hello/runs/{NOT_A_UUID}/"),
    ],
)
def test_run_ids_that_are_not_uuids_are_not_found(api, run, method, path):
    """Every route that takes a run or operation id answers 404 for one that is not a UUID."""
    response = getattr(api, method)(path)
    assert response.status_code == 404, response.content[:300]
    if path.startswith("/v1beta/"):
        assert_error(response, 404)


def test_editor_ignores_a_prefill_run_id_that_is_not_a_uuid(client, alice, run):
    """``?inputs=<not a uuid>`` on the editor is an empty form, not an error page."""
    client.force_login(alice)
    assert client.get(f"/alice/pipelines/hello/editor?inputs={NOT_A_UUID}").status_code == 200


def test_operation_not_found_does_not_echo_a_long_id(api):
    """A 10,000-character operation id is not found, and the message does not repeat it."""
    message = assert_error(api.get(f"/v1beta/operations/{'x' * 10_000}"), 404, "operation")
    assert len(message) < 200


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        (f"{BASE}/runs", {"page": HUGE}, "page"),
        (f"{BASE}/runs", {"page": "-1"}, "page"),
        (f"{BASE}/runs", {"page": "1e3"}, "page"),
        (f"{BASE}/runs", {"pageSize": HUGE}, "pageSize"),
        (f"{BASE}/runs", {"pageSize": "x"}, "pageSize"),
        ("/v1beta/pipelines", {"pageSize": HUGE}, "pageSize"),
        ("/v1beta/tokens", {"pageSize": "9" * 5000}, "pageSize"),
        ("/v1beta/namespaces/alice/secrets", {"pageSize": HUGE}, "pageSize"),
        (f"{BASE}/releases", {"pageSize": HUGE}, "pageSize"),
    ],
)
def test_page_parameters_out_of_range_are_400(api, run, path, params, name):
    """Page numbers and sizes are int32 whole numbers, as in Instill; anything else is a 400 naming them."""
    assert_error(api.get(path, params), 400, name)


def test_component_runs_page_out_of_range_is_400(api, run):
    assert_error(api.get(f"/v1beta/pipeline-runs/{run.uid}/component-runs", {"page": HUGE}), 400, "page")
    assert_error(api.get(f"{BASE}/runs/{run.uid}/component-runs", {"pageSize": HUGE}), 400, "pageSize")


def test_page_size_over_100_is_clamped(api, run):
    """Within int32, a pageSize over the maximum gives the maximum, as Instill does."""
    assert api.get(f"{BASE}/runs", {"pageSize": 2**31 - 1}).json()["pageSize"] == 100


def token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "forged", [token("offset:" + HUGE), token("offset:-10"), token("offset:" + "9" * 5000), token("10"), "%%%"]
)
def test_forged_page_tokens_are_400(api, hello, forged):
    """A pageToken that this server did not give out is a 400 naming it, whatever offset it claims."""
    for path in ("/v1beta/pipelines", f"{BASE}/releases", "/v1beta/tokens", "/v1beta/namespaces/alice/secrets"):
        assert_error(api.get(path, {"pageToken": forged}), 400, "pageToken")


def test_a_run_file_name_of_5000_characters_is_404(api, run):
    """A file name longer than any stored one is not found (the file system refused it: 500),
    and the message does not repeat all of it."""
    message = assert_error(api.get(f"/v1beta/pipeline-runs/{run.uid}/files/{'x' * 5000}"), 404, "not found")
    assert len(message) < 400


@pytest.mark.parametrize(
    ("params", "headers", "name"), [({"after": HUGE}, {}, "after"), ({}, {"HTTP_LAST_EVENT_ID": HUGE}, "Last-Event-ID")]
)
def test_event_replay_position_out_of_range_is_400(api, run, params, headers, name):
    assert_error(api.get(f"/v1beta/pipeline-runs/{run.uid}/events", params, **headers), 400, name)


@pytest.mark.django_db(transaction=True)
async def test_websocket_after_out_of_range_closes_as_bad_request(alice_token, hello, api):
    await database_sync_to_async(api.post)(f"{BASE}/trigger", ROW)
    uid = await database_sync_to_async(lambda: str(PipelineRun.objects.get().uid))()
    communicator = WebsocketCommunicator(
        application, f"/ws/runs/{uid}/?after={HUGE}", headers=[(b"authorization", f"Bearer {alice_token}".encode())]
    )
    await communicator.connect()
    message = await communicator.receive_output(10)
    assert message == {"type": "websocket.close", "code": 4400}


@pytest.mark.parametrize("path", [f"{BASE}/trigger", f"{BASE}/trigger-async"])
def test_idempotency_key_over_255_characters_is_400(api, hello, path):
    """A key longer than the documented 255 characters is refused by name, and nothing runs."""
    assert_error(api.post(path, ROW, HTTP_IDEMPOTENCY_KEY="k" * 10_000), 400, "Idempotency-Key", "255")
    assert not PipelineRun.objects.exists() and not IdempotencyKey.objects.exists()
    assert api.post(path, ROW, HTTP_IDEMPOTENCY_KEY="k" * 255).status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "path", [f"/ws/runs/{NOT_A_UUID}/", f"/ws/runs/{'x' * 5000}/", "/ws/no-such-thing/", "/elsewhere"]
)
async def test_websocket_paths_that_name_no_run_close_as_not_found(alice_token, path):
    """A websocket to a run id that is not a UUID, or to no route at all, is accepted and
    closed 4404 like an unknown run (it was an exception in the router: a 500 handshake)."""
    communicator = WebsocketCommunicator(
        application, path, headers=[(b"authorization", f"Bearer {alice_token}".encode())]
    )
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(10) == {"type": "websocket.close", "code": 4404}
