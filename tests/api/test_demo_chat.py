"""The ``chat`` demo: installed from settings, once, with a key only for servers that need one."""

from __future__ import annotations

from pipelines.demo import demo_ensure
from pipelines.models import Pipeline


def test_chat_demo_uses_the_configured_server_and_model_once(alice, settings):
    """demo_ensure installs chat for the configured local server, without an API key, and only once."""
    settings.PIPELINE_DEMO_OPENAI_BASE_URL = "http://localhost:11434/v1"
    settings.PIPELINE_DEMO_OPENAI_MODEL = "llama3.2"
    assert "chat" in demo_ensure(namespace=alice.namespace)
    raw = Pipeline.objects.get(namespace=alice.namespace, slug="chat").raw_recipe  # saved, so valid
    assert "type: openai" in raw and "task: TASK_TEXT_GENERATION" in raw
    assert 'base-url: "http://localhost:11434/v1"' in raw and 'model: "llama3.2"' in raw
    assert "api-key" not in raw
    assert demo_ensure(namespace=alice.namespace) == []


def test_chat_demo_for_a_hosted_api_takes_the_key_from_a_secret(alice, settings):
    settings.PIPELINE_DEMO_OPENAI_BASE_URL = "https://api.openai.com/v1"
    settings.PIPELINE_DEMO_OPENAI_MODEL = "gpt-4o-mini"
    demo_ensure(namespace=alice.namespace)
    raw = Pipeline.objects.get(namespace=alice.namespace, slug="chat").raw_recipe
    assert 'api-key: "${secret.openai-api-key}"' in raw and 'model: "gpt-4o-mini"' in raw


def test_no_chat_demo_without_a_server(alice, settings):
    settings.PIPELINE_DEMO_OPENAI_BASE_URL = ""
    assert "chat" not in demo_ensure(namespace=alice.namespace)
