"""The openai component's TASK_TEXT_TO_IMAGE, TASK_SPEECH_RECOGNITION and
TASK_TEXT_TO_SPEECH, and max_completion_tokens, against the local OpenAI-compatible
server of tests/fake_openai.py (images/generations, audio/transcriptions as
multipart, audio/speech answering binary audio)."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.openai import COMPONENT
from pipelines.engine import execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.platform import PlatformSetup
from pipelines.engine.values import File
from tests.fake_openai import PNG, SPEECH_MP3, TRANSCRIPTION

FAST = {"http_allowed_hosts": ["127.0.0.1"], "openai_backoff_seconds": 0.01}
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"


async def run_openai(run, fake, task: str, input: dict[str, Any], **setup: Any) -> dict[str, Any]:
    return await run(COMPONENT, task, input, setup={"base-url": fake.base_url, **setup}, **FAST)


async def test_text_to_image_sends_instill_fields_and_returns_png_files(run, fake_openai):
    out = await run_openai(
        run,
        fake_openai,
        "TASK_TEXT_TO_IMAGE",
        {"model": "dall-e-3", "prompt": "A cute baby sea otter", "n": 2, "quality": "hd", "size": "1024x1792"},
        **{"api-key": "sk-img"},
    )
    [request] = fake_openai.requests
    assert request.path == "/v1/images/generations"
    assert request.headers["authorization"] == "Bearer sk-img"
    assert request.body == {
        "prompt": "A cute baby sea otter",
        "model": "dall-e-3",
        "n": 2,
        "quality": "hd",
        "size": "1024x1792",
        "response_format": "b64_json",
    }
    assert [r["revised-prompt"] for r in out["results"]] == [
        "A cute baby sea otter (revised 0)",
        "A cute baby sea otter (revised 1)",
    ]
    image = out["results"][0]["image"]
    assert isinstance(image, File)
    assert (image.mime_type, image.read(), image.filename) == ("image/png", PNG, "image-0.png")


async def test_text_to_image_defaults_to_dall_e_2_and_retries_429(run, fake_openai):
    fake_openai.fail(429)
    out = await run_openai(run, fake_openai, "TASK_TEXT_TO_IMAGE", {"prompt": "otter"})
    assert len(fake_openai.requests) == 2
    assert fake_openai.requests[-1].body == {"prompt": "otter", "model": "dall-e-2", "response_format": "b64_json"}
    assert len(out["results"]) == 1


async def test_text_to_image_error_carries_the_providers_message(run, fake_openai):
    fake_openai.fail(400, message="Your request was rejected as a result of our safety system.")
    with pytest.raises(ComponentError, match="answered 400: Your request was rejected"):
        await run_openai(run, fake_openai, "TASK_TEXT_TO_IMAGE", {"model": "dall-e-3", "prompt": "x"})
    assert len(fake_openai.requests) == 1


async def test_speech_recognition_posts_multipart_and_returns_the_text(run, fake_openai):
    out = await run_openai(
        run,
        fake_openai,
        "TASK_SPEECH_RECOGNITION",
        {
            "model": "whisper-1",
            "audio": File(WAV, filename="beach.wav"),
            "prompt": "Summer.",
            "language": "en",
            "temperature": 0.2,
        },
        **{"api-key": "sk-audio"},
    )
    assert out == {"text": TRANSCRIPTION["text"]}
    [request] = fake_openai.requests
    assert request.path == "/v1/audio/transcriptions"
    assert request.headers["authorization"] == "Bearer sk-audio"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.form() == {
        "model": "whisper-1",
        "response_format": "verbose_json",
        "prompt": "Summer.",
        "language": "en",
        "temperature": "0.2",
        "file": ("beach.wav", "audio/wav", WAV),
    }


async def test_speech_recognition_names_an_unnamed_audio_by_its_type(run, fake_openai):
    """OpenAI reads the format from the file name: a data URI gets one from its type."""
    data_uri = File(WAV).data_uri()
    await run_openai(run, fake_openai, "TASK_SPEECH_RECOGNITION", {"model": "whisper-1", "audio": data_uri})
    assert fake_openai.requests[0].form()["file"][0].endswith(".wav")


async def test_speech_recognition_refuses_what_is_not_audio(run, fake_openai):
    with pytest.raises(ComponentError, match="audio must be an audio file, got image/png"):
        await run_openai(run, fake_openai, "TASK_SPEECH_RECOGNITION", {"model": "whisper-1", "audio": File(PNG)})
    with pytest.raises(ComponentError, match="audio is required"):
        await run_openai(run, fake_openai, "TASK_SPEECH_RECOGNITION", {"model": "whisper-1"})
    assert fake_openai.requests == []


async def test_text_to_speech_returns_the_audio_file(run, fake_openai):
    out = await run_openai(
        run,
        fake_openai,
        "TASK_TEXT_TO_SPEECH",
        {"model": "tts-1-hd", "text": "Hello world", "voice": "nova", "response-type": "flac", "speed": 1.5},
    )
    [request] = fake_openai.requests
    assert request.path == "/v1/audio/speech"
    assert request.body == {
        "input": "Hello world",
        "model": "tts-1-hd",
        "voice": "nova",
        "response_format": "flac",
        "speed": 1.5,
    }
    audio = out["audio"]
    assert isinstance(audio, File)
    assert (audio.mime_type, audio.filename) == ("audio/flac", "speech.flac")
    assert audio.read() == SPEECH_MP3 + b"Hello world"


async def test_text_to_speech_defaults_and_mp3(run, fake_openai):
    out = await run_openai(run, fake_openai, "TASK_TEXT_TO_SPEECH", {"text": "Hi"})
    assert fake_openai.requests[0].body == {"input": "Hi", "model": "tts-1", "voice": "alloy"}
    assert (out["audio"].mime_type, out["audio"].filename) == ("audio/mpeg", "speech.mp3")


@pytest.mark.parametrize(
    ("model", "field"),
    [
        ("o1", "max_completion_tokens"),
        ("o3-mini", "max_completion_tokens"),
        ("o4-mini-2025-04-16", "max_completion_tokens"),
        ("gpt-5", "max_completion_tokens"),
        ("gpt-5-mini", "max_completion_tokens"),
        ("gpt-4o-mini", "max_tokens"),
        ("llama3.2", "max_tokens"),
        ("omni-model", "max_tokens"),
    ],
)
async def test_max_tokens_is_sent_as_max_completion_tokens_to_models_that_need_it(run, fake_openai, model, field):
    await run_openai(run, fake_openai, "TASK_TEXT_GENERATION", {"model": model, "prompt": "hi", "max-tokens": 30})
    body = fake_openai.requests[0].body
    assert body[field] == 30
    other = ({"max_tokens", "max_completion_tokens"} - {field}).pop()
    assert other not in body


# Instill's openai README (pipeline-backend pkg/component/ai/openai/v0/README.mdx,
# "Example Recipes", the second), byte for byte.
README_TEXT_GENERATION_RECIPE = """\
version: v1beta
component:
  openai:
    type: openai
    task: TASK_TEXT_GENERATION
    input:
      model: gpt-4o-mini
      n: 1
      prompt: |-
        Talk about this topic in ${variable.language}  in a concise and beginner-friendly way:
        ${variable.prompt}
      response-format:
        type: text
      system-message: You are a helpful assistant.
      temperature: 1
      top-p: 1
    setup:
      api-key: ${secret.INSTILL_SECRET}
variable:
  language:
    title: Language
    description: Input a language i.e. Chinese, Japanese, French, etc.
    type: string
  prompt:
    title: Prompt
    description: Write the topic you want to ask about here i.e. "Tell me about small LLMs"
    type: string
output:
  result:
    title: Result
    value: ${openai.output.texts}
"""


async def test_instill_readme_text_generation_recipe_runs_on_the_platform_key(fake_openai):
    registry = default_registry()
    recipe = parse_recipe(README_TEXT_GENERATION_RECIPE, registry=registry)
    setups = {"openai": PlatformSetup("openai", "sk-platform", fake_openai.base_url)}
    result = await execute(
        recipe,
        recipe.bind_rows([{"language": "French", "prompt": "Tell me about small LLMs"}]),
        registry=registry,
        config={"openai_backoff_seconds": 0.01, "platform_setups": setups},
    )
    prompt = "Talk about this topic in French  in a concise and beginner-friendly way:\nTell me about small LLMs"
    assert result.rows[0].outputs == {"result": [f"You said: {prompt}"]}
    [request] = fake_openai.requests
    assert request.headers["authorization"] == "Bearer sk-platform"
    assert request.body["messages"][-1] == {"role": "user", "content": prompt}
    assert (request.body["response_format"], request.body["temperature"], request.body["top_p"]) == (
        {"type": "text"},
        1,
        1,
    )
