"""``setup: ${connection.<id>}`` in the engine: the connection's setup, handed in with
the run's secrets (pipelines/engine/connections.py), reaches the component — here the
openai component against a real local OpenAI-compatible server (tests/fake_openai.py)
— and its secret values are masked in everything the run hands out."""

from __future__ import annotations

import pytest

from pipelines.components import default_registry
from pipelines.engine import RecipeInvalid, parse_recipe
from pipelines.engine.connections import packed, referenced, split
from tests.components.test_openai_base_url import allowed
from tests.components.test_platform_keys import INSTILL_RECIPE, everything_handed_out, run

KEY = "sk-connection-0123456789abcdef"
RECIPE = INSTILL_RECIPE.replace(
    "    setup:\n      api-key: ${secret.INSTILL_SECRET}\n", "    setup: ${connection.ai}\n"
)


def connection(fake) -> dict[str, str]:
    return packed("ai", {"api-key": KEY, "base-url": fake.base_url}, [KEY])


async def test_the_connection_setup_reaches_the_component_and_is_masked(fake_openai):
    fake_openai.require_key(KEY)
    result, events = await run(RECIPE, allowed(fake_openai), prompt=f"repeat {KEY}", secrets=connection(fake_openai))
    row = result.rows[0]
    assert not row.errored, row.components
    assert row.outputs == {"answer": "You said: repeat ***"}
    assert fake_openai.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in everything_handed_out(result, events)


async def test_a_connection_the_run_lacks_fails_the_component(fake_openai):
    result, _ = await run(RECIPE, allowed(fake_openai))
    trace = result.rows[0].components["openai-0"]
    assert trace.status == "ERROR" and "${connection.ai}" in (trace.error or "")
    assert fake_openai.requests == []


def test_the_mapping_keeps_connections_out_of_the_secret_scope():
    plain, connections = split({"k": "v", **packed("ai", {"api-key": KEY}, [KEY])})
    assert plain == {"k": "v"} and connections == {"ai": {"api-key": KEY}}
    assert referenced(parse_recipe(RECIPE, registry=default_registry())) == {"ai"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (RECIPE.replace("${connection.ai}", "${connection}"), "must name a connection"),
        (RECIPE.replace("${connection.ai}", "${connection.ai.api-key}"), "must name a connection"),
        (RECIPE.replace("prompt: ${variable.prompt}", "prompt: ${connection.ai}"), "can only be a component's setup"),
    ],
)
def test_a_connection_is_a_whole_setup_and_nothing_else(text, words):
    with pytest.raises(RecipeInvalid) as caught:
        parse_recipe(text, registry=default_registry())
    assert words in str(caught.value)
