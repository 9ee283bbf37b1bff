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
    assert Pipeline.objects.get(namespace=alice.namespace, slug="chat").is_public  # free to run: shared
    assert demo_ensure(namespace=alice.namespace) == []


def test_chat_demo_for_a_hosted_api_takes_the_key_from_a_secret(alice, settings):
    settings.PIPELINE_DEMO_OPENAI_BASE_URL = "https://api.openai.com/v1"
    settings.PIPELINE_DEMO_OPENAI_MODEL = "gpt-4o-mini"
    demo_ensure(namespace=alice.namespace)
    raw = Pipeline.objects.get(namespace=alice.namespace, slug="chat").raw_recipe
    assert 'api-key: "${secret.openai-api-key}"' in raw and 'model: "gpt-4o-mini"' in raw
    # It spends the owner's key: not runnable by everyone who signs up.
    assert not Pipeline.objects.get(namespace=alice.namespace, slug="chat").is_public
    assert Pipeline.objects.get(namespace=alice.namespace, slug="hello").is_public


def test_demo_model_server_is_open_to_the_openai_component_only(settings):
    """The demo's host:port passes the outbound guard for model calls, not for the http
    component (which could reach any path of it, e.g. a model server's admin API)."""
    from pipelines.services.run_execution import engine_config

    settings.PIPELINE_HTTP_ALLOWED_HOSTS = []
    settings.PIPELINE_LLM_ALLOWED_HOSTS = ["localhost:11434"]
    config = engine_config()
    assert "localhost:11434" in config["llm_allowed_hosts"] and "localhost:11434" not in config["http_allowed_hosts"]


def test_no_chat_demo_without_a_server(alice, settings):
    settings.PIPELINE_DEMO_OPENAI_BASE_URL = ""
    assert "chat" not in demo_ensure(namespace=alice.namespace)
