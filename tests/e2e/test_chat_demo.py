"""The ``chat`` demo end to end: ``serve`` pointed at an OpenAI-compatible server by
PIPELINE_DEMO_OPENAI_BASE_URL streams the answer over SSE as the server produces it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from benchmarks._server import Server
from tests.e2e.conftest import start_server
from tests.fake_openai import tokens_of

pytestmark = pytest.mark.e2e

CHAT = "/v1beta/namespaces/admin/pipelines/chat/trigger"


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory, _fake_openai_server) -> Iterator[Server]:
    """A server whose chat demo talks to the fake model server on loopback — allowed
    only because it is the configured demo server (PIPELINE_HTTP_ALLOWED_HOSTS is not set)."""
    server = start_server(
        tmp_path_factory.mktemp("chat-data"),
        "e2e-chat-server",
        PIPELINE_DEMO_OPENAI_BASE_URL=_fake_openai_server.fake.base_url,
        PIPELINE_DEMO_OPENAI_MODEL="fake-llama",
        PIPELINE_HTTP_ALLOWED_HOSTS="",
    )
    try:
        yield server
    finally:
        server.stop()


def test_chat_demo_streams_tokens_as_they_come(chat_server, fake_openai):
    """Each token brings a PIPELINE_OUTPUT_UPDATED with the answer so far, arriving as the
    model produces it (not buffered until the end); no key is sent to a local server."""
    fake_openai.chunk_delay = 0.1
    token = chat_server.create_token("chat")
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    body = {"data": [{"variable": {"prompt": "what is streaming"}}]}
    outputs: list[tuple[float, dict]] = []  # (arrival time, PIPELINE_OUTPUT_UPDATED data)
    with httpx.stream("POST", chat_server.base_url + CHAT, json=body, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name == "PIPELINE_OUTPUT_UPDATED":
                outputs.append((time.monotonic(), json.loads(line.removeprefix("data: "))["output"]))

    answer = "You said: what is streaming"
    tokens = tokens_of(answer)
    assert [o["answer"] for _, o in outputs[: len(tokens)]] == ["".join(tokens[: i + 1]) for i in range(len(tokens))]
    assert outputs[-1][1]["answer"] == answer and outputs[-1][1]["usage"]["completion-tokens"] == len(tokens)
    # the fake waits 0.1 s between chunks: buffered events would all arrive at once
    assert outputs[len(tokens) - 1][0] - outputs[0][0] >= 0.08 * (len(tokens) - 1)
    [request] = fake_openai.chat_requests
    assert request.body["model"] == "fake-llama" and request.body["stream"] is True
    assert "authorization" not in request.headers


def test_the_http_component_may_not_reach_the_demo_model_server(chat_server, fake_openai):
    """The demo's model server is open to the openai component only: an http component
    calling it (any path, e.g. a model server's admin API) is refused."""
    token = chat_server.create_token("http-guard")
    headers = {"Authorization": f"Bearer {token}"}
    recipe = (
        "variable:\n  url: {type: string}\n"
        "component:\n  call: {type: http, task: TASK_GET, input: {endpoint-url: '${variable.url}'}}\n"
        "output:\n  status: {value: '${call.output.status-code}'}\n"
    )
    created = httpx.post(
        chat_server.base_url + "/v1beta/namespaces/admin/pipelines",
        json={"id": "poke", "rawRecipe": recipe},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    answer = httpx.post(
        chat_server.base_url + "/v1beta/namespaces/admin/pipelines/poke/trigger",
        json={"data": [{"variable": {"url": fake_openai.base_url + "/models"}}]},
        headers=headers,
        timeout=30,
    ).json()
    trace = answer["metadata"]["traces"]["call"]
    assert trace["statuses"] == ["STATUS_ERROR"] and "refused" in trace["error"]["message"]
