"""Platform keys: Instill recipes that say ``api-key: ${secret.INSTILL_SECRET}`` or give
no setup reach the server's model provider (PIPELINE_OPENAI_API_KEY /
PIPELINE_OPENAI_BASE_URL), here a real local OpenAI-compatible server
(tests/fake_openai.py), and the key never shows in anything the run hands out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.engine import Event, RecipeInvalid, execute, parse_recipe, to_json
from pipelines.engine.platform import PlatformSetup, setting_names, takes_platform_key

KEY = "sk-platform-0123456789abcdef"
FAST = {"openai_backoff_seconds": 0.01}

# The shape of Instill's openai README example (pipeline-backend
# pkg/component/ai/openai/v0/README.mdx, "Example Recipes"): the platform's key by name.
INSTILL_RECIPE = """
version: v1beta
variable:
  prompt:
    instill-format: string
    title: Prompt
component:
  openai-0:
    type: openai
    task: TASK_TEXT_GENERATION
    input:
      model: gpt-4o-mini
      prompt: ${variable.prompt}
      system-message: You are a helpful assistant.
    setup:
      api-key: ${secret.INSTILL_SECRET}
output:
  answer:
    title: Answer
    value: ${openai-0.output.texts[0]}
"""

NO_SETUP_RECIPE = INSTILL_RECIPE.replace("    setup:\n      api-key: ${secret.INSTILL_SECRET}\n", "")


def platform(fake, api_key: str = KEY, base_url: str | None = None) -> dict[str, Any]:
    """Engine config with the platform settings of the openai type, and no allow list:
    the platform's base URL is what lets the component reach the loopback fake."""
    setups = {"openai": PlatformSetup("openai", api_key, fake.base_url if base_url is None else base_url)}
    return {**FAST, "platform_setups": setups}


async def run(recipe_text: str, config: dict[str, Any], prompt: str = "hello there", **kwargs: Any):
    recipe = parse_recipe(recipe_text, registry=default_registry())
    events: list[Event] = []
    result = await execute(
        recipe, recipe.bind_rows([{"prompt": prompt}]), config=config, on_event=events.append, **kwargs
    )
    return result, events


def everything_handed_out(result, events) -> str:
    return json.dumps([to_json(result.rows[0].outputs), [to_json(e.payload()) for e in events]], default=str) + str(
        result
    )


@pytest.mark.parametrize("recipe_text", [INSTILL_RECIPE, NO_SETUP_RECIPE], ids=["instill-secret", "no-setup"])
async def test_recipe_reaches_the_server_base_url_with_the_server_key(fake_openai, recipe_text):
    """Both ways an Instill recipe asks for the platform's key send it as the Bearer
    token to PIPELINE_OPENAI_BASE_URL, and the recipe's answer comes back."""
    fake_openai.require_key(KEY)
    result, events = await run(recipe_text, platform(fake_openai))
    row = result.rows[0]
    assert not row.errored, row.components
    assert row.outputs == {"answer": "You said: hello there"}
    (request,) = fake_openai.chat_requests
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in everything_handed_out(result, events)


async def test_the_key_is_masked_where_a_component_echoes_it(fake_openai):
    """A prompt that makes the model repeat the key: the answer is masked in outputs,
    events and traces, like a namespace secret; another component reading the setup
    gets it masked, so it cannot carry the key anywhere."""
    recipe_text = NO_SETUP_RECIPE.replace(
        "output:",
        """  echo:
    type: openai
    task: TASK_TEXT_GENERATION
    input:
      model: gpt-4o-mini
      prompt: "key is ${openai-0.setup.api-key}"
output:
  echoed:
    value: ${echo.output.texts[0]}
""",
        1,
    )
    result, events = await run(recipe_text, platform(fake_openai), prompt=f"repeat {KEY}")
    row = result.rows[0]
    assert not row.errored, row.components
    assert row.outputs["answer"] == "You said: repeat ***"
    # The second component received the setup with the key masked, not the key.
    assert fake_openai.chat_requests[1].body["messages"][-1]["content"] == "key is ***"
    assert KEY not in everything_handed_out(result, events)


async def test_missing_key_is_an_error_naming_the_setting(fake_openai):
    result, _ = await run(INSTILL_RECIPE, platform(fake_openai, api_key=""))
    component = result.rows[0].components["openai-0"]
    assert component.status == "ERROR"
    assert "PIPELINE_OPENAI_API_KEY" in component.error
    assert "INSTILL_SECRET" in component.error
    assert fake_openai.requests == []


async def test_missing_key_without_any_platform_setting_names_it_too(fake_openai):
    result, _ = await run(INSTILL_RECIPE, {**FAST, "platform_setups": {}})
    component = result.rows[0].components["openai-0"]
    assert component.status == "ERROR"
    assert "PIPELINE_OPENAI_API_KEY" in component.error


async def test_the_key_is_never_sent_to_another_base_url(fake_openai):
    """A recipe cannot aim the server's key at a server of its choosing."""
    recipe_text = INSTILL_RECIPE.replace(
        "api-key: ${secret.INSTILL_SECRET}",
        "api-key: ${secret.INSTILL_SECRET}\n      base-url: http://attacker.example/v1",
    )
    result, _ = await run(recipe_text, platform(fake_openai))
    component = result.rows[0].components["openai-0"]
    assert component.status == "ERROR"
    assert "base-url" in component.error and "PIPELINE_OPENAI_BASE_URL" in component.error
    assert fake_openai.requests == []


async def test_the_base_url_is_allowed_for_the_vendor_type_only(fake_openai, http_server):
    """The platform base URL lets openai components reach it; the http component
    still may not reach a loopback host."""
    recipe_text = NO_SETUP_RECIPE.replace(
        "output:",
        f"""  fetch:
    type: http
    task: TASK_GET
    input:
      endpoint-url: {fake_openai.base_url}/models
output:""",
        1,
    )
    result, _ = await run(recipe_text, platform(fake_openai))
    components = result.rows[0].components
    assert components["openai-0"].status == "COMPLETED"
    assert components["fetch"].status == "ERROR"
    assert "refused" in components["fetch"].error


async def test_a_recipe_with_its_own_setup_is_untouched(fake_openai):
    """A setup that names its own secret gets that secret, not the server's key."""
    fake_openai.require_key("sk-user")
    recipe_text = INSTILL_RECIPE.replace(
        "api-key: ${secret.INSTILL_SECRET}",
        f"api-key: ${{secret.mine}}\n      base-url: {fake_openai.base_url}",
    )
    result, _ = await run(
        recipe_text, {**platform(fake_openai), "http_allowed_hosts": ["127.0.0.1"]}, secrets={"mine": "sk-user"}
    )
    assert not result.rows[0].errored
    assert fake_openai.chat_requests[0].headers["authorization"] == "Bearer sk-user"


def test_the_platform_secret_belongs_in_a_setup_only():
    recipe_text = INSTILL_RECIPE.replace("prompt: ${variable.prompt}", "prompt: ${secret.INSTILL_SECRET}")
    with pytest.raises(RecipeInvalid) as caught:
        parse_recipe(recipe_text, registry=default_registry())
    assert "component.openai-0.input.prompt" in str(caught.value)
    assert "only be used in the setup" in str(caught.value)


def test_setting_names_follow_the_component_type():
    assert setting_names("openai") == ("PIPELINE_OPENAI_API_KEY", "PIPELINE_OPENAI_BASE_URL")
    assert setting_names("mistral-ai") == ("PIPELINE_MISTRAL_AI_API_KEY", "PIPELINE_MISTRAL_AI_BASE_URL")
    # Every component whose setup has an api-key (or, keyless, a base-url or Instill's url)
    # takes one: the AI vendors', the vector stores' and the application components whose
    # service can be self-hosted (a base-url).
    takers = [d for d in default_registry() if takes_platform_key(d)]
    assert {"openai", "anthropic", "ollama", "cohere", "gemini", "universal-ai"} <= {d.type for d in takers}
    assert {"qdrant", "pinecone", "weaviate", "milvus", "zilliz", "chroma"} <= {d.type for d in takers}
    assert {d.kind for d in takers} <= {"ai", "data", "application"}


async def test_a_component_inside_an_iterator_takes_the_platform_key_too(fake_openai):
    fake_openai.require_key(KEY)
    recipe_text = """
version: v1beta
variable:
  prompts:
    instill-format: array:string
component:
  each:
    type: iterator
    input: ${variable.prompts}
    component:
      llm:
        type: openai
        task: TASK_TEXT_GENERATION
        input:
          model: gpt-4o-mini
          prompt: ${each.element}
        setup:
          api-key: ${secret.INSTILL_SECRET}
    output-elements:
      answer: ${llm.output.texts[0]}
output:
  answers:
    value: ${each.output.answer}
"""
    recipe = parse_recipe(recipe_text, registry=default_registry())
    result = await execute(recipe, recipe.bind_rows([{"prompts": ["one", "two"]}]), config=platform(fake_openai))
    assert result.rows[0].outputs == {"answers": ["You said: one", "You said: two"]}
    assert {r.headers["authorization"] for r in fake_openai.chat_requests} == {f"Bearer {KEY}"}
