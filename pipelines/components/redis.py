"""The ``redis`` data component: a chat history kept in Redis (Instill ``redis`` v0:
``TASK_RETRIEVE_CHAT_HISTORY``, ``TASK_WRITE_CHAT_MESSAGE``,
``TASK_WRITE_MULTI_MODAL_CHAT_MESSAGE``; setup ``host``, ``port``, ``username``,
``password``, ``ssl``).

Instill's key layout, so a history written by either is read by the other:

- a message is the JSON ``{"role", "content": [{"type": "text", "text"} |
  {"type": "image-url", "image-url": {"url"}}], "metadata"?, "timestamp"}`` (Unix
  seconds; a plain text message is one text part);
- ``system`` messages: field ``<session-id>`` of the hash ``chat_history:system_messages``
  (one per session: a new one replaces it);
- the others: members of the sorted set ``chat_history:<session-id>:timestamps``, scored
  by their time (here with sub-second precision, so messages written within one second
  keep their order; Instill reads the scores only to pick the latest).

Retrieving takes the latest ``latest-k`` turns (2 × ``latest-k`` messages, default 5
turns), oldest first, after the session's system message when
``include-system-message`` (default true) and there is one. As in Instill, the same
message (role, content, metadata) written twice within one second is stored once.

The host goes through the outbound guard (loopback and private addresses only when
``PIPELINE_HTTP_ALLOWED_HOSTS`` allows them, as for every component) and the client
connects to the checked address; with ``ssl`` the certificate is verified against the
host's name. redis-py's asyncio client is imported on a task's first call.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from pipelines.components.db_connect import checked_address, setup_host, setup_port, shown, task_map
from pipelines.engine.components import ComponentDefinition, ComponentError, TaskContext

if TYPE_CHECKING:
    import redis.asyncio

SYSTEM_KEY = "chat_history:system_messages"
DEFAULT_LATEST_K = 5
CONNECT_TIMEOUT = 10.0
COMMAND_TIMEOUT = 30.0


def history_key(session_id: str) -> str:
    return f"chat_history:{session_id}:timestamps"


# --- schemas (Instill's config/setup.yaml, config/tasks.yaml, and its chat-messages type) --

SETUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Redis Connection",
    "additionalProperties": False,
    "properties": {
        "host": {
            "type": "string",
            "title": "Host",
            "description": "Redis host to connect to.",
            "default": "localhost",
            "examples": ["localhost,127.0.0.1"],
        },
        "port": {
            "type": "integer",
            "title": "Port",
            "description": "Port of Redis.",
            "default": 6379,
            "minimum": 0,
            "maximum": 65536,
        },
        "username": {"type": "string", "title": "Username", "description": "Username associated with Redis."},
        "password": {"type": "string", "title": "Password", "description": "Password associated with Redis."},
        "ssl": {
            "type": "boolean",
            "title": "SSL Connection",
            "description": "Indicates whether SSL encryption protocol will be used to connect to Redis. It is recommended to use SSL connection if possible.",
            "default": False,
        },
    },
    "required": ["host", "port"],
}
MULTI_MODAL_CONTENT: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "image-url": {
                "type": "object",
                "title": "Image URL",
                "description": "The image URL",
                "properties": {
                    "url": {
                        "type": "string",
                        "title": "URL",
                        "description": "Either a URL of the image or the base64 encoded image data.",
                    }
                },
                "required": ["url"],
            },
            "text": {"type": "string", "title": "Text", "description": "The text content."},
            "type": {
                "type": "string",
                "title": "Type",
                "description": "The type of the content part.",
                "enum": ["text", "image-url"],
            },
        },
        "required": ["type"],
    },
}
_SESSION = {"type": "string", "title": "Session ID", "description": "A unique identifier for the chat session."}
_ROLE = {"type": "string", "title": "Role", "description": "The message role, i.e. 'system', 'user' or 'assistant'."}
_METADATA = {
    "type": "object",
    "title": "Metadata",
    "description": "The message metadata.",
    "additionalProperties": True,
}
RETRIEVE_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "session-id": _SESSION,
        "latest-k": {
            "type": "integer",
            "title": "Latest K",
            "description": "The number of latest conversation turns to retrieve. A conversation turn typically includes one participant speaking or sending a message, and the other participant(s) responding to it.",
            "default": DEFAULT_LATEST_K,
            "minimum": 1,
        },
        "include-system-message": {
            "type": "boolean",
            "title": "Include System Message If Exists",
            "description": "Include system message in the retrieved conversation turns if exists.",
            "default": True,
        },
    },
    "required": ["session-id"],
}
RETRIEVE_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "messages": {
            "type": "array",
            "title": "Chat Message",
            "description": "Messages.",
            "items": {
                "type": "object",
                "properties": {
                    "content": {**MULTI_MODAL_CONTENT, "title": "Content", "description": "The message content"},
                    "metadata": {"type": "object", "title": "Metadata", "description": "The message metadata"},
                    "role": {**_ROLE, "description": "The message role, i.e. 'system', 'user' or 'assistant'"},
                },
                "required": ["role", "content"],
            },
        },
        # Not in Instill's schema, but in its output: true when the history was read.
        "status": {"type": "boolean", "title": "Status", "description": "Whether the history was read."},
    },
    "required": ["messages"],
}


def _write_input(content: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "title": "Input",
        "properties": {"session-id": _SESSION, "role": _ROLE, "content": dict(content), "metadata": _METADATA},
        "required": ["session-id", "role", "content"],
    }


WRITE_INPUT = _write_input({"type": "string", "title": "Content", "description": "The message content."})
WRITE_MULTI_MODAL_INPUT = _write_input(
    {**MULTI_MODAL_CONTENT, "title": "Content", "description": "The multi-modal message content."}
)
WRITE_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "status": {"type": "boolean", "title": "Status", "description": "The status of the write operation."}
    },
    "required": ["status"],
}

# --- the connection -------------------------------------------------------------------


def _optional_text(setup: Mapping[str, Any], name: str) -> str | None:
    value = setup.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ComponentError(f"setup.{name} must be a string")
    return value


@asynccontextmanager
async def _client(ctx: TaskContext) -> AsyncIterator[tuple[redis.asyncio.Redis, str]]:
    setup = ctx.setup
    host = setup_host(setup, "localhost")
    port = setup_port(setup, 6379)
    ssl = setup.get("ssl", False)
    if not isinstance(ssl, bool):
        raise ComponentError("setup.ssl must be true or false")
    address = await checked_address(host, port, ctx.config)
    try:
        import redis.asyncio
        from redis.asyncio.connection import Connection, SSLConnection
    except ImportError:
        raise ComponentError("the Redis client (redis) is not installed on this server") from None

    class CheckedConnection(Connection):
        """Connects to the checked address."""

        def _connection_arguments(self) -> Mapping[str, Any]:
            return {**super()._connection_arguments(), "host": address}

    class CheckedSSLConnection(SSLConnection):
        """Connects to the checked address; TLS checks the certificate against ``host``."""

        def _connection_arguments(self) -> Mapping[str, Any]:
            return {**super()._connection_arguments(), "host": address, "server_hostname": host}

    pool = redis.asyncio.ConnectionPool(
        connection_class=CheckedSSLConnection if ssl else CheckedConnection,
        host=host,
        port=port,
        username=_optional_text(setup, "username"),
        password=_optional_text(setup, "password"),
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        decode_responses=True,
        max_connections=2,
    )
    client = redis.asyncio.Redis(connection_pool=pool)
    where = f"Redis at {shown(host, port)}"
    try:
        yield client, where
    except redis.exceptions.AuthenticationError as exc:
        raise ComponentError(f"setup.username/password: {where} refused them: {exc}") from None
    except redis.exceptions.ResponseError as exc:
        if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
            raise ComponentError(f"setup.username/password: {where} refused them: {exc}") from None
        raise ComponentError(f"{where} refused the command: {exc}") from None
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
        raise ComponentError(f"setup: could not reach {where}: {exc}") from None
    finally:
        await client.aclose()
        await pool.aclose()


# --- messages -------------------------------------------------------------------------


def _session(input: Mapping[str, Any]) -> str:
    session = input.get("session-id")
    if not isinstance(session, str) or not session:
        raise ComponentError("session-id must be a non-empty string")
    return session


def _parts(content: Any) -> list[dict[str, Any]]:
    if not isinstance(content, list) or not content:
        raise ComponentError("content must be a non-empty list of parts ({type: text, text} or {type: image-url, ...})")
    parts: list[dict[str, Any]] = []
    for i, part in enumerate(content):
        where = f"content[{i}]"
        if not isinstance(part, Mapping) or part.get("type") not in ("text", "image-url"):
            raise ComponentError(f"{where} must be an object whose type is text or image-url")
        if part["type"] == "text":
            if not isinstance(part.get("text"), str):
                raise ComponentError(f"{where}.text must be a string")
            parts.append({"type": "text", "text": part["text"]})
        else:
            image = part.get("image-url")
            if not isinstance(image, Mapping) or not isinstance(image.get("url"), str) or not image["url"]:
                raise ComponentError(f"{where}.image-url.url must be the image's URL or base64 data")
            parts.append({"type": "image-url", "image-url": {"url": image["url"]}})
    return parts


async def _write(input: Mapping[str, Any], ctx: TaskContext, content: list[dict[str, Any]]) -> dict[str, Any]:
    session = _session(input)
    role = input.get("role")
    if not isinstance(role, str) or not role:
        raise ComponentError("role must be a non-empty string such as system, user or assistant")
    metadata = input.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise ComponentError("metadata must be an object")
    now = time.time()
    message: dict[str, Any] = {"role": role, "content": content}
    if metadata is not None:
        message["metadata"] = dict(metadata)
    message["timestamp"] = int(now)
    member = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    async with _client(ctx) as (client, _):
        if role == "system":
            await client.hset(SYSTEM_KEY, session, member)
        else:
            await client.zadd(history_key(session), {member: now})
    return {"status": True}


async def run_write_chat_message(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    content = input.get("content")
    if not isinstance(content, str):
        raise ComponentError("content must be a string")
    return await _write(input, ctx, [{"type": "text", "text": content}])


async def run_write_multi_modal_chat_message(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    return await _write(input, ctx, _parts(input.get("content")))


def _timestamp(message: Mapping[str, Any]) -> float:
    value = message.get("timestamp")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _stored(member: Any, where: str) -> dict[str, Any]:
    if not isinstance(member, str):
        raise ComponentError(f"{where} holds a value that is not a chat message")
    try:
        message = json.loads(member)
    except ValueError:
        message = None
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise ComponentError(f"{where} holds a value that is not a chat message: {member[:80]!r}")
    return message


def _shown(message: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message["role"], "content": message.get("content") or []}
    if message.get("metadata") is not None:
        out["metadata"] = message["metadata"]
    return out


async def run_retrieve_chat_history(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    session = _session(input)
    latest_k = input.get("latest-k")
    if latest_k is None or (isinstance(latest_k, int) and not isinstance(latest_k, bool) and latest_k <= 0):
        latest_k = DEFAULT_LATEST_K  # as Instill: an empty or non-positive K is the default
    if isinstance(latest_k, bool) or not isinstance(latest_k, int):
        raise ComponentError(f"latest-k must be a whole number of turns, not {latest_k!r}")
    include_system = input.get("include-system-message", True)
    if not isinstance(include_system, bool):
        raise ComponentError("include-system-message must be true or false")
    key = history_key(session)
    async with _client(ctx) as (client, _):
        newest_first = await client.zrevrange(key, 0, 2 * latest_k - 1)
        system = await client.hget(SYSTEM_KEY, session) if include_system else None
    history = [_stored(member, f"the sorted set {key}") for member in reversed(newest_first)]
    # Instill sorts by the messages' own timestamps (whole seconds); stable, so the
    # scores' order holds within a second.
    history.sort(key=_timestamp)
    messages = [_shown(m) for m in history]
    if system is not None:
        messages.insert(0, _shown(_stored(system, f"the hash {SYSTEM_KEY}")))
    return {"messages": messages, "status": True}


COMPONENT = ComponentDefinition(
    type="redis",
    title="Redis",
    kind="data",
    vendor="Redis Labs",
    version="0.1.1",
    description="Manage data in NoSQL Redis databases.",
    setup_schema=SETUP_SCHEMA,
    credential_fields=frozenset({"password"}),
    tasks=task_map(
        (
            (
                "TASK_RETRIEVE_CHAT_HISTORY",
                "Retrieve Chat History",
                "Retrieve chat history from Redis.",
                run_retrieve_chat_history,
                RETRIEVE_INPUT,
                RETRIEVE_OUTPUT,
            ),
            (
                "TASK_WRITE_CHAT_MESSAGE",
                "Write Chat Message",
                "Write chat message into Redis.",
                run_write_chat_message,
                WRITE_INPUT,
                WRITE_OUTPUT,
            ),
            (
                "TASK_WRITE_MULTI_MODAL_CHAT_MESSAGE",
                "Write Multi Modal Chat Message",
                "Write multi-modal chat message into Redis.",
                run_write_multi_modal_chat_message,
                WRITE_MULTI_MODAL_INPUT,
                WRITE_OUTPUT,
            ),
        )
    ),
)
