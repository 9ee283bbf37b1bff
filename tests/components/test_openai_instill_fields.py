"""The text-generation inputs Instill's openai definition has beyond the classic ones:
sent under OpenAI's names where they are, accepted (validated, not sent) where not."""

from __future__ import annotations

from pipelines.components import default_registry
from pipelines.engine import validate_recipe
from tests.components.test_openai_component import generate


async def test_response_type_reasoning_effort_verbosity_and_prediction_are_sent(fake_openai):
    await generate(
        fake_openai,
        {
            "prompt": "hi",
            "response-type": {"type": "json_object"},
            "reasoning-effort": "low",
            "verbosity": "high",
            "prediction": {"content": "Hello"},
        },
    )
    [request] = fake_openai.requests
    assert request.body["response_format"] == {"type": "json_object"}
    assert request.body["reasoning_effort"] == "low" and request.body["verbosity"] == "high"
    assert request.body["prediction"] == {"type": "content", "content": "Hello"}


async def test_tools_and_tool_choice_are_accepted_but_not_sent(fake_openai):
    tools = [{"function": {"name": "lookup", "description": "Look up", "parameters": {}, "strict": False}}]
    out = await generate(fake_openai, {"prompt": "hi", "tools": tools, "tool-choice": "auto"})
    [request] = fake_openai.requests
    assert "tools" not in request.body and "tool_choice" not in request.body
    assert out["texts"]


def test_an_instill_recipe_using_them_is_valid():
    recipe = """\
component:
  ask:
    type: openai
    task: TASK_TEXT_GENERATION
    input:
      model: gpt-5
      prompt: hi
      reasoning-effort: minimal
      verbosity: low
      response-type: {type: json_schema, json-schema: '{"type": "object"}'}
      prediction: {content: x}
      tools: [{function: {name: f, description: d, parameters: {type: object}, strict: true}}]
      tool-choice: {function: {name: f}}
"""
    assert validate_recipe(recipe, registry=default_registry()) == []
