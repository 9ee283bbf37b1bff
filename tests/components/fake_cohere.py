"""A real local HTTP server speaking Cohere's v2 API (docs.cohere.com/reference):
``POST /v2/chat`` streamed as server-sent events (``message-start``,
``content-start``, ``content-delta`` ..., ``citation-start``/``citation-end`` when
documents were given, ``content-end``, ``message-end`` with the billed units),
``POST /v2/embed`` (``embeddings`` by type) and ``POST /v2/rerank`` (``results`` of
``index`` and ``relevance_score``). Bodies as Cohere's API reference shows them.

A chat answer is ``You said: <the last user message>``, one word per ``content-delta``;
a request without ``Authorization: Bearer <key>`` of :data:`KEY` is answered 401 with
Cohere's error body. Rerank scores count the query's words in each document.
Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.components.fake_vendor import Fake, Handler, RunningFake, answer_for, words_of

__all__ = ["KEY", "FakeCohere", "relevance", "running", "words_of"]

KEY = "co-test-key"


def relevance(query: str, document: str) -> float:
    words = set(query.lower().split())
    return round(sum(word in words for word in document.lower().split()) / (len(document.split()) or 1), 4)


class FakeCohere(Fake):
    pass


def _sse(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


def _chat_events(body: dict[str, Any]) -> Iterator[bytes]:
    prompt = body["messages"][-1]["content"]
    answer = answer_for(prompt)
    yield _sse(
        "message-start",
        {
            "id": "29f14a5a-11de-4cae-9800-25e4747408ea",
            "type": "message-start",
            "delta": {
                "message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
            },
        },
    )
    yield _sse(
        "content-start",
        {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
    )
    for word in words_of(answer):
        yield _sse(
            "content-delta", {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": word}}}}
        )
    for i, document in enumerate(body.get("documents") or []):
        start = answer.find(prompt)
        citation = {
            "start": start,
            "end": start + len(prompt),
            "text": prompt,
            "sources": [{"type": "document", "id": f"doc:{i}", "document": {"id": f"doc:{i}", "text": document}}],
        }
        yield _sse(
            "citation-start", {"type": "citation-start", "index": i, "delta": {"message": {"citations": citation}}}
        )
        yield _sse("citation-end", {"type": "citation-end", "index": i})
    yield _sse("content-end", {"type": "content-end", "index": 0})
    input_tokens = sum(len(m["content"].split()) for m in body["messages"])
    yield _sse(
        "message-end",
        {
            "type": "message-end",
            "delta": {
                "finish_reason": "COMPLETE",
                "usage": {
                    "billed_units": {"input_tokens": input_tokens, "output_tokens": len(words_of(answer))},
                    "tokens": {"input_tokens": input_tokens + 66, "output_tokens": len(words_of(answer))},
                },
            },
        },
    )


class _Handler(Handler):
    def do_POST(self) -> None:
        body, failure = self.receive()
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            self.send_json(401, {"id": "b9b5c1f4", "message": "invalid api token"})
        elif failure is not None:
            self.send_json(failure, {"id": "b9b5c1f5", "message": f"fake failure {failure}"})
        elif self.path == "/v2/chat":
            self.send_chunks("text/event-stream", _chat_events(body))
        elif self.path == "/v2/embed":
            text = body["texts"][0]
            vector = [round(len(text) / 100, 4), 0.5, -0.25] if body["embedding_types"] == ["float"] else [12, -7, 3]
            self.send_json(
                200,
                {
                    "id": "da6e531f-54c6-4a73-bf92-f60566d8d753",
                    "embeddings": {body["embedding_types"][0]: [vector]},
                    "texts": body["texts"],
                    "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": len(text.split())}},
                    "response_type": "embeddings_by_type",
                },
            )
        elif self.path == "/v2/rerank":
            scored = sorted(
                ((relevance(body["query"], doc), i) for i, doc in enumerate(body["documents"])), key=lambda s: -s[0]
            )[: body.get("top_n")]
            self.send_json(
                200,
                {
                    "results": [{"index": i, "relevance_score": score} for score, i in scored],
                    "id": "07734bd2-2473-4f07-94e1-0d9f0e6843cf",
                    "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
                },
            )
        else:
            self.send_json(404, {"message": "not found"})


def running() -> RunningFake[FakeCohere]:
    return RunningFake(FakeCohere(), _Handler)
