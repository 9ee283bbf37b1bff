"""A resolved secret value reaches the component that needs it and nothing else.

One live server; a public pipeline whose ``http`` component calls a real local echo
server with ``Authorization: Bearer ${secret.api-key}``, the key in the URL and in the
JSON body, plus a per-row secret override; the echo server sends all of it back, and a
second component's URL embeds the key so the outbound guard's error quotes it. Another
user triggers it on every surface — REST with traces, SSE, the event replay, the
websocket, gRPC (plain, streamed, async), the operation, component runs, the runs
list, the run pages — and neither user sees the plaintext anywhere; the masked ``***``
stands where it was. The server's database (raw table rows, and every byte of its data
directory) and its log hold no plaintext either.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import httpx
import pytest
import websockets
from google.protobuf import json_format

from benchmarks._server import Server
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_pb2 as pb
from pipelines.grpc.gen.pipeline.pipeline.v1beta import pipeline_public_service_pb2_grpc
from tests.e2e.conftest import start_server

pytestmark = pytest.mark.e2e

API_KEY = "sk-e2e-" + secrets.token_hex(16)
ROW_KEY = "row-" + secrets.token_hex(12)
PLAINTEXTS = (API_KEY, ROW_KEY)
PASSWORD = "mallory-password-123"

RECIPE = """\
variable:
  base: {type: string, required: true}
component:
  call:
    type: http
    task: TASK_POST
    input:
      endpoint-url: "${variable.base}/echo?key=${secret.api-key}"
      header:
        Authorization: ["Bearer ${secret.api-key}"]
        X-Row-Key: ["${secret.row-key}"]
      body: {token: "${secret.api-key}", row: "${secret.row-key}"}
  refused:
    type: http
    task: TASK_GET
    input: {endpoint-url: "ftp://127.0.0.1/files?key=${secret.api-key}"}
output:
  echoed: {value: "${call.output.body}"}
  refusal: {value: "${refused.error.message}"}
"""


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    """A real HTTP API stand-in that answers with the request it got (method, path,
    headers, body) as JSON; ``/sleep/<seconds>/...`` answers after that long."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            match = re.match(r"/sleep/([0-9.]+)/", self.path)
            if match:
                time.sleep(float(match.group(1)))
            length = int(self.headers.get("Content-Length") or 0)
            body = json.dumps(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": self.rfile.read(length).decode(),
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = start_server(
        tmp_path_factory.mktemp("secrets-data"), "e2e-secrets", PIPELINE_SIGNUP_ENABLED="true", LOG_LEVEL="DEBUG"
    )
    try:
        yield started
    finally:
        started.stop()


def _sign_in(server: Server, username: str, password: str, *, sign_up: bool = False) -> httpx.Client:
    """A browser-like session (cookies, CSRF token) signed in through the real forms."""
    client = httpx.Client(base_url=server.base_url, timeout=30, follow_redirects=True)
    path = "/accounts/signup/" if sign_up else "/accounts/login/"
    form = client.get(path).text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    fields = {"csrfmiddlewaretoken": csrf, "username": username}
    fields.update({"password1": password, "password2": password} if sign_up else {"password": password})
    answer = client.post(path, data=fields, headers={"Referer": server.base_url + path})
    assert answer.status_code == 200 and "sessionid" in client.cookies, answer.text[:500]
    return client


@pytest.fixture(scope="module")
def owner(server: Server) -> dict[str, str]:
    """The admin owns the secret and a public (anyone may trigger) pipeline using it."""
    headers = {"Authorization": f"Bearer {server.create_token('owner')}"}
    created = httpx.post(
        f"{server.base_url}/v1beta/namespaces/admin/secrets", json={"id": "api-key", "value": API_KEY}, headers=headers
    )
    assert created.status_code == 201, created.text
    pipeline = {
        "id": "leaky",
        "rawRecipe": RECIPE,
        "sharing": {"users": {"*/*": {"enabled": True, "role": "ROLE_EXECUTOR"}}},
    }
    created = httpx.post(f"{server.base_url}/v1beta/namespaces/admin/pipelines", json=pipeline, headers=headers)
    assert created.status_code == 201, created.text
    return headers


@pytest.fixture(scope="module")
def mallory(server: Server, owner: dict[str, str]) -> dict[str, str]:
    """Another user, signed up through the page, with an API token of their own."""
    _sign_in(server, "mallory", PASSWORD, sign_up=True).close()
    token = httpx.post(server.base_url + "/v1beta/tokens", json={"id": "m", "ttl": -1}, auth=("mallory", PASSWORD))
    assert token.status_code == 201, token.text
    return {"Authorization": f"Bearer {token.json()['token']['accessToken']}"}


def _assert_masked(surface: str, text: str, *, expect_mask: bool = True) -> None:
    for plaintext in PLAINTEXTS:
        assert plaintext not in text, f"{surface} shows a secret value"
    if expect_mask:
        assert "***" in text, f"{surface} does not show the masked value; did it carry the run at all?"


def test_no_surface_shows_a_secret_value(
    server: Server, owner: dict[str, str], mallory: dict[str, str], echo_server: str
) -> None:
    """Every way of triggering and reading a run shows ``***`` where the secret was, to
    the user who triggered it and to the owner; the stored rows hold no plaintext."""
    trigger = f"{server.base_url}/v1beta/namespaces/admin/pipelines/leaky/trigger"
    row = {"variable": {"base": echo_server}, "secret": {"row-key": ROW_KEY}}
    run_uids: list[str] = []

    # REST, with full traces.
    answer = httpx.post(trigger, json={"data": [row]}, headers={**mallory, "Instill-Return-Traces": "true"}, timeout=30)
    assert answer.status_code == 200, answer.text
    _assert_masked("REST trigger with traces", answer.text)
    body = answer.json()
    traces = body["metadata"]["traces"]
    assert traces["call"]["inputs"][0]["header"]["Authorization"] == ["Bearer ***"]
    assert traces["call"]["inputs"][0]["endpoint-url"] == f"{echo_server}/echo?key=***"
    echoed = body["outputs"][0]["echoed"]
    assert echoed["headers"]["Authorization"] == "Bearer ***" and echoed["headers"]["X-Row-Key"] == "***"
    assert echoed["path"] == "/echo?key=***" and json.loads(echoed["body"]) == {"token": "***", "row": "***"}
    # The outbound guard's message quotes the URL: the key part is masked.
    refusal = body["outputs"][0]["refusal"]
    assert refusal.startswith("request to 'ftp://127.0.0.1/files?key=***' refused"), refusal
    assert traces["refused"]["error"]["message"] == refusal

    # SSE: the streamed trigger, then the replay of the same run.
    with httpx.stream(
        "POST", trigger, json={"data": [row]}, headers={**mallory, "Accept": "text/event-stream"}, timeout=30
    ) as stream:
        run_uid = stream.headers["Pipeline-Run-Uid"]
        streamed = "".join(stream.iter_text())
    _assert_masked("SSE stream", streamed)
    assert "COMPONENT_INPUT_UPDATED" in streamed and "Bearer ***" in streamed
    replay = httpx.get(f"{server.base_url}/v1beta/pipeline-runs/{run_uid}/events", headers=mallory, timeout=30)
    _assert_masked("SSE replay", replay.text)
    assert "COMPONENT_ERROR_UPDATED" in replay.text
    run_uids.append(run_uid)

    # Async, followed over the websocket, then polled as an operation.
    slow_row = {**row, "variable": {"base": f"{echo_server}/sleep/0.5"}}
    operation = httpx.post(
        trigger + "-async", json={"data": [slow_row]}, headers={**mallory, "Idempotency-Key": "once"}, timeout=30
    ).json()["operation"]
    run_uid = operation["name"].split("/")[1]
    ws_url = server.base_url.replace("http://", "ws://") + f"/ws/runs/{run_uid}/"

    async def follow() -> list[str]:
        async with websockets.connect(ws_url, additional_headers=mallory) as socket:
            return [text async for text in socket]

    messages = asyncio.run(follow())
    _assert_masked("websocket feed", "\n".join(messages))
    assert json.loads(messages[-1])["type"] == "end"
    polled = httpx.get(f"{server.base_url}/v1beta/{operation['name']}", headers=mallory, timeout=30)
    assert polled.json()["operation"]["done"] is True
    _assert_masked("operation", polled.text)
    run_uids.append(run_uid)

    # gRPC: plain (with traces), streamed, async + GetOperation.
    metadata = [("authorization", mallory["Authorization"]), ("instill-return-traces", "true")]
    data = pb.TriggerData()
    data.variable.update({"base": echo_server})
    data.secret["row-key"] = ROW_KEY
    target = {"namespace_id": "admin", "pipeline_id": "leaky", "data": [data]}
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = pipeline_public_service_pb2_grpc.PipelinePublicServiceStub(channel)
        plain = stub.TriggerNamespacePipeline(
            pb.TriggerNamespacePipelineRequest(**target), metadata=metadata, timeout=30
        )
        _assert_masked("gRPC trigger traces", json.dumps(json_format.MessageToDict(plain)))
        assert json_format.MessageToDict(plain)["metadata"]["traces"]["call"]["inputs"][0]["header"][
            "Authorization"
        ] == ["Bearer ***"]
        streamed_grpc = list(
            stub.TriggerNamespacePipelineWithStream(
                pb.TriggerNamespacePipelineWithStreamRequest(**target), metadata=metadata, timeout=30
            )
        )
        _assert_masked("gRPC stream", json.dumps([json_format.MessageToDict(m) for m in streamed_grpc]))
        started = stub.TriggerAsyncNamespacePipeline(
            pb.TriggerAsyncNamespacePipelineRequest(**target), metadata=metadata, timeout=30
        )
        deadline = time.monotonic() + 30
        while True:
            done = stub.GetOperation(
                pb.GetOperationRequest(operation_id=started.operation.name.split("/")[1]), metadata=metadata, timeout=30
            ).operation
            if done.done or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        response = pb.TriggerNamespacePipelineResponse()
        assert done.response.Unpack(response)
        _assert_masked("gRPC operation", json.dumps(json_format.MessageToDict(response)))

    # What each run left behind, for the user who triggered it and for the owner.
    for headers in (mallory, owner):
        listed = httpx.get(
            f"{server.base_url}/v1beta/namespaces/admin/pipelines/leaky/runs", headers=headers, timeout=30
        )
        assert listed.status_code == 200, listed.text
        _assert_masked("runs list", listed.text)
        for run_uid in run_uids:
            components = httpx.get(f"{server.base_url}/v1beta/pipeline-runs/{run_uid}/component-runs", headers=headers)
            assert components.status_code == 200, components.text
            _assert_masked("component runs", components.text)
            assert "Bearer ***" in components.text

    # The run pages, signed in as either user.
    for username, password in (("mallory", PASSWORD), ("admin", server.admin_password)):
        browser = _sign_in(server, username, password)
        try:
            page_list = browser.get("/admin/pipelines/leaky/runs/")
            assert page_list.status_code == 200
            _assert_masked(f"run list page ({username})", page_list.text, expect_mask=False)
            for run_uid in run_uids:
                page = browser.get(f"/admin/pipelines/leaky/runs/{run_uid}/")
                assert page.status_code == 200, page.text[:300]
                _assert_masked(f"run page ({username})", page.text)
        finally:
            browser.close()

    # The stored rows, read raw from the database, then every byte the server wrote.
    database = sqlite3.connect(f"file:{server.data_dir / 'pipeline.sqlite3'}?mode=ro", uri=True)
    try:
        for table in (
            "pipelines_pipelinerun",
            "pipelines_componentrun",
            "pipelines_runevent",
            "pipelines_idempotencykey",
        ):
            rows = database.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - fixed names
            assert rows, f"{table} is empty: the runs were not recorded"
            _assert_masked(f"stored {table}", repr(rows), expect_mask=table != "pipelines_idempotencykey")
        _assert_masked("database dump", "\n".join(database.iterdump()))
    finally:
        database.close()
    for path in Path(server.data_dir).rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(p.encode() in content for p in PLAINTEXTS), f"{path} holds a secret value"
    _assert_masked("server log", server.output(), expect_mask=False)
