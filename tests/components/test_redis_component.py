"""The ``redis`` component's chat history against a real redis-server started by the
tests (tests/servers.py), in Instill's key layout (pipeline-backend
pkg/component/data/redis/v0/chat_history.go): what one writes the other reads."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import redis as redis_sync

from pipelines.components import default_registry
from pipelines.components.redis import COMPONENT, SYSTEM_KEY, history_key
from pipelines.engine import execute, parse_recipe
from pipelines.engine.components import ComponentError, TaskContext
from pipelines.engine.connections import packed
from pipelines.engine.values import to_json

USER, PASSWORD = "chat-app", "redis-pass-0123456789"


@pytest.fixture(scope="module")
def server(redis_server):
    """The session's redis-server, with an ACL user that has a password."""
    client = redis_sync.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
    client.execute_command("ACL", "SETUSER", USER, "on", f">{PASSWORD}", "~*", "+@all")
    yield redis_server, client
    client.close()


@pytest.fixture
def setup(server) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": server[0].port}


@pytest.fixture
def raw(server):
    return server[1]


CONFIG = {"http_allowed_hosts": ["127.0.0.1"]}


async def task(name: str, input: dict[str, Any], setup: dict[str, Any], config: dict[str, Any] = CONFIG) -> Any:
    return await COMPONENT.tasks[name].run(input, TaskContext("redis-0", name, setup, config))  # type: ignore[misc]


def session() -> str:
    return f"s-{uuid.uuid4().hex[:8]}"


def text(role: str, words: str, **more: Any) -> dict[str, Any]:
    return {"role": role, "content": [{"type": "text", "text": words}], **more}


async def test_messages_are_stored_in_instills_layout(setup, raw):
    sid = session()
    for role, content in (("system", "Be brief."), ("user", "hi"), ("assistant", "hello")):
        out = await task("TASK_WRITE_CHAT_MESSAGE", {"session-id": sid, "role": role, "content": content}, setup)
        assert out == {"status": True}
    await task(
        "TASK_WRITE_CHAT_MESSAGE",
        {"session-id": sid, "role": "user", "content": "bye", "metadata": {"lang": "en"}},
        setup,
    )
    system = json.loads(raw.hget(SYSTEM_KEY, sid))
    assert set(system) == {"role", "content", "timestamp"} and isinstance(system["timestamp"], int)
    assert system["role"] == "system" and system["content"] == [{"type": "text", "text": "Be brief."}]
    members = [json.loads(m) for m in raw.zrange(history_key(sid), 0, -1)]
    assert [(m["role"], m["content"][0]["text"]) for m in members] == [
        ("user", "hi"),
        ("assistant", "hello"),
        ("user", "bye"),
    ]
    assert members[2]["metadata"] == {"lang": "en"} and "metadata" not in members[0]


async def test_retrieve_gives_the_latest_turns_oldest_first_after_the_system_message(setup):
    sid = session()
    await task("TASK_WRITE_CHAT_MESSAGE", {"session-id": sid, "role": "system", "content": "old rules"}, setup)
    await task("TASK_WRITE_CHAT_MESSAGE", {"session-id": sid, "role": "system", "content": "Be brief."}, setup)
    for n in range(7):  # within one second: their order still holds
        role = "user" if n % 2 == 0 else "assistant"
        await task("TASK_WRITE_CHAT_MESSAGE", {"session-id": sid, "role": role, "content": f"m{n}"}, setup)
    out = await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": sid, "latest-k": 2}, setup)
    assert out["status"] is True
    assert out["messages"] == [
        text("system", "Be brief."),
        *(text(r, f"m{n}") for n, r in ((3, "assistant"), (4, "user"), (5, "assistant"), (6, "user"))),
    ]
    out = await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": sid, "include-system-message": False}, setup)
    assert [m["content"][0]["text"] for m in out["messages"]] == [f"m{n}" for n in range(7)]  # default: 5 turns
    empty = await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": session()}, setup)
    assert empty == {"messages": [], "status": True}


async def test_a_history_written_by_instill_is_read(setup, raw):
    """Members as Instill's Go structs marshal them (json.Marshal of
    MultiModalMessageWithTime), scored with whole seconds."""
    sid = session()
    raw.hset(
        SYSTEM_KEY, sid, '{"role":"system","content":[{"type":"text","text":"You are kind."}],"timestamp":1700000000}'
    )
    written = [
        (
            1700000001,
            '{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image-url","image-url":{"url":"https://example.com/a.png"}}],"metadata":{"k":1},"timestamp":1700000001}',
        ),
        (1700000002, '{"role":"assistant","content":[{"type":"text","text":"A cat."}],"timestamp":1700000002}'),
    ]
    for score, member in written:
        raw.zadd(history_key(sid), {member: score})
    out = await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": sid, "latest-k": 5}, setup)
    assert out["messages"] == [
        text("system", "You are kind."),
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image-url", "image-url": {"url": "https://example.com/a.png"}},
            ],
            "metadata": {"k": 1},
        },
        text("assistant", "A cat."),
    ]


async def test_multi_modal_messages_keep_their_parts(setup):
    sid = session()
    content = [
        {"type": "text", "text": "Look"},
        {"type": "image-url", "image-url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    out = await task(
        "TASK_WRITE_MULTI_MODAL_CHAT_MESSAGE", {"session-id": sid, "role": "user", "content": content}, setup
    )
    assert out == {"status": True}
    history = await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": sid}, setup)
    assert history["messages"] == [{"role": "user", "content": content}]


@pytest.mark.parametrize(
    ("name", "input", "message"),
    [
        ("TASK_WRITE_CHAT_MESSAGE", {"session-id": "", "role": "user", "content": "x"}, "session-id must be"),
        ("TASK_WRITE_CHAT_MESSAGE", {"session-id": "s", "role": "user", "content": 3}, "content must be a string"),
        ("TASK_WRITE_CHAT_MESSAGE", {"session-id": "s", "role": "", "content": "x"}, "role must be"),
        ("TASK_WRITE_CHAT_MESSAGE", {"session-id": "s", "role": "user", "content": "x", "metadata": [1]}, "metadata must be an object"),
        ("TASK_WRITE_MULTI_MODAL_CHAT_MESSAGE", {"session-id": "s", "role": "user", "content": "x"}, "content must be a non-empty list"),
        ("TASK_WRITE_MULTI_MODAL_CHAT_MESSAGE", {"session-id": "s", "role": "user", "content": [{"type": "audio"}]}, r"content\[0\] must be"),
        ("TASK_WRITE_MULTI_MODAL_CHAT_MESSAGE", {"session-id": "s", "role": "user", "content": [{"type": "image-url"}]}, r"content\[0\]\.image-url\.url"),
        ("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": "s", "latest-k": "2"}, "latest-k must be"),
    ],
)  # fmt: skip
async def test_bad_input_names_the_field(setup, name, input, message):
    with pytest.raises(ComponentError, match=message):
        await task(name, input, setup)


async def test_a_foreign_value_under_the_key_is_a_clear_error(setup, raw):
    sid = session()
    raw.zadd(history_key(sid), {"not json": 1})
    with pytest.raises(ComponentError, match="holds a value that is not a chat message"):
        await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": sid}, setup)
    raw.delete(history_key(sid))
    raw.set(history_key(sid), "a string")
    with pytest.raises(ComponentError, match="refused the command: WRONGTYPE"):
        await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": sid}, setup)


async def test_username_and_password(setup):
    sid = session()
    good = {**setup, "username": USER, "password": PASSWORD}
    assert await task("TASK_WRITE_CHAT_MESSAGE", {"session-id": sid, "role": "user", "content": "x"}, good) == {
        "status": True
    }
    with pytest.raises(ComponentError, match=r"^setup\.username/password: Redis at 127\.0\.0\.1:\d+ refused") as caught:
        await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": sid}, {**good, "password": "wrong-password-42"})
    assert "wrong-password-42" not in str(caught.value)


async def test_an_unreachable_server_is_a_setup_error(setup):
    from tests.scale.services import free_port

    closed = {**setup, "port": free_port()}
    with pytest.raises(ComponentError, match=r"^setup: could not reach Redis at 127\.0\.0\.1:\d+"):
        await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": "s"}, closed)
    with pytest.raises(ComponentError, match=r"setup\.port must be a port number"):
        await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": "s"}, {**setup, "port": 70000})


@pytest.mark.parametrize("host", [None, "127.0.0.1", "localhost", "192.168.1.10", "[::1]"])
async def test_the_outbound_guard_refuses_internal_hosts_unless_allowed(setup, host):
    refused = {**setup, "host": host} if host else {"port": setup["port"]}  # the default host is localhost
    with pytest.raises(ComponentError, match=r"^setup\.host: request to .* refused.*PIPELINE_HTTP_ALLOWED_HOSTS"):
        await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": "s"}, refused, {})


async def test_the_allow_list_by_host_and_port(setup):
    only_this = {"http_allowed_hosts": [f"127.0.0.1:{setup['port']}"]}
    assert (await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": session()}, setup, only_this))["status"]
    other = {"http_allowed_hosts": [f"127.0.0.1:{setup['port'] + 1}"]}
    with pytest.raises(ComponentError, match="refused"):
        await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": "s"}, setup, other)


# --- through the engine: ${secret.*} and ${connection.*} ------------------------------

RECIPE = """\
version: v1beta
variable:
  question: {instill-format: string}
component:
  remember:
    type: redis
    task: TASK_WRITE_CHAT_MESSAGE
    input: {session-id: SESSION, role: user, content: "${variable.question}"}
    setup: SETUP
  recall:
    type: redis
    task: TASK_RETRIEVE_CHAT_HISTORY
    condition: ${remember.output.status} == true
    input: {session-id: SESSION, latest-k: 1}
    setup: SETUP
output:
  written: {value: "${remember.output.status}"}
  messages: {value: "${recall.output.messages}"}
"""


async def run_recipe(text_: str, secrets: dict[str, str]):
    recipe = parse_recipe(text_, registry=default_registry())
    events: list[Any] = []
    result = await execute(
        recipe, recipe.bind_rows([{"question": "hello?"}]), config=CONFIG, secrets=secrets, on_event=events.append
    )
    return result, events


@pytest.mark.parametrize("how", ["secret", "connection"])
async def test_a_recipe_remembers_and_recalls_with_secret_or_connection_setup(setup, how):
    sid = session()
    if how == "secret":
        setup_text = (
            f"{{host: 127.0.0.1, port: {setup['port']}, username: {USER}, password: '${{secret.redis-password}}'}}"
        )
        secrets = {"redis-password": PASSWORD}
    else:
        setup_text = "${connection.chat-store}"
        secrets = packed("chat-store", {**setup, "username": USER, "password": PASSWORD}, [PASSWORD])
    result, events = await run_recipe(RECIPE.replace("SESSION", sid).replace("SETUP", setup_text), secrets)
    row = result.rows[0]
    assert not row.errored, row.components
    assert to_json(row.outputs) == {"written": True, "messages": [text("user", "hello?")]}
    assert PASSWORD not in str(result) + str([e.payload() for e in events])


async def test_a_wrong_password_fails_the_run_with_the_field_named_and_masked(setup):
    setup_text = f"{{host: 127.0.0.1, port: {setup['port']}, username: {USER}, password: '${{secret.redis-password}}'}}"
    result, _ = await run_recipe(
        RECIPE.replace("SESSION", session()).replace("SETUP", setup_text), {"redis-password": "nope-nope-nope"}
    )
    trace = result.rows[0].components["remember"]
    assert trace.status == "ERROR" and trace.error.startswith("setup.username/password:")
    assert "nope-nope-nope" not in str(result)


async def test_ssl_verifies_the_servers_name_while_connecting_to_the_checked_address(redis_tls_server, monkeypatch):
    """``ssl: true`` with host ``localhost``: the client connects to 127.0.0.1 (the
    checked address) and checks the certificate against ``localhost``; the CA comes from
    the system's trust store (SSL_CERT_FILE here), as Instill's client takes it."""
    setup = {"host": "localhost", "port": redis_tls_server.port, "ssl": True}
    allowed = {"http_allowed_hosts": ["localhost"]}
    with pytest.raises(ComponentError, match=r"^setup: could not reach Redis at localhost:\d+: .*certificate"):
        await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": "s"}, setup, allowed)
    monkeypatch.setenv("SSL_CERT_FILE", str(redis_tls_server.tls.path("ca.pem")))
    sid = session()
    await task("TASK_WRITE_CHAT_MESSAGE", {"session-id": sid, "role": "user", "content": "over TLS"}, setup, allowed)
    out = await task("TASK_RETRIEVE_CHAT_HISTORY", {"session-id": sid}, setup, allowed)
    assert out["messages"] == [text("user", "over TLS")]
