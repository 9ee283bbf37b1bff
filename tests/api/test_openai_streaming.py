"""An openai pipeline triggered with ``Accept: text/event-stream``: the answer streams token by token."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from pipelines.services.secrets import secret_create
from tests.fake_openai import tokens_of

# Committed data: the async trigger path reads it from its own database threads.
pytestmark = pytest.mark.django_db(transaction=True)

BASE = "/v1beta/namespaces/alice/pipelines"

RECIPE = """\
variable:
  prompt: {type: string, required: true}
component:
  llm:
    type: openai
    task: TASK_TEXT_GENERATION
    input: {model: fake-model, prompt: "${variable.prompt}"}
    setup: {api-key: "${secret.openai-key}", base-url: "BASE_URL"}
output:
  answer: {value: "${llm.output.texts[0]}"}
  usage: {value: "${llm.output.usage}"}
"""


@pytest.fixture
def chat(alice, alice_token, make_pipeline, fake_openai, settings):
    """Alice's pipeline "chat" calling the fake server, and a client that triggers it streamed."""
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    make_pipeline(alice, "chat", raw_recipe=RECIPE.replace("BASE_URL", fake_openai.base_url))
    client = AsyncClient()
    headers = {"Authorization": f"Bearer {alice_token}", "Accept": "text/event-stream"}

    async def trigger(row: dict) -> list[dict]:
        response = await client.post(
            f"{BASE}/chat/trigger", {"data": [row]}, content_type="application/json", headers=headers
        )
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/event-stream")
        return parse_sse(b"".join([chunk async for chunk in response.streaming_content]))

    return trigger


def parse_sse(body: bytes) -> list[dict]:
    events = []
    for frame in body.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.splitlines() if not line.startswith(":"))
        if fields:
            events.append({"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])})
    return events


async def test_streamed_trigger_shows_the_answer_token_by_token(alice, chat, fake_openai):
    """Each chunk is a COMPONENT_OUTPUT_UPDATED with the cumulative texts, followed by a
    PIPELINE_OUTPUT_UPDATED with the answer so far; the stored secret is the bearer token
    and the final output carries the usage."""
    await sync_to_async(secret_create)(namespace=alice.namespace, secret_id="openai-key", value="sk-stored")
    events = await chat({"variable": {"prompt": "tell me more"}})

    answer = "You said: tell me more"
    tokens = tokens_of(answer)
    names = [e["event"] for e in events]
    first = names.index("COMPONENT_OUTPUT_UPDATED")
    streamed = events[first : first + 2 * len(tokens)]
    assert [e["event"] for e in streamed] == ["COMPONENT_OUTPUT_UPDATED", "PIPELINE_OUTPUT_UPDATED"] * len(tokens)
    partial = ["".join(tokens[: i + 1]) for i in range(len(tokens))]
    assert [e["data"]["output"]["texts"] for e in streamed[::2]] == [[p] for p in partial]
    assert [e["data"]["output"]["answer"] for e in streamed[1::2]] == partial
    assert all(e["data"]["componentID"] == "llm" for e in streamed[::2])

    final = [e for e in events if e["event"] == "PIPELINE_OUTPUT_UPDATED"][-1]["data"]["output"]
    assert final["answer"] == answer and final["usage"]["completion-tokens"] == len(tokens)
    assert names[-1] == "PIPELINE_STATUS_UPDATED" and events[-1]["data"]["status"]["completed"] is True
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert fake_openai.chat_requests[0].headers["authorization"] == "Bearer sk-stored"


async def test_provider_error_is_streamed_as_the_components_error(chat, fake_openai):
    """A 401 from the provider ends the stream with COMPONENT_ERROR_UPDATED carrying its message
    (the key comes from the trigger row's secret override)."""
    fake_openai.require_key("sk-right")
    events = await chat({"variable": {"prompt": "x"}, "secret": {"openai-key": "sk-wrong"}})
    [error] = [e for e in events if e["event"] == "COMPONENT_ERROR_UPDATED"]
    assert (
        "401" in error["data"]["error"]["message"]
        and "Incorrect API key provided." in error["data"]["error"]["message"]
    )
    assert events[-1]["data"]["status"]["errored"] is True
