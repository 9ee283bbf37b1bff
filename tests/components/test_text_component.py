"""The text component: TASK_CHUNK_TEXT with Token, Recursive and Markdown strategies."""

from __future__ import annotations

import itertools

import bpe_openai
import jsonschema
import pytest

from pipelines.components.text import COMPONENT
from pipelines.engine.components import ComponentError

ENCODING = bpe_openai.get_encoding("cl100k_base")

PROSE = (
    "Pipelines turn documents into answers. Each component does one thing well.\n\n"
    "The text component splits long inputs into chunks that fit a model's context. "
    "Chunks overlap a little so that a sentence cut in two is still seen whole once.\n\n"
    "Positions point back into the original text, so a chunk can be highlighted in place. "
    "Ünïcödé characters and 中文字符 count as single positions."
)


async def chunk(run, text, **setting):
    return await run(COMPONENT, "TASK_CHUNK_TEXT", {"text": text, "strategy": {"setting": setting}})


def assert_positions_point_into(text, chunks):
    for c in chunks:
        assert text[c["start-position"] : c["end-position"] + 1] == c["text"]


async def test_token_chunks_respect_size_and_overlap(run):
    """Token chunks hold at most chunk-size tokens and start chunk-size - overlap tokens apart."""
    text = PROSE * 3
    out = await chunk(run, text, **{"chunk-method": "Token", "chunk-size": 40, "chunk-overlap": 10})
    tokens = ENCODING.encode(text)
    chunks = out["text-chunks"]
    assert out["chunk-num"] == len(chunks) == len(range(0, len(tokens) - 10, 30))
    assert out["token-count"] == len(tokens)
    for c in chunks:
        assert c["token-count"] == len(ENCODING.encode(c["text"]))
        assert c["token-count"] <= 41  # a token split across characters may add one
    assert_positions_point_into(text, chunks)
    assert chunks[0]["start-position"] == 0
    assert chunks[-1]["end-position"] == len(text) - 1
    # Consecutive chunks share text (the overlap).
    for a, b in itertools.pairwise(chunks):
        assert b["start-position"] < a["end-position"]
    assert out["chunks-token-count"] == sum(c["token-count"] for c in chunks)


async def test_token_chunks_without_overlap_tile_the_text(run):
    """With chunk-overlap 0, token chunks cover the text exactly once."""
    out = await chunk(run, PROSE, **{"chunk-method": "Token", "chunk-size": 25, "chunk-overlap": 0})
    assert "".join(c["text"] for c in out["text-chunks"]) == PROSE
    assert out["chunks-token-count"] >= out["token-count"]


async def test_token_model_name_selects_the_encoding(run):
    """model-name picks the BPE encoding: gpt-4o counts with o200k."""
    out = await chunk(run, PROSE, **{"chunk-method": "Token", "chunk-size": 1000, "model-name": "gpt-4o"})
    assert out["token-count"] == len(bpe_openai.get_encoding("o200k_base").encode(PROSE))
    with pytest.raises(ComponentError, match="Unknown model-name"):
        await chunk(run, PROSE, **{"chunk-method": "Token", "model-name": "no-such-model"})


async def test_short_text_is_one_chunk(run):
    """Text shorter than a chunk comes back whole, with Instill's defaults (512/100, gpt-3.5-turbo)."""
    out = await chunk(run, "Hello world", **{"chunk-method": "Token"})
    assert out == {
        "chunk-num": 1,
        "text-chunks": [{"text": "Hello world", "start-position": 0, "end-position": 10, "token-count": 2}],
        "token-count": 2,
        "chunks-token-count": 2,
    }


async def test_overlap_must_be_less_than_size(run):
    """chunk-overlap >= chunk-size is refused for every method."""
    for method in ("Token", "Recursive", "Markdown"):
        with pytest.raises(ComponentError, match="must be less than chunk-size"):
            await chunk(run, PROSE, **{"chunk-method": method, "chunk-size": 10, "chunk-overlap": 10})


async def test_unknown_method_fails(run):
    """An unknown chunk-method is a component error."""
    with pytest.raises(ComponentError, match="Unknown chunk-method"):
        await chunk(run, PROSE, **{"chunk-method": "Sentence"})


async def test_recursive_splits_on_paragraphs_first(run):
    """Recursive keeps paragraphs whole when they fit, and every chunk fits chunk-size characters."""
    out = await chunk(run, PROSE, **{"chunk-method": "Recursive", "chunk-size": 170, "chunk-overlap": 0})
    texts = [c["text"] for c in out["text-chunks"]]
    assert texts[0] == "Pipelines turn documents into answers. Each component does one thing well."
    assert all(len(t) <= 170 for t in texts)
    assert_positions_point_into(PROSE, out["text-chunks"])


async def test_recursive_overlap_and_positions_with_repeated_text(run):
    """Overlapping chunks of repetitive text get the positions they were cut from."""
    text = "Hello world. " * 30
    out = await chunk(run, text, **{"chunk-method": "Recursive", "chunk-size": 50, "chunk-overlap": 10})
    chunks = out["text-chunks"]
    assert all(len(c["text"]) <= 50 for c in chunks)
    assert_positions_point_into(text, chunks)
    starts = [c["start-position"] for c in chunks]
    assert starts == sorted(starts)
    for a, b in itertools.pairwise(chunks):
        assert 0 <= a["end-position"] + 1 - b["start-position"] <= 10


async def test_recursive_custom_separators(run):
    """Custom separators are used in order; keep-separator keeps them at the start of pieces."""
    text = "a;b;c;d"
    out = await chunk(
        run, text, **{"chunk-method": "Recursive", "chunk-size": 3, "chunk-overlap": 0, "separators": [";"]}
    )
    assert [c["text"] for c in out["text-chunks"]] == ["a;b", "c;d"]
    out = await chunk(
        run,
        text,
        **{
            "chunk-method": "Recursive",
            "chunk-size": 3,
            "chunk-overlap": 0,
            "separators": [";"],
            "keep-separator": True,
        },
    )
    assert [c["text"] for c in out["text-chunks"]] == ["a;b", ";c", ";d"]
    assert_positions_point_into(text, out["text-chunks"])


MARKDOWN = """# Guide

Intro paragraph for the guide.

## Install

- first step
- second step
  - detail of step two
- third step

| name | value |
|------|-------|
| a    | 1     |
| b    | 2     |
| c    | 3     |

```python
def hello():
    return "world"
```

## Use

Run it and read the output carefully.
"""


async def test_markdown_prepends_headings_and_keeps_blocks(run):
    """Markdown chunks carry their heading path, keep list and code blocks whole, and point into the text."""
    out = await chunk(
        run, MARKDOWN, **{"chunk-method": "Markdown", "chunk-size": 80, "chunk-overlap": 0, "code-blocks": True}
    )
    texts = [c["text"] for c in out["text-chunks"]]
    assert texts[0] == "# Guide\n\nIntro paragraph for the guide."
    assert "# Guide\n## Install\n\n- first step\n- second step\n  - detail of step two\n- third step" in texts
    assert '# Guide\n## Install\n\n```python\ndef hello():\n    return "world"\n```' in texts
    assert texts[-1] == "# Guide\n## Use\n\nRun it and read the output carefully."
    for c in out["text-chunks"]:
        body = MARKDOWN[c["start-position"] : c["end-position"] + 1]
        assert c["text"].endswith(body)


async def test_markdown_repeats_the_table_head_in_continuations(run):
    """A table split over chunks repeats its header row and separator."""
    out = await chunk(run, MARKDOWN, **{"chunk-method": "Markdown", "chunk-size": 40, "chunk-overlap": 0})
    table_chunks = [c["text"] for c in out["text-chunks"] if "| name | value |" in c["text"]]
    assert len(table_chunks) >= 2
    assert all("|------|-------|" in t for t in table_chunks)
    assert any(t.endswith("| c    | 3     |") for t in table_chunks)


async def test_markdown_splits_oversized_paragraphs(run):
    """A paragraph longer than chunk-size is split recursively, each piece under the heading."""
    text = "# Long\n\n" + " ".join(f"word{i}" for i in range(60))
    out = await chunk(run, text, **{"chunk-method": "Markdown", "chunk-size": 50, "chunk-overlap": 5})
    assert out["chunk-num"] > 5
    for c in out["text-chunks"]:
        assert c["text"].startswith("# Long\n\n")
        assert len(c["text"]) - len("# Long\n\n") <= 50
        assert text[c["start-position"] : c["end-position"] + 1] == c["text"][len("# Long\n\n") :]


def test_schemas_accept_instill_settings():
    """Instill's recipe settings validate against the input schema."""
    schema = COMPONENT.tasks["TASK_CHUNK_TEXT"].input_schema
    jsonschema.validate({"text": "x", "strategy": {"setting": {"chunk-method": "Token", "chunk-size": 512}}}, schema)
    jsonschema.validate(
        {"text": "x", "strategy": {"setting": {"chunk-method": "Markdown", "code-blocks": True}}}, schema
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"text": "x", "strategy": {"setting": {"chunk-size": 5}}}, schema)
