"""Instill recipes run unchanged against the server's model provider, and the server's
key never leaves it.

One live server started with only PIPELINE_OPENAI_API_KEY and PIPELINE_OPENAI_BASE_URL
(pointing at a real local OpenAI-compatible server, tests/fake_openai.py; no allow
list: the base URL is what admits it). Two recipes — one with
``api-key: ${secret.INSTILL_SECRET}``, one with no setup — are created byte-for-byte
and triggered; the fake sees the server's key as the Bearer token, and neither the API
answers (REST with traces, SSE, runs, component runs) nor anything the server stored
holds the key. (That an answer repeating the key is masked is shown at the engine
level: tests/components/test_platform_keys.py.)
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import httpx
import pytest

from benchmarks._server import Server
from tests.components.test_platform_keys import INSTILL_RECIPE, NO_SETUP_RECIPE

pytestmark = pytest.mark.e2e

KEY = "sk-platform-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def server(platform_key_server: Server) -> Server:
    return platform_key_server


@pytest.mark.parametrize("pipeline_id", ["with-instill-secret", "without-setup"])
def test_instill_recipe_runs_on_the_platform_key_which_never_shows(server: Server, fake_openai, pipeline_id):
    headers = {"Authorization": f"Bearer {server.create_token(pipeline_id)}"}
    recipe = INSTILL_RECIPE if pipeline_id == "with-instill-secret" else NO_SETUP_RECIPE
    api = f"{server.base_url}/v1beta/namespaces/admin/pipelines"
    created = httpx.post(api, json={"id": pipeline_id, "rawRecipe": recipe}, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    assert created.json()["pipeline"]["rawRecipe"] == recipe
    fake_openai.require_key(KEY)
    trigger = f"{api}/{pipeline_id}/trigger"
    row = {"data": [{"variable": {"prompt": "hello there"}}]}

    answer = httpx.post(trigger, json=row, headers={**headers, "Instill-Return-Traces": "true"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"] == [{"answer": "You said: hello there"}]
    assert fake_openai.chat_requests[-1].headers["authorization"] == f"Bearer {KEY}"

    with httpx.stream("POST", trigger, json=row, headers={**headers, "Accept": "text/event-stream"}) as stream:
        run_uid = stream.headers["Pipeline-Run-Uid"]
        streamed = "".join(stream.iter_text())
    assert "You said: hello there" in streamed
    seen = [answer.text, streamed, httpx.get(f"{api}/{pipeline_id}/runs", headers=headers).text]
    seen.append(httpx.get(f"{server.base_url}/v1beta/pipeline-runs/{run_uid}/component-runs", headers=headers).text)
    seen.append(httpx.get(f"{server.base_url}/v1beta/pipeline-runs/{run_uid}/events", headers=headers).text)
    for text in seen:
        assert KEY not in text

    database = sqlite3.connect(f"file:{server.data_dir / 'pipeline.sqlite3'}?mode=ro", uri=True)
    try:
        assert KEY not in "\n".join(database.iterdump())
    finally:
        database.close()
    for path in Path(server.data_dir).rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), f"{path} holds the platform key"
    assert KEY not in server.output()
