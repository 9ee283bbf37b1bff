"""A real local HTTP server speaking the Gemini API's REST format
(ai.google.dev/api): ``POST /v1beta/models/{model}:generateContent``,
``:streamGenerateContent?alt=sse`` (one ``data:`` chunk per word, the last with
``finishReason`` and ``usageMetadata``) and ``:embedContent``; bodies as Google's API
reference shows them. A request without ``x-goog-api-key`` of :data:`KEY` is answered
400 with Google's error body. Standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.components.fake_vendor import Fake, Handler, RunningFake, answer_for, words_of

__all__ = ["KEY", "FakeGemini", "embedding_for", "running", "words_of"]

KEY = "AIza-test-key"
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def embedding_for(text: str) -> list[float]:
    return [0.013168523, -0.008711934, round(len(text) / 1000, 4)]


def _prompt(body: dict[str, Any]) -> str:
    parts = body["contents"][-1]["parts"]
    return "".join(p.get("text", "") for p in parts)


def _usage(body: dict[str, Any], answer: str) -> dict[str, Any]:
    prompt = sum(len(p.get("text", "").split()) for c in body["contents"] for p in c["parts"])
    out = len(words_of(answer))
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": out,
        "totalTokenCount": prompt + out,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }


def _candidate(parts: list[dict[str, Any]], finish: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = "STOP"
    return candidate


class FakeGemini(Fake):
    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.draw = False  # answer with an image part too (image-generation models)


class _Handler(Handler):
    def do_POST(self) -> None:
        fake = self.server.fake
        body, failure = self.receive()
        with fake.lock:
            draw = fake.draw
        match = re.fullmatch(r"/v1beta/models/([\w.-]+):(\w+)(\?alt=sse)?", self.path)
        if self.headers.get("x-goog-api-key") != KEY:
            message = "API key not valid. Please pass a valid API key."
            self.send_json(400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}})
        elif failure is not None:
            self.send_json(
                failure, {"error": {"code": failure, "message": f"fake failure {failure}", "status": "UNAVAILABLE"}}
            )
        elif match is None:
            self.send_json(404, {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}})
        elif match.group(2) == "embedContent":
            self.send_json(200, {"embedding": {"values": embedding_for(body["content"]["parts"][0]["text"])}})
        elif match.group(2) == "generateContent":
            answer = answer_for(_prompt(body))
            parts: list[dict[str, Any]] = [{"text": answer}]
            if draw:
                parts.append({"inlineData": {"mimeType": "image/png", "data": PNG_B64}})
            self.send_json(
                200,
                {
                    "candidates": [_candidate(parts, True)],
                    "usageMetadata": _usage(body, answer),
                    "modelVersion": match.group(1),
                    "responseId": "mAitaLmkHPPlz7IPvtfUqQ4",
                },
            )
        elif match.group(2) == "streamGenerateContent" and match.group(3):
            self.send_chunks("text/event-stream", _stream(match.group(1), body))
        else:
            self.send_json(400, {"error": {"code": 400, "message": "bad method", "status": "INVALID_ARGUMENT"}})


def _stream(model: str, body: dict[str, Any]) -> Iterator[bytes]:
    answer = answer_for(_prompt(body))
    words = words_of(answer)
    for i, word in enumerate(words):
        last = i == len(words) - 1
        chunk: dict[str, Any] = {"candidates": [_candidate([{"text": word}], last)], "modelVersion": model}
        chunk["usageMetadata"] = (
            _usage(body, answer) if last else {"promptTokenCount": _usage(body, "")["promptTokenCount"]}
        )
        chunk["responseId"] = "mAitaLmkHPPlz7IPvtfUqQ4"
        yield f"data: {json.dumps(chunk)}\r\n\r\n".encode()


def running() -> RunningFake[FakeGemini]:
    return RunningFake(FakeGemini(), _Handler)
