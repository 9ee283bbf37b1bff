"""The ``rag`` demo: installed when the server has both a demo model server and its own
Chroma (PIPELINE_CHROMA_BASE_URL), with a key only for a hosted model API."""

from __future__ import annotations

from pipelines.demo import demo_ensure
from pipelines.models import Pipeline


def test_rag_demo_needs_the_servers_chroma(alice, settings):
    settings.PIPELINE_DEMO_OPENAI_BASE_URL = "http://localhost:11434/v1"
    settings.PIPELINE_CHROMA_BASE_URL = ""
    assert "rag" not in demo_ensure(namespace=alice.namespace)
    settings.PIPELINE_CHROMA_BASE_URL = "http://localhost:8000"
    settings.PIPELINE_DEMO_OPENAI_MODEL = "llama3.2"
    settings.PIPELINE_DEMO_OPENAI_EMBEDDING_MODEL = "nomic-embed-text"
    assert demo_ensure(namespace=alice.namespace) == ["rag"]
    pipeline = Pipeline.objects.get(namespace=alice.namespace, slug="rag")  # saved, so valid
    raw = pipeline.raw_recipe
    assert raw.count("type: chroma") == 3 and "setup" not in raw.split("type: chroma")[1].split("type:")[0]
    assert raw.count('model: "nomic-embed-text"') == 2 and 'model: "llama3.2"' in raw
    assert "api-key" not in raw and pipeline.is_public


def test_rag_demo_for_a_hosted_api_takes_the_key_from_a_secret(alice, settings):
    settings.PIPELINE_DEMO_OPENAI_BASE_URL = "https://api.openai.com/v1"
    settings.PIPELINE_CHROMA_BASE_URL = "http://localhost:8000"
    settings.PIPELINE_DEMO_OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"
    demo_ensure(namespace=alice.namespace)
    pipeline = Pipeline.objects.get(namespace=alice.namespace, slug="rag")
    # Three openai components (two embeddings, one answer), each with the owner's key.
    assert pipeline.raw_recipe.count('api-key: "${secret.openai-api-key}"') == 3
    assert not pipeline.is_public
