"""A real local HTTP server speaking Slack's Web API (api.slack.com/methods): the
methods the slack component calls, with the request and answer bodies of Slack's method
reference — ``conversations.list`` (cursor-paged ``channels``), ``conversations.history``
(``messages`` newer than ``oldest``, cursor-paged), ``conversations.replies`` (the
parent then its replies), ``users.info`` and ``chat.postMessage`` (JSON body). Errors
as Slack gives them: HTTP 200 with ``{"ok": false, "error": "..."}`` (``invalid_auth``
for a token it does not know, ``channel_not_found``), and 429 with ``Retry-After``.
Standard library only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.components.fake_vendor import Fake, Handler, Recorded, RunningFake

BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
USER_TOKEN = "xoxp-17653672481-19874698323-userTokenSecret42"


def ts(when: str) -> str:
    """A Slack message timestamp for an ISO UTC time (``2024-07-01T09:00:00``)."""
    return f"{datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp():.6f}"


CHANNELS = [
    [{"id": "C012AB3CD", "name": "general", "is_channel": True, "is_private": False, "is_member": True}],
    [{"id": "C061EG9T2", "name": "random", "is_channel": True, "is_private": False, "is_member": True}],
]
USERS = {
    "U012AB3CDE": {"id": "U012AB3CDE", "name": "spengler", "real_name": "Egon Spengler"},
    "U061F7AUR": {"id": "U061F7AUR", "name": "venkman", "real_name": "Peter Venkman"},
}
THREAD = ts("2024-07-02T08:00:00")
# #general, newest first as conversations.history answers.
HISTORY: list[dict[str, Any]] = [
    {"type": "message", "user": "U061F7AUR", "text": "Who ya gonna call?", "ts": ts("2024-07-03T12:00:00")},
    {
        "type": "message",
        "user": "U012AB3CDE",
        "text": "I find you punny and would like to smell your nose letter",
        "ts": THREAD,
        "thread_ts": THREAD,
        "reply_count": 2,
    },
    {"type": "message", "user": "U012AB3CDE", "text": "Old news", "ts": ts("2024-06-20T10:00:00")},
]
REPLIES = [
    HISTORY[1],
    {"type": "message", "user": "U061F7AUR", "text": "Nice one", "ts": ts("2024-07-02T09:30:00"), "thread_ts": THREAD},
    {"type": "message", "user": "U012AB3CDE", "text": "Thanks!", "ts": ts("2024-07-04T07:15:00"), "thread_ts": THREAD},
]


class FakeSlack(Fake):
    def reset(self) -> None:
        super().reset()
        self.posted: list[Recorded] = []
        self.endless = False  # conversations.list always names a next cursor


def _one(query: dict[str, list[str]], name: str) -> str:
    return query.get(name, [""])[0]


class _SlackHandler(Handler):
    def _handle(self) -> None:
        _, failure = self.receive()
        fake: FakeSlack = self.server.fake
        if failure:
            self._fail(failure)
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in (BOT_TOKEN, USER_TOKEN):
            self.send_json(200, {"ok": False, "error": "invalid_auth"})
            return
        method = url.path.rsplit("/", 1)[-1]
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        if answer is None:
            self.send_json(404, {"ok": False, "error": "unknown_method"})
            return
        self.send_json(200, answer(query, fake))

    def _fail(self, status: int) -> None:
        data = b'{"ok": false, "error": "ratelimited"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _conversations_list(self, query: dict[str, list[str]], fake: FakeSlack) -> dict[str, Any]:
        assert _one(query, "types") == "private_channel,public_channel"
        if fake.endless:
            return {"ok": True, "channels": [], "response_metadata": {"next_cursor": "more"}}
        page = 1 if _one(query, "cursor") == "dGVhbTpDMDYxRkE1UEI=" else 0
        cursor = "dGVhbTpDMDYxRkE1UEI=" if page == 0 else ""
        return {"ok": True, "channels": CHANNELS[page], "response_metadata": {"next_cursor": cursor}}

    def _conversations_history(self, query: dict[str, list[str]], fake: FakeSlack) -> dict[str, Any]:
        if _one(query, "channel") != "C012AB3CD":
            return {"ok": False, "error": "channel_not_found"} if _one(query, "channel") != "C061EG9T2" else _empty()
        oldest = float(_one(query, "oldest") or 0)
        messages = [m for m in HISTORY if float(m["ts"]) >= oldest]
        # Two pages: the newest message, then the rest.
        if _one(query, "cursor") == "bmV4dF90czoxNTEyMDg1ODYxMDAwNTQz":
            page, cursor = messages[1:], ""
        else:
            page, cursor = messages[:1], ("bmV4dF90czoxNTEyMDg1ODYxMDAwNTQz" if len(messages) > 1 else "")
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_replies(self, query: dict[str, list[str]], fake: FakeSlack) -> dict[str, Any]:
        if _one(query, "ts") != THREAD:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": REPLIES, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _users_info(self, query: dict[str, list[str]], fake: FakeSlack) -> dict[str, Any]:
        user = USERS.get(_one(query, "user"))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _chat_postMessage(self, query: dict[str, list[str]], fake: FakeSlack) -> dict[str, Any]:
        request = fake.requests[-1]
        with fake.lock:
            fake.posted.append(request)
        body = request.body
        return {
            "ok": True,
            "channel": body["channel"],
            "ts": "1503435956.000247",
            "message": {"text": body["text"], "username": "ecto1", "bot_id": "B19LU7CSY", "type": "message"},
        }

    do_GET = do_POST = _handle


def _empty() -> dict[str, Any]:
    return {"ok": True, "messages": [], "has_more": False, "response_metadata": {"next_cursor": ""}}


def running() -> RunningFake[FakeSlack]:
    return RunningFake(FakeSlack(), _SlackHandler)
