"""Demo pipelines installed by ``manage.py serve`` (public, owned by the admin)."""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from pipelines.models import Namespace, Pipeline
from pipelines.services.pipelines import pipeline_create

HELLO = """\
version: v1beta
# The smallest useful pipeline: one variable in, one component, one output.
variable:
  prompt:
    title: Prompt
    description: Who to greet.
    type: string
    required: true
    instill-ui-order: 0
component:
  greet:
    type: json
    task: TASK_JQ
    input:
      json-value: ${variable.prompt}
      jq-filter: '"Hello \\(.)"'
output:
  answer:
    title: Answer
    value: ${greet.output.results[0]}
"""

CHUNK_AND_JQ = """\
version: v1beta
# Split a text into chunks, count the words of each chunk in an iterator,
# and (when mode is "summary") add them up with jq.
variable:
  text:
    title: Text
    description: The text to split.
    type: string
    required: true
    instill-ui-order: 0
  chunk-size:
    title: Chunk size
    description: Largest chunk, in characters.
    type: integer
    default: 200
    instill-ui-order: 1
  mode:
    title: Mode
    description: '"summary" adds a total; anything else skips it.'
    type: string
    default: summary
    instill-ui-order: 2
component:
  split:
    type: text
    task: TASK_CHUNK_TEXT
    input:
      text: ${variable.text}
      strategy:
        setting:
          chunk-method: Recursive
          chunk-size: ${variable.chunk-size}
          chunk-overlap: 0
  count:
    type: iterator
    input: ${split.output.text-chunks}
    component:
      words:
        type: json
        task: TASK_JQ
        input:
          json-value: ${count.element}
          jq-filter: '{text: .text, words: (.text | [splits("\\\\s+")] | map(select(length > 0)) | length)}'
    output-elements:
      chunk: ${words.output.results[0]}
  total:
    type: json
    task: TASK_JQ
    condition: ${variable.mode} == "summary"
    input:
      json-value: ${count.output.chunk}
      jq-filter: '{chunks: length, words: (map(.words) | add)}'
output:
  chunks:
    title: Chunks
    value: ${count.output.chunk}
  summary:
    title: Summary
    value: ${total.output.results[0]}
"""

CHAT = """\
version: v1beta
# Chat with a language model on any OpenAI-compatible server (Ollama, OpenAI, vLLM,
# llama.cpp). Trigger it with "Accept: text/event-stream" to see the answer token by token.
variable:
  prompt:
    title: Prompt
    description: What to ask.
    type: string
    required: true
    instill-ui-order: 0
  system-message:
    title: System message
    description: How the assistant should behave (not sent when there is a chat history).
    type: string
    default: You are a helpful assistant.
    instill-ui-order: 1
  chat-history:
    title: Chat history
    description: 'Earlier messages: [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}].'
    type: json
    default: []
    instill-ui-order: 2
component:
  llm:
    type: openai
    task: TASK_TEXT_GENERATION
    input:
      model: __MODEL__
      prompt: ${variable.prompt}
      system-message: ${variable.system-message}
      chat-history: ${variable.chat-history}
    setup:
      base-url: __BASE_URL__
__API_KEY__output:
  answer:
    title: Answer
    value: ${llm.output.texts[0]}
  usage:
    title: Usage
    value: ${llm.output.usage}
"""
CHAT_API_KEY_SECRET = "openai-api-key"


def _needs_key(base_url: str) -> bool:
    """Servers on this machine or a private network (Ollama, llama.cpp) take no key;
    anything else (OpenAI and other hosted APIs) gets ``${secret.openai-api-key}``."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    return not (address.is_private or address.is_loopback or address.is_link_local)


def chat_recipe(*, base_url: str, model: str, template: str = CHAT) -> str:
    """The ``chat`` demo (or another ``template`` with its placeholders) for one server
    and model (JSON strings are YAML strings)."""
    api_key = f'      api-key: "${{secret.{CHAT_API_KEY_SECRET}}}"\n' if _needs_key(base_url) else ""
    return (
        template.replace("__MODEL__", json.dumps(model))
        .replace("__BASE_URL__", json.dumps(base_url))
        .replace("__API_KEY__", api_key)
    )


RAG = """\
version: v1beta
# Retrieval-augmented answers: the passages given are embedded and upserted into the
# server's Chroma collection "rag-demo" (PIPELINE_CHROMA_BASE_URL); the question is
# embedded, the closest passages queried, and the model answers from them. Needs an
# OpenAI-compatible server for the embeddings and the answer (Ollama with
# nomic-embed-text and llama3.2, say) and a Chroma server (pip install chromadb;
# chroma run).
variable:
  question:
    title: Question
    description: What to ask about the passages stored so far.
    type: string
    required: true
    instill-ui-order: 0
  passages:
    title: Passages
    description: Texts to add to the collection first (each is embedded and upserted; none is fine).
    type: array:string
    default: []
    instill-ui-order: 1
component:
  collection:
    type: chroma
    task: TASK_CREATE_COLLECTION
    input:
      collection-name: rag-demo
      get-or-create: true
  store:
    type: iterator
    input: ${variable.passages}
    condition: ${collection.status.completed}
    component:
      passage-embedding:
        type: openai
        task: TASK_TEXT_EMBEDDINGS
        input:
          model: __EMBEDDING_MODEL__
          text: ${store.element}
        setup:
          base-url: __BASE_URL__
__NESTED_API_KEY__      upsert:
        type: chroma
        task: TASK_UPSERT
        input:
          collection-name: rag-demo
          id: ${store.element}
          metadata: {source: rag-demo}
          vector: ${passage-embedding.output.embedding}
          document: ${store.element}
    output-elements:
      status: ${upsert.output.status}
  question-embedding:
    type: openai
    task: TASK_TEXT_EMBEDDINGS
    input:
      model: __EMBEDDING_MODEL__
      text: ${variable.question}
    setup:
      base-url: __BASE_URL__
__API_KEY__  search:
    type: chroma
    task: TASK_QUERY
    # After the passages are stored (none given: the iterator has nothing to do).
    condition: ${store.status.completed} || ${store.status.skipped}
    input:
      collection-name: rag-demo
      vector: ${question-embedding.output.embedding}
      n-results: 3
  context:
    type: json
    task: TASK_JQ
    input:
      json-value: ${search.output.result.items}
      jq-filter: '[.[].document] | join("\\n\\n")'
  llm:
    type: openai
    task: TASK_TEXT_GENERATION
    input:
      model: __MODEL__
      system-message: "Answer the question from these passages only; say so when they do not tell.\\n\\n${context.output.results[0]}"
      prompt: ${variable.question}
    setup:
      base-url: __BASE_URL__
__API_KEY__output:
  answer:
    title: Answer
    value: ${llm.output.texts[0]}
  passages:
    title: Passages used
    value: ${search.output.result.items}
"""


def rag_recipe(*, base_url: str, model: str, embedding_model: str) -> str:
    """The ``rag`` demo for one OpenAI-compatible server, chat model and embedding model."""
    nested_key = f'          api-key: "${{secret.{CHAT_API_KEY_SECRET}}}"\n' if _needs_key(base_url) else ""
    template = RAG.replace("__NESTED_API_KEY__", nested_key)
    return chat_recipe(base_url=base_url, model=model, template=template).replace(
        "__EMBEDDING_MODEL__", json.dumps(embedding_model)
    )


DEMOS = {
    "hello": ("Says hello to whoever you name: the pipeline of the README's tour.", HELLO),
    "chunk-and-jq": (
        "Chunks a text, counts words per chunk in an iterator, and sums them under a condition.",
        CHUNK_AND_JQ,
    ),
}

PUBLIC = {"users": {"*/*": {"enabled": True, "role": "ROLE_EXECUTOR"}}}


def _demos() -> dict[str, tuple[str, str, dict | None]]:
    """id → (description, recipe, sharing). Public, except a chat demo that spends the
    owner's API key: everyone could run it (sign-up is open by default) on their bill."""
    demos: dict[str, tuple[str, str, dict | None]] = {
        pipeline_id: (description, raw, PUBLIC) for pipeline_id, (description, raw) in DEMOS.items()
    }
    base_url = settings.PIPELINE_DEMO_OPENAI_BASE_URL
    if base_url:  # empty: no chat demo
        model = settings.PIPELINE_DEMO_OPENAI_MODEL
        demos["chat"] = (
            f"Chats with {model} at {base_url}, streaming the answer token by token.",
            chat_recipe(base_url=base_url, model=model),
            None if _needs_key(base_url) else PUBLIC,
        )
        store = getattr(settings, "PIPELINE_CHROMA_BASE_URL", "")
        if store:  # the server's own Chroma: the rag demo
            embedding_model = settings.PIPELINE_DEMO_OPENAI_EMBEDDING_MODEL
            demos["rag"] = (
                f"Answers questions from passages it stores in Chroma at {store}, "
                f"with {embedding_model} embeddings and {model} at {base_url}.",
                rag_recipe(base_url=base_url, model=model, embedding_model=embedding_model),
                None if _needs_key(base_url) else PUBLIC,
            )
    return demos


@transaction.atomic
def demo_ensure(*, namespace: Namespace) -> list[str]:
    """Create the demo pipelines that are missing (never overwrites edits); returns the ids created."""
    created = []
    for pipeline_id, (description, raw, sharing) in _demos().items():
        if Pipeline.objects.filter(namespace=namespace, slug=pipeline_id).exists():
            continue
        pipeline_create(
            namespace=namespace, pipeline_id=pipeline_id, description=description, raw_recipe=raw, sharing=sharing
        )
        created.append(pipeline_id)
    return created
