"""The ``slack`` application component: read a channel's conversations and post to it
with Slack's Web API (Instill ``slack`` v0: ``TASK_READ_MESSAGE``,
``TASK_WRITE_MESSAGE``; setup ``bot-token``, ``user-token``).

- Both tasks find the channel by its name (``conversations.list``, public and private
  channels, every page).
- ``TASK_READ_MESSAGE`` reads the channel's messages since ``start-to-read-date``
  (``YYYY-MM-DD``, UTC; 7 days ago by default) with ``conversations.history``
  (``oldest``, every page), each thread's replies with ``conversations.replies``, and
  the authors' names with ``users.info``. Each conversation has ``user-id``,
  ``user-name``, ``message``, ``start-date``, ``last-date`` (of its latest reply) and
  ``thread-reply-messages`` (``user-id``, ``user-name``, ``datetime`` in RFC 3339 UTC,
  ``message``), newest conversation first as Slack answers them.
- ``TASK_WRITE_MESSAGE`` posts ``message`` with ``chat.postMessage`` (a literal ``\\n``
  becomes a line break, as Instill does), as the bot, or as the user
  (``as-user: true``, with ``setup.user-token``); answers ``result: "succeed"``.

Tokens go as ``Authorization: Bearer``. The API root is ``https://slack.com/api`` or
``setup.base-url`` (``PIPELINE_SLACK_BASE_URL``). Slack answers errors with HTTP 200
and ``{"ok": false, "error": "..."}``: they fail the task with Slack's error code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pipelines.components import app_api, vendor_api
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext

DEFAULT_BASE_URL = "https://slack.com/api"
CHANNEL_TYPES = "private_channel,public_channel"
_PAGE = "200"
#: Pages of one listing read at most (a server that always names a next cursor ends here).
_MAX_PAGES = 100


def _string(title: str, description: str) -> dict[str, Any]:
    return {"type": "string", "title": title, "description": description}


_USER_ID = _string("User UID", "unique id from Slack.")
_USER_NAME = _string("User Name", "user name in Slack.")
_CHANNEL = _string("Channel Name", "Channel name, as displayed on Slack.")

SETUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Slack Connection",
    "additionalProperties": False,
    "properties": {
        "bot-token": {
            **_string("Bot OAuth Token", "Token associated to the application bot."),
            "instillSecret": True,
        },
        "user-token": {
            **_string("User OAuth Token", "Token to act on behalf of a Slack user."),
            "instillSecret": True,
        },
        "base-url": _string(
            "Base URL",
            f"The Web API root, for tests and proxies (default {DEFAULT_BASE_URL}; "
            "the server's PIPELINE_SLACK_BASE_URL when set). Not in Instill's setup.",
        ),
    },
    "required": ["bot-token"],
}
READ_INPUT: dict[str, Any] = {
    "type": "object",
    "title": "Input",
    "description": "Please input the channel name and the date that we want to start to read.",
    "properties": {
        "channel-name": _CHANNEL,
        "start-to-read-date": _string(
            "Start to read date",
            "Date (in `YYYY-MM-DD` format) from which messages will start to be fetched. If not provided, "
            "it will be 7 days before the current date. The date will be in the UTC timezone.",
        ),
    },
    "required": ["channel-name"],
}
READ_OUTPUT: dict[str, Any] = {
    "type": "object",
    "title": "Output",
    "description": "All messages in Slack channel.",
    "properties": {
        "conversations": {
            "type": "array",
            "title": "Conversations",
            "description": "An array of conversations with thread messages.",
            "items": {
                "type": "object",
                "title": "conversation details",
                "properties": {
                    "user-id": _USER_ID,
                    "user-name": _USER_NAME,
                    "message": _string("Start Conversation Message", "message to start a conversation."),
                    "start-date": _string("Start Date", "when a conversation starts."),
                    "last-date": _string("Last Date", "Date of the last message."),
                    "thread-reply-messages": {
                        "type": "array",
                        "title": "Replied messages",
                        "description": "replies in a conversation.",
                        "items": {
                            "type": "object",
                            "title": "relied details",
                            "properties": {
                                "user-id": _USER_ID,
                                "user-name": _USER_NAME,
                                "datetime": _string("Replied Time", "replied datetime."),
                                "message": _string("Replied Message", "message to reply a conversation."),
                            },
                            "required": ["user-id", "datetime", "message"],
                        },
                    },
                },
                "required": ["user-id", "message", "start-date"],
            },
        }
    },
    "required": ["conversations"],
}
WRITE_INPUT: dict[str, Any] = {
    "type": "object",
    "title": "Input",
    "properties": {
        "channel-name": _CHANNEL,
        "message": _string("Message", "The message to be sent to the target channel."),
        "as-user": {
            "type": "boolean",
            "title": "Send As User",
            "default": False,
            "description": "Send the message on behalf of the user identified by the setup.user-token field.",
        },
    },
    "required": ["channel-name", "message"],
}
WRITE_OUTPUT: dict[str, Any] = {
    "type": "object",
    "title": "Output",
    "properties": {"result": _string("Result", "Result of the message delivery.")},
    "required": ["result"],
}


# --- the Web API --------------------------------------------------------------------


class _Slack:
    def __init__(self, ctx: TaskContext, token_field: str) -> None:
        token = ctx.setup.get(token_field)
        if not isinstance(token, str) or not token:
            raise ComponentError(f"setup.{token_field} is required (a Slack token).")
        self.ctx = ctx
        self.root = vendor_api.base_url(ctx.setup, DEFAULT_BASE_URL)
        self.headers = {"Authorization": f"Bearer {token}"}

    async def method(self, name: str, params: Mapping[str, str] | None = None, body: Any = None) -> Mapping[str, Any]:
        """One Web API method; Slack's ``ok: false`` fails the task with its error code."""
        reply = await app_api.call(
            self.ctx,
            "Slack",
            "POST" if body is not None else "GET",
            f"{self.root}/{name}",
            headers=self.headers,
            params=params,
            body=body,
        )
        payload = reply.payload
        if not isinstance(payload, Mapping):
            raise ComponentError(f"Slack answered {name} without a JSON object.")
        if payload.get("ok") is not True:
            raise ComponentError(f"Slack answered {name} with the error {payload.get('error') or 'unknown'!r}.")
        return payload

    async def pages(self, name: str, key: str, params: Mapping[str, str]) -> list[Any]:
        """Every item of ``key`` over the method's cursor pages."""
        items: list[Any] = []
        cursor = ""
        for _ in range(_MAX_PAGES):
            payload = await self.method(name, {**params, "limit": _PAGE, **({"cursor": cursor} if cursor else {})})
            found = payload.get(key)
            items += found if isinstance(found, list) else []
            metadata = payload.get("response_metadata")
            cursor = metadata.get("next_cursor", "") if isinstance(metadata, Mapping) else ""
            if not cursor:
                return items
        raise ComponentError(f"Slack kept answering {name} with more pages after {_MAX_PAGES} pages.")

    async def channel_id(self, name: Any) -> str:
        if not isinstance(name, str) or not name.strip():
            raise ComponentError("channel-name is required (the channel's name as Slack shows it).")
        wanted = name.strip().removeprefix("#")
        params = {"types": CHANNEL_TYPES, "exclude_archived": "true"}
        for channel in await self.pages("conversations.list", "channels", params):
            if isinstance(channel, Mapping) and channel.get("name") == wanted and channel.get("id"):
                return str(channel["id"])
        raise ComponentError(f"channel-name: couldn't find channel [{wanted}] (is the app a member of it?).")


# --- tasks --------------------------------------------------------------------------


def _start_date(value: Any) -> date:
    if value in (None, ""):
        return datetime.now(UTC).date() - timedelta(days=7)
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ComponentError(f"start-to-read-date must be a date written YYYY-MM-DD, got {str(value)[:40]!r}.")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ComponentError(f"start-to-read-date is not a date: {value!r}.") from None


def _when(ts: Any) -> datetime:
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError, OverflowError):
        raise ComponentError(f"Slack answered a message with a malformed ts {ts!r}.") from None


async def run_read_message(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    slack = _Slack(ctx, "bot-token")
    start = _start_date(input.get("start-to-read-date"))
    channel = await slack.channel_id(input.get("channel-name"))
    oldest = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
    messages = await slack.pages("conversations.history", "messages", {"channel": channel, "oldest": f"{oldest:.6f}"})
    conversations: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, Mapping) or _when(message.get("ts")).date() < start:
            continue
        day = _when(message["ts"]).date().isoformat()
        conversation: dict[str, Any] = {
            "user-id": str(message.get("user") or ""),
            "message": str(message.get("text") or ""),
            "start-date": day,
            "last-date": day,
            "thread-reply-messages": [],
        }
        if int(message.get("reply_count") or 0) > 0:
            replies = await slack.pages("conversations.replies", "messages", {"channel": channel, "ts": message["ts"]})
            for reply in replies:
                if not isinstance(reply, Mapping) or reply.get("ts") == message["ts"]:
                    continue
                when = _when(reply.get("ts"))
                conversation["thread-reply-messages"].append(
                    {
                        "user-id": str(reply.get("user") or ""),
                        "datetime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "message": str(reply.get("text") or ""),
                    }
                )
                conversation["last-date"] = max(conversation["last-date"], when.date().isoformat())
        conversations.append(conversation)
    names = await _user_names(slack, conversations)
    for conversation in conversations:
        conversation["user-name"] = names.get(conversation["user-id"], "")
        for reply in conversation["thread-reply-messages"]:
            reply["user-name"] = names.get(reply["user-id"], "")
    return {"conversations": conversations}


async def _user_names(slack: _Slack, conversations: list[dict[str, Any]]) -> dict[str, str]:
    """Each author's Slack name (``users.info``, once per user)."""
    ids = [c["user-id"] for c in conversations] + [
        r["user-id"] for c in conversations for r in c["thread-reply-messages"]
    ]
    names: dict[str, str] = {}
    for user_id in dict.fromkeys(i for i in ids if i):
        payload = await slack.method("users.info", {"user": user_id})
        user = payload.get("user")
        names[user_id] = str(user.get("name") or "") if isinstance(user, Mapping) else ""
    return names


async def run_write_message(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    as_user = input.get("as-user", False)
    if not isinstance(as_user, bool):
        raise ComponentError("as-user must be true or false.")
    if as_user and not ctx.setup.get("user-token"):
        raise ComponentError(
            "as-user: to send messages on behalf of the user, fill the user-token field in the component setup."
        )
    message = input.get("message")
    if not isinstance(message, str) or not message:
        raise ComponentError("message is required (the text to post).")
    slack = _Slack(ctx, "user-token" if as_user else "bot-token")
    channel = await slack.channel_id(input.get("channel-name"))
    await slack.method("chat.postMessage", body={"channel": channel, "text": message.replace("\\n", "\n")})
    return {"result": "succeed"}


COMPONENT = ComponentDefinition(
    type="slack",
    title="Slack",
    kind="application",
    vendor="Slack",
    version="0.2.0",
    description="Get and send message on Slack.",
    setup_schema=SETUP_SCHEMA,
    credential_fields=frozenset({"bot-token", "user-token"}),
    check_setup=vendor_api.check_base_urls("base-url"),
    tasks={
        "TASK_READ_MESSAGE": Task(
            name="TASK_READ_MESSAGE",
            title="Read Message",
            description="Get the latest message since specific date",
            input_schema=READ_INPUT,
            output_schema=READ_OUTPUT,
            run=run_read_message,
        ),
        "TASK_WRITE_MESSAGE": Task(
            name="TASK_WRITE_MESSAGE",
            title="Send Message",
            description="send message to a specific channel",
            input_schema=WRITE_INPUT,
            output_schema=WRITE_OUTPUT,
            run=run_write_message,
        ),
    },
)
