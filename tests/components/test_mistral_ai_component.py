"""The mistral-ai component against a local server speaking Mistral's chat
completions (streamed) and embeddings API (tests/fake_vendors.py), and the two
example recipes of Instill's README, the second with the openai component's
TASK_TEXT_TO_IMAGE (tests/fake_openai.py)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.mistral_ai import COMPONENT
from pipelines.engine import ComponentOutputUpdated, Event, execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.platform import PlatformSetup
from pipelines.engine.values import File
from tests.fake_openai import PNG, expected_embedding, tokens_of
from tests.fake_vendors import fixtures, run_task, start_mistral

_server, fake = fixtures(start_mistral)


async def run(fake, task: str, input: dict[str, Any], published: list | None = None, **setup: Any):
    return await run_task(COMPONENT, fake, task, input, published, **setup)


async def test_chat_streams_and_sends_mistrals_fields_with_instills_defaults(fake):
    published: list[dict] = []
    out = await run(
        fake,
        "TASK_TEXT_GENERATION_CHAT",
        {"model-name": "mistral-small-latest", "prompt": "hello there", "seed": 42, "safe": True, "top-k": 3},
        published,
        **{"api-key": "mistral-key"},
    )
    answer = "You said: hello there"
    tokens = tokens_of(answer)
    assert published == [{"text": "".join(tokens[: i + 1])} for i in range(len(tokens))]
    assert out == {"text": answer, "usage": {"input-tokens": 7, "output-tokens": len(tokens)}}
    [request] = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer mistral-key"
    assert request.headers["accept"] == "text/event-stream"
    assert request.body == {
        "model": "mistral-small-latest",
        "temperature": 0.7,
        "max_tokens": 50,
        "top_p": 0.5,
        "random_seed": 42,
        "safe_prompt": True,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "hello there"},
        ],
        "stream": True,
    }


async def test_chat_history_is_text_only_and_replaces_the_system_message(fake):
    history = [
        {"role": "system", "content": [{"type": "text", "text": "Be terse."}]},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Hi"}, {"type": "image_url", "image-url": {"url": "https://x/y.png"}}],
        },
        {"role": "assistant", "content": "Hello."},
    ]
    png = "data:image/png;base64," + base64.b64encode(PNG).decode()
    await run(
        fake,
        "TASK_TEXT_GENERATION_CHAT",
        {"model-name": "m", "prompt": "Go", "chat-history": history, "prompt-images": [png]},
    )
    assert fake.requests[0].body["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Go"},
    ]


async def test_chat_errors_and_retries(fake):
    fake.fail(429, "Requests rate limit exceeded")
    out = await run(fake, "TASK_TEXT_GENERATION_CHAT", {"model-name": "m", "prompt": "again"})
    assert out["text"] == "You said: again" and len(fake.requests) == 2
    fake.reset()
    fake.fail(401, "Unauthorized")
    with pytest.raises(ComponentError, match="answered 401: Unauthorized"):
        await run(fake, "TASK_TEXT_GENERATION_CHAT", {"model-name": "m", "prompt": "x"})
    fake.reset()
    fake.stream_error = {"message": "Service unavailable", "type": "internal_error"}
    with pytest.raises(ComponentError, match="error while streaming: Service unavailable"):
        await run(fake, "TASK_TEXT_GENERATION_CHAT", {"model-name": "m", "prompt": "x y"})
    assert len(fake.requests) == 1
    with pytest.raises(ComponentError, match="model-name is required"):
        await run(fake, "TASK_TEXT_GENERATION_CHAT", {"prompt": "x"})


async def test_a_whole_completion_is_read_too(fake):
    fake.ignore_stream = True
    out = await run(fake, "TASK_TEXT_GENERATION_CHAT", {"model-name": "m", "prompt": "whole"})
    assert out == {"text": "You said: whole", "usage": {"input-tokens": 6, "output-tokens": 3}}


async def test_embeddings(fake):
    out = await run(fake, "TASK_TEXT_EMBEDDINGS", {"model-name": "mistral-embed", "text": "Embed this sentence."})
    assert out == {"embedding": expected_embedding("Embed this sentence.", 8), "usage": {"tokens": 3}}
    [request] = fake.requests
    assert request.path == "/v1/embeddings"
    assert request.body == {"model": "mistral-embed", "input": ["Embed this sentence."]}


async def test_embeddings_error(fake):
    fake.fail(400, "Invalid model: nope")
    with pytest.raises(ComponentError, match="answered 400: Invalid model: nope"):
        await run(fake, "TASK_TEXT_EMBEDDINGS", {"model-name": "nope", "text": "x"})


# Instill's mistral-ai README (pipeline-backend pkg/component/ai/mistralai/v0/README.mdx,
# "Example Recipes", the first), byte for byte.
README_SCRIPT_RECIPE = """\
version: v1beta
component:
  mistral-0:
    type: mistral-ai
    task: TASK_TEXT_GENERATION_CHAT
    input:
      max-new-tokens: 1500
      model-name: codestral-latest
      prompt: |-
        Generate a short-film movie script with the following placeholders:
        [THEME]: ${variable.theme}
        [GENRE]: ${variable.genre}
        [NUM_ACTORS]: ${variable.num_actors}
        [SETTING]: ${variable.setting}
        [TIME_PERIOD]: The era or time frame of the story
        [DURATION]: ${variable.duration}
        [CONFLICT]: ${variable.conflict}

        Please create a script that includes:

        A brief synopsis (2-3 sentences)
        Character descriptions for each main character
        Scene-by-scene breakdown with dialogue and basic action descriptions
        A conclusion that resolves the main conflict

        Ensure the script is coherent, engaging, and fits within the specified parameters. Be creative with the storytelling while maintaining the structure of a proper short film script.
      safe: false
      system-message: You are a helpful assistant.
      temperature: 0.7
      top-k: 10
      top-p: 0.5
    setup:
      api-key: ${secret.INSTILL_SECRET}
variable:
  conflict:
    title: Conflict
    description: The main problem or challenge faced by the characters i.e. existential crisis
    type: string
  duration:
    title: Duration
    description: Approximate length of the film in minutes i.e. 5
    type: string
  genre:
    title: Genre
    description: The type of genre for this film i.e. romance, comedy, horror, action, etc.
    type: string
  num_actors:
    title: Num_actors
    description: The number of actors that will be in this film i.e. 2
    type: string
  setting:
    title: Setting
    description: |
      The primary location where the story takes place i.e. Rome
    type: string
  theme:
    title: Theme
    description: Insert the main theme or central idea of the film i.e. time travelling
    type: string
  time-period:
    title: Time Period
    description: The era or time frame of the story i.e. stone age, 20th century, etc.
    type: string
output:
  result:
    title: Result
    value: ${mistral-0.output.text}
"""

# The README's second example recipe (the same in the openai README), byte for byte.
README_PICASSO_RECIPE = """\
version: v1beta
component:
  mistral-0:
    type: mistral-ai
    task: TASK_TEXT_GENERATION_CHAT
    input:
      max-new-tokens: 100
      model-name: open-mixtral-8x22b
      prompt: |-
        Generate a Picasso-inspired image based on the following user input:

        ${variable.prompt}

        Using the specified Picasso period: ${variable.period}


        Transform this input into a detailed text-to-image prompt by:

        1. Identifying the key elements or subjects in the user's description

        2. Adding artistic elements and techniques specific to the ${variable.period} period of Picasso's work

        3. Including cubist or abstract features characteristic of the ${variable.period}

        4. Suggesting a composition or scene layout typical of Picasso's work from this era

        Enhance the prompt with vivid, descriptive language and specific Picasso-style elements from the ${variable.period}. The final prompt should begin with "Create an image in the style of Picasso's ${variable.period} period:" followed by the enhanced description.
      safe: false
      system-message: You are a helpful assistant.
      temperature: 0.7
      top-k: 10
      top-p: 0.5
    setup:
      api-key: ${secret.INSTILL_SECRET}
  openai-0:
    type: openai
    task: TASK_TEXT_TO_IMAGE
    input:
      model: dall-e-3
      n: 1
      prompt: |-
        Using this primary color palette: ${variable.colour}

        ${mistral-0.output.text}
      quality: standard
      size: 1024x1024
      style: vivid
    setup:
      api-key: ${secret.INSTILL_SECRET}
variable:
  colour:
    title: Colour
    description: Describe the main colour to use i.e. blue, random
    type: string
    instill-ui-order: 1
  period:
    title: Period
    description: |
      Input different Picasso periods i.e. Blue, Rose, African, Synthetic Cubism, etc.
    type: string
  prompt:
    title: Prompt
    description: Input prompt here i.e. "A cute baby wombat"
    type: string
output:
  image:
    title: Image
    value: ${openai-0.output.results}
"""


async def test_readme_script_recipe_runs_on_the_platform_key(fake):
    registry = default_registry()
    recipe = parse_recipe(README_SCRIPT_RECIPE, registry=registry)
    row = {
        "conflict": "existential crisis",
        "duration": "5",
        "genre": "comedy",
        "num_actors": "2",
        "setting": "Rome",
        "theme": "time travelling",
    }
    events: list[Event] = []
    setups = {"mistral-ai": PlatformSetup("mistral-ai", "mistral-platform-key", fake.base_url)}
    result = await execute(
        recipe,
        recipe.bind_rows([row]),
        registry=registry,
        config={"openai_backoff_seconds": 0.01, "platform_setups": setups},
        on_event=events.append,
    )
    [request] = fake.requests
    prompt = request.body["messages"][-1]["content"]
    assert prompt.startswith(
        "Generate a short-film movie script with the following placeholders:\n[THEME]: time travelling\n"
    )
    assert "[SETTING]: Rome\n[TIME_PERIOD]: The era or time frame of the story\n[DURATION]: 5\n" in prompt
    assert result.rows[0].outputs == {"result": f"You said: {prompt}"}
    assert request.headers["authorization"] == "Bearer mistral-platform-key"
    assert (request.body["model"], request.body["max_tokens"], request.body["safe_prompt"]) == (
        "codestral-latest",
        1500,
        False,
    )
    assert len([e for e in events if isinstance(e, ComponentOutputUpdated)]) > 2  # streamed


async def test_readme_picasso_recipe_feeds_mistral_into_dall_e(fake, fake_openai):
    registry = default_registry()
    recipe = parse_recipe(README_PICASSO_RECIPE, registry=registry)
    setups = {
        "mistral-ai": PlatformSetup("mistral-ai", "mistral-platform-key", fake.base_url),
        "openai": PlatformSetup("openai", "sk-platform", fake_openai.base_url),
    }
    result = await execute(
        recipe,
        recipe.bind_rows([{"colour": "blue", "period": "Rose", "prompt": "A cute baby wombat"}]),
        registry=registry,
        config={"openai_backoff_seconds": 0.01, "platform_setups": setups},
    )
    row = result.rows[0]
    mistral_prompt = fake.requests[0].body["messages"][-1]["content"]
    assert mistral_prompt.startswith(
        "Generate a Picasso-inspired image based on the following user input:\n\nA cute baby wombat\n"
    )
    [image_request] = fake_openai.requests
    assert image_request.path == "/v1/images/generations"
    assert image_request.body == {
        "prompt": f"Using this primary color palette: blue\n\nYou said: {mistral_prompt}",
        "model": "dall-e-3",
        "n": 1,
        "quality": "standard",
        "size": "1024x1024",
        "style": "vivid",
        "response_format": "b64_json",
    }
    [image] = row.outputs["image"]
    assert isinstance(image["image"], File) and image["image"].read() == PNG
    assert image["revised-prompt"].endswith("(revised 0)")
