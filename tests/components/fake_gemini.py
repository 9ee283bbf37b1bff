"""A real local HTTP server speaking the Gemini API's REST format
(ai.google.dev/api): ``POST /v1beta/models/{model}:generateContent``,
``:streamGenerateContent?alt=sse`` (one ``data:`` chunk per word, the last with
``finishReason`` and ``usageMetadata``) and ``:embedContent``; and the cached contents
(``POST /v1beta/cachedContents``, ``GET`` with ``pageSize``/``pageToken``, ``GET``,
``PATCH ?updateMask=ttl|expireTime`` and ``DELETE`` of ``cachedContents/{id}``), kept in
memory, which ``generateContent`` reads through ``cachedContent`` (404 for an unknown
one; the cache's tokens counted as ``cachedContentTokenCount``). Bodies as Google's API
reference (ai.google.dev/api/caching) shows them. A request without
``x-goog-api-key`` of :data:`KEY` is answered 400 with Google's error body. Standard
library only.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.components.fake_vendor import Fake, Handler, RunningFake, answer_for, words_of

__all__ = ["KEY", "FakeGemini", "embedding_for", "running", "words_of"]

KEY = "AIza-test-key"
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def embedding_for(text: str) -> list[float]:
    return [0.013168523, -0.008711934, round(len(text) / 1000, 4)]


def _prompt(body: dict[str, Any]) -> str:
    parts = body["contents"][-1]["parts"]
    return "".join(p.get("text", "") for p in parts)


def _usage(body: dict[str, Any], answer: str, cached: dict[str, Any] | None = None) -> dict[str, Any]:
    prompt = sum(len(p.get("text", "").split()) for c in body["contents"] for p in c["parts"])
    out = len(words_of(answer))
    usage = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": out,
        "totalTokenCount": prompt + out,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if cached is not None:  # a cache's tokens count as prompt tokens too, as Gemini reports them
        tokens = cached["usageMetadata"]["totalTokenCount"]
        usage.update(
            promptTokenCount=prompt + tokens, totalTokenCount=prompt + tokens + out, cachedContentTokenCount=tokens
        )
    return usage


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
            self.caches: dict[str, dict[str, Any]] = {}  # name → the stored CachedContent (contents too)
            self.min_cache_tokens = 0  # Gemini's minimum for a cache (1,024 or 4,096 tokens) when set


def _now() -> datetime:
    return datetime.now(UTC)


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _expiry(body: dict[str, Any], now: datetime) -> tuple[str | None, str]:
    """(error, expireTime): ``ttl`` ("300s") or ``expireTime``, else Gemini's default of 1 hour."""
    if body.get("ttl") is not None and body.get("expireTime") is not None:
        return "only one of ttl and expire_time may be set", ""
    if body.get("ttl") is not None:
        ttl = re.fullmatch(r"(\d+(?:\.\d{1,9})?)s", str(body["ttl"]))
        if ttl is None:
            return (
                f"Invalid value at 'cached_content.ttl' (type.googleapis.com/google.protobuf.Duration), {body['ttl']!r}",
                "",
            )
        return None, _rfc3339(now + timedelta(seconds=float(ttl[1])))
    if body.get("expireTime") is not None:
        try:
            moment = datetime.fromisoformat(str(body["expireTime"]).replace("Z", "+00:00"))
        except ValueError:
            return (
                f"Invalid value at 'cached_content.expire_time' (type.googleapis.com/google.protobuf.Timestamp), {body['expireTime']!r}",
                "",
            )
        return None, _rfc3339(moment.astimezone(UTC))
    return None, _rfc3339(now + timedelta(hours=1))


def _public(cache: dict[str, Any]) -> dict[str, Any]:
    """A CachedContent as the API answers it: metadata, never the cached contents."""
    return {k: v for k, v in cache.items() if k not in ("contents", "systemInstruction", "tools", "toolConfig")}


def _error(handler: Handler, code: int, message: str, status: str) -> None:
    handler.send_json(code, {"error": {"code": code, "message": message, "status": status}})


def _tokens(contents: list[dict[str, Any]]) -> int:
    """Words of text parts, and 258 per media part (Gemini's count for an image)."""
    return sum(
        len(str(part.get("text", "")).split()) if "text" in part else 258
        for content in contents
        for part in content.get("parts", [])
    )


class _Handler(Handler):
    def _admitted(self) -> dict[str, Any] | None:
        """The request's body (``{}`` without one), recorded; ``None`` once it is refused:
        no key, or a queued failure."""
        body, failure = self.receive()
        if self.headers.get("x-goog-api-key") != KEY:
            _error(self, 400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")
        elif failure is not None:
            _error(self, failure, f"fake failure {failure}", "UNAVAILABLE")
        else:
            return body if isinstance(body, dict) else {}
        return None

    def _missing(self) -> None:
        _error(self, 403, "CachedContent not found (or permission denied)", "PERMISSION_DENIED")

    def do_GET(self) -> None:
        fake = self.server.fake
        if self._admitted() is None:
            return
        url = urlsplit(self.path)
        with fake.lock:
            caches = [_public(c) for c in fake.caches.values()]
        if url.path == "/v1beta/cachedContents":
            query = parse_qs(url.query)
            size = int(query.get("pageSize", ["1000"])[0])
            start = int(query.get("pageToken", ["0"])[0].removeprefix("after-") or 0)
            page: dict[str, Any] = {"cachedContents": caches[start : start + size]}
            if start + size < len(caches):
                page["nextPageToken"] = f"after-{start + size}"
            self.send_json(200, page if caches else {})
            return
        found = next((c for c in caches if "/v1beta/" + c["name"] == url.path), None)
        if found is None:
            self._missing()
        else:
            self.send_json(200, found)

    def do_PATCH(self) -> None:
        fake = self.server.fake
        body = self._admitted()
        if body is None:
            return
        url = urlsplit(self.path)
        mask = parse_qs(url.query).get("updateMask", [""])[0]
        if mask not in ("ttl", "expireTime", "expire_time"):
            _error(self, 400, f"update_mask must name ttl or expire_time, not {mask!r}", "INVALID_ARGUMENT")
            return
        problem, expires = _expiry(body, _now())
        with fake.lock:
            cache = fake.caches.get(url.path.removeprefix("/v1beta/"))
            if cache is not None and problem is None:
                cache.update(expireTime=expires, updateTime=_rfc3339(_now()))
                answer = _public(cache)
        if cache is None:
            self._missing()
        elif problem is not None:
            _error(self, 400, problem, "INVALID_ARGUMENT")
        else:
            self.send_json(200, answer)

    def do_DELETE(self) -> None:
        fake = self.server.fake
        if self._admitted() is None:
            return
        with fake.lock:
            gone = fake.caches.pop(self.path.removeprefix("/v1beta/"), None)
        if gone is None:
            self._missing()
        else:
            self.send_json(200, {})

    def _create_cache(self, body: dict[str, Any]) -> None:
        fake = self.server.fake
        contents = body.get("contents") or []
        if not str(body.get("model", "")).startswith("models/") or not contents:
            _error(self, 400, "model (models/{model}) and contents are required", "INVALID_ARGUMENT")
            return
        now = _now()
        problem, expires = _expiry(body, now)
        tokens = _tokens(contents)
        with fake.lock:
            minimum = fake.min_cache_tokens
        if problem is None and tokens < minimum:
            problem = f"Cached content is too small. total_token_count={tokens}, min_total_token_count={minimum}"
        if problem is not None:
            _error(self, 400, problem, "INVALID_ARGUMENT")
            return
        cache = {
            "name": "cachedContents/" + secrets.token_hex(6),
            **({"displayName": body["displayName"]} if body.get("displayName") else {}),
            "model": body["model"],
            "createTime": _rfc3339(now),
            "updateTime": _rfc3339(now),
            "expireTime": expires,
            "usageMetadata": {"totalTokenCount": tokens},
            **{k: body[k] for k in ("contents", "systemInstruction", "tools", "toolConfig") if k in body},
        }
        with fake.lock:
            fake.caches[cache["name"]] = cache
        self.send_json(200, _public(cache))

    def do_POST(self) -> None:
        fake = self.server.fake
        body = self._admitted()
        if body is None:
            return
        with fake.lock:
            draw = fake.draw
            cached = fake.caches.get(str(body.get("cachedContent") or ""))
        match = re.fullmatch(r"/v1beta/models/([\w.-]+):(\w+)(\?alt=sse)?", self.path)
        if self.path == "/v1beta/cachedContents":
            self._create_cache(body)
        elif match is None:
            self.send_json(404, {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}})
        elif body.get("cachedContent") and cached is None:
            self._missing()
        elif body.get("cachedContent") and cached["model"] != f"models/{match.group(1)}":
            message = f"Model used by GenerateContent request ({match.group(1)}) and CachedContent ({cached['model']}) has to be the same."
            _error(self, 400, message, "INVALID_ARGUMENT")
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
                    "usageMetadata": _usage(body, answer, cached),
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
