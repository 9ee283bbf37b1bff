"""Demo pipelines installed by ``manage.py serve`` (public, owned by the admin)."""

from __future__ import annotations

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

DEMOS = {
    "hello": ("Says hello to whoever you name: the pipeline of the README's tour.", HELLO),
    "chunk-and-jq": ("Chunks a text, counts words per chunk in an iterator, and sums them under a condition.", CHUNK_AND_JQ),
}

PUBLIC = {"users": {"*/*": {"enabled": True, "role": "ROLE_EXECUTOR"}}}


@transaction.atomic
def demo_ensure(*, namespace: Namespace) -> list[str]:
    """Create the demo pipelines that are missing (never overwrites edits); returns the ids created."""
    created = []
    for pipeline_id, (description, raw) in DEMOS.items():
        if Pipeline.objects.filter(namespace=namespace, slug=pipeline_id).exists():
            continue
        pipeline_create(namespace=namespace, pipeline_id=pipeline_id, description=description, raw_recipe=raw, sharing=PUBLIC)
        created.append(pipeline_id)
    return created
