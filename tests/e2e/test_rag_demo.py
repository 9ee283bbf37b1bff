"""The ``rag`` demo end to end: ``serve`` with an OpenAI-compatible server
(PIPELINE_DEMO_OPENAI_BASE_URL: the fake one) and the server's own Chroma
(PIPELINE_CHROMA_BASE_URL: a real ``chroma run``) stores passages (embed → upsert),
then answers a question from the closest ones (embed → query → LLM), over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from benchmarks._server import Server
from tests.components import chroma_server
from tests.e2e.conftest import start_server
from tests.fake_openai import expected_embedding

pytestmark = pytest.mark.e2e

RAG = "/v1beta/namespaces/admin/pipelines/rag/trigger"
PASSAGES = [
    "The office opens at nine and closes at five.",
    "Parking is free on Sundays.",
    "The cafeteria serves soup on Fridays.",
]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from chroma_server.serve(tmp_path_factory.mktemp("rag-chroma"))


@pytest.fixture(scope="module")
def rag_server(tmp_path_factory: pytest.TempPathFactory, _fake_openai_server, chroma_url) -> Iterator[Server]:
    """No allow list: the model server and Chroma are reachable because they are the
    demo's model server and the server's PIPELINE_CHROMA_BASE_URL."""
    server = start_server(
        tmp_path_factory.mktemp("rag-data"),
        "e2e-rag-server",
        PIPELINE_DEMO_OPENAI_BASE_URL=_fake_openai_server.fake.base_url,
        PIPELINE_DEMO_OPENAI_MODEL="fake-llama",
        PIPELINE_DEMO_OPENAI_EMBEDDING_MODEL="fake-embed",
        PIPELINE_CHROMA_BASE_URL=chroma_url,
        PIPELINE_HTTP_ALLOWED_HOSTS="",
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def token(rag_server: Server) -> str:
    return rag_server.create_token("rag")


def trigger(server: Server, token: str, variables: dict) -> dict:
    response = httpx.post(
        server.base_url + RAG,
        json={"data": [{"variable": variables}]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_passages_stored_then_retrieved_for_the_answer(rag_server, token, fake_openai, chroma_url):
    # The fake's embeddings hash the text: asking with a passage's own words makes it the closest.
    question = PASSAGES[1]
    body = trigger(rag_server, token, {"question": question, "passages": PASSAGES})
    [output] = body["outputs"]
    assert output["answer"] == f"You said: {question}"
    passages = output["passages"]
    assert passages[0]["document"] == PASSAGES[1]
    assert sorted(p["document"] for p in passages) == sorted(PASSAGES)
    assert passages[0]["vector"] == pytest.approx(expected_embedding(PASSAGES[1]))
    assert passages[0]["source"] == "rag-demo"

    embedded = [r.body["input"] for r in fake_openai.requests if r.path.endswith("/embeddings")]
    assert sorted(embedded) == sorted([*PASSAGES, question])
    assert {r.body["model"] for r in fake_openai.requests if r.path.endswith("/embeddings")} == {"fake-embed"}
    [chat] = fake_openai.chat_requests
    system = chat.body["messages"][0]["content"]
    assert system.startswith("Answer the question from these passages only")
    assert all(p in system for p in PASSAGES)

    # A second run with no passages answers from what the first one stored in Chroma.
    fake_openai.reset()
    again = trigger(rag_server, token, {"question": PASSAGES[2]})["outputs"][0]
    assert again["passages"][0]["document"] == PASSAGES[2]
    assert [r.body["input"] for r in fake_openai.requests if r.path.endswith("/embeddings")] == [PASSAGES[2]]
    collections = httpx.get(f"{chroma_url}/api/v2/tenants/default_tenant/databases/default_database/collections").json()
    assert [c["name"] for c in collections] == ["rag-demo"]
