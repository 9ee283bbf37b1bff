"""The ``text`` operator: ``TASK_CHUNK_TEXT`` (Instill ``text`` v0).

Three strategies, as in Instill:

- ``Token``: windows of ``chunk-size`` tokens of the model's BPE encoding, each
  starting ``chunk-size - chunk-overlap`` tokens after the previous one;
- ``Recursive``: LangChain's RecursiveCharacterTextSplitter (which Instill uses via
  langchaingo): split on the first separator present, merge pieces up to
  ``chunk-size`` characters with ``chunk-overlap`` characters carried over,
  recurse into pieces that are still too long with the next separators;
- ``Markdown``: sections under headings, split at block boundaries (paragraphs,
  list items, table rows, fenced code), each chunk prefixed with the headings it
  sits under; sizes are in characters of the content.

Positions are character (code point) offsets into the input; ``end-position`` is
inclusive, as in Instill.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Any

from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext

DEFAULT_CHUNK_SIZE = 512
DEFAULT_CHUNK_OVERLAP = 100
DEFAULT_MODEL = "gpt-3.5-turbo"
DEFAULT_SEPARATORS = ("\n\n", "\n", " ", "")
# The encodings bundled by bpe-openai; older models' encodings (r50k, p50k,
# gpt2) need files that cannot be downloaded here, so they count with cl100k.
_BUNDLED_ENCODINGS = frozenset({"cl100k_base", "o200k_base"})
_FALLBACK_ENCODING = "cl100k_base"

MODEL_NAMES = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4",
    "gpt-3.5-turbo",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-davinci-003",
    "text-davinci-002",
    "text-davinci-001",
    "text-curie-001",
    "text-babbage-001",
    "text-ada-001",
    "davinci",
    "curie",
    "babbage",
    "ada",
    "code-davinci-002",
    "code-davinci-001",
    "code-cushman-002",
    "code-cushman-001",
    "davinci-codex",
    "cushman-codex",
    "text-davinci-edit-001",
    "code-davinci-edit-001",
    "text-embedding-ada-002",
    "text-similarity-davinci-001",
    "text-similarity-curie-001",
    "text-similarity-babbage-001",
    "text-similarity-ada-001",
    "text-search-davinci-doc-001",
    "text-search-curie-doc-001",
    "text-search-babbage-doc-001",
    "text-search-ada-doc-001",
    "code-search-babbage-code-001",
    "code-search-ada-code-001",
    "gpt2",
]

_COMMON_SETTING = {
    "chunk-size": {
        "type": "integer",
        "minimum": 1,
        "default": DEFAULT_CHUNK_SIZE,
        "title": "Chunk Size",
        "description": "Specifies the maximum size of each chunk in terms of the number of tokens "
        "(Token) or characters (Recursive, Markdown).",
    },
    "chunk-overlap": {
        "type": "integer",
        "minimum": 0,
        "default": DEFAULT_CHUNK_OVERLAP,
        "title": "Chunk Overlap",
        "description": "Determines the number of tokens that overlap between consecutive chunks; "
        "must be less than the chunk size.",
    },
    "model-name": {
        "type": "string",
        "title": "Model",
        "description": "The name of the model used for tokenization.",
        "examples": MODEL_NAMES,
    },
}

CHUNK_TEXT_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "text": {"type": "string", "title": "Text", "description": "Text to be chunked."},
        "strategy": {
            "type": "object",
            "title": "Strategy",
            "description": "Chunking strategy.",
            "properties": {
                "setting": {
                    "type": "object",
                    "title": "Setting",
                    "description": "Chunk Setting.",
                    "required": ["chunk-method"],
                    "properties": {
                        "chunk-method": {"type": "string", "enum": ["Token", "Recursive", "Markdown"]},
                    },
                    "oneOf": [
                        {
                            "title": "Token",
                            "description": "Chunking based on tokenization.",
                            "properties": {
                                "chunk-method": {"const": "Token"},
                                **_COMMON_SETTING,
                                "allowed-special": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "default": [],
                                    "title": "Allowed Special Tokens",
                                    "description": "A list of special tokens that are allowed within chunks.",
                                },
                                "disallowed-special": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "default": [],
                                    "title": "Disallowed Special Tokens",
                                    "description": "A list of special tokens that should not appear within chunks.",
                                },
                            },
                        },
                        {
                            "title": "Recursive",
                            "description": "Recommended for generic text: tries to split on the separators "
                            'in order ("\\n\\n", "\\n", " ", "" by default) until the chunks are small enough.',
                            "properties": {
                                "chunk-method": {"const": "Recursive"},
                                **_COMMON_SETTING,
                                "separators": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "default": [],
                                    "title": "Separators",
                                    "description": "A list of strings representing the separators used to split the text.",
                                },
                                "keep-separator": {
                                    "type": "boolean",
                                    "title": "Keep Separator",
                                    "description": "Whether to keep the separator characters at the beginning of chunks.",
                                },
                            },
                        },
                        {
                            "title": "Markdown",
                            "description": "This text splitter is specially designed for Markdown format.",
                            "properties": {
                                "chunk-method": {"const": "Markdown"},
                                **_COMMON_SETTING,
                                "code-blocks": {
                                    "type": "boolean",
                                    "title": "Code Blocks",
                                    "description": "Whether code blocks should be treated as a single unit.",
                                },
                            },
                        },
                    ],
                },
            },
            "required": ["setting"],
        },
    },
    "required": ["text", "strategy"],
}

CHUNK_TEXT_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "chunk-num": {
            "type": "integer",
            "title": "Number of Text Chunks",
            "description": "Total number of output text chunks.",
        },
        "text-chunks": {
            "type": "array",
            "title": "Text Chunks",
            "description": "Text chunks after splitting.",
            "items": {
                "type": "object",
                "title": "Text Chunk",
                "properties": {
                    "text": {"type": "string", "title": "Text", "description": "Text chunk after splitting."},
                    "start-position": {
                        "type": "integer",
                        "title": "Start Position",
                        "description": "The starting position of the chunk in the original text.",
                    },
                    "end-position": {
                        "type": "integer",
                        "title": "End Position",
                        "description": "The ending position (inclusive) of the chunk in the original text.",
                    },
                    "token-count": {
                        "type": "integer",
                        "title": "Token Count",
                        "description": "Count of tokens in a chunk.",
                    },
                },
                "required": ["text", "start-position", "end-position", "token-count"],
            },
        },
        "token-count": {
            "type": "integer",
            "title": "Token Count",
            "description": "Total count of tokens in the original input text.",
        },
        "chunks-token-count": {
            "type": "integer",
            "title": "Token Count Chunks",
            "description": "Total count of tokens in the output text chunks.",
        },
    },
    "required": ["text-chunks", "chunk-num", "token-count", "chunks-token-count"],
}


@dataclass(frozen=True)
class Piece:
    """A chunk before token counting: its text and its span ``[start, end)`` in the input."""

    text: str
    start: int
    end: int


# --- tokenizer -----------------------------------------------------------------------


def _bpe() -> Any:
    # Imported on first use: its vocabularies take ~65 MB, which a server process that
    # never chunks by token (and every task process forked before it does) need not hold.
    import bpe_openai

    return bpe_openai


@cache
def _encoding(name: str) -> Any:
    return _bpe().get_encoding(name)


def encoding_for_model(model: str) -> Any:
    """The BPE encoding for ``model`` (loaded once; loading takes ~100 ms)."""
    try:
        name = _bpe().encoding_name_for_model(model)
    except (KeyError, ValueError):
        raise ComponentError(f"Unknown model-name {model!r} for tokenization.") from None
    if name not in _BUNDLED_ENCODINGS:
        name = _FALLBACK_ENCODING
    return _encoding(name)


@dataclass(frozen=True)
class _Tokenizer:
    encoding: Any
    allowed_special: Any
    disallowed_special: Any

    def encode(self, text: str) -> list[int]:
        try:
            tokens: list[int] = self.encoding.encode(
                text, allowed_special=self.allowed_special, disallowed_special=self.disallowed_special
            )
            return tokens
        except ValueError as exc:
            raise ComponentError(str(exc).splitlines()[0]) from None

    def count(self, text: str) -> int:
        return len(self.encode(text))


def _special(value: Any, *, default: Any) -> Any:
    if value is None or value == []:
        return default
    if value == "all" or (isinstance(value, list) and "all" in value):
        return "all"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise ComponentError("Special token settings must be lists of strings.")


# --- Token ---------------------------------------------------------------------------


def split_tokens(text: str, tokenizer: _Tokenizer, size: int, overlap: int) -> list[Piece]:
    tokens = tokenizer.encode(text)
    if not tokens:
        return []
    byte_lengths = [len(b) for b in tokenizer.encoding.decode_tokens_bytes(tokens)]
    token_byte_starts = [0, *accumulate(byte_lengths)]
    if text.isascii():
        char_byte_starts: Sequence[int] | None = None
    else:
        char_byte_starts = [0, *accumulate(len(c.encode("utf-8")) for c in text)]

    def char_start(byte: int) -> int:
        # The character containing ``byte`` (a token may start mid-character).
        return byte if char_byte_starts is None else bisect_right(char_byte_starts, byte) - 1

    def char_end(byte: int) -> int:
        return byte if char_byte_starts is None else bisect_left(char_byte_starts, byte)

    pieces: list[Piece] = []
    start = 0
    while True:
        end = min(start + size, len(tokens))
        cs, ce = char_start(token_byte_starts[start]), min(char_end(token_byte_starts[end]), len(text))
        pieces.append(Piece(text[cs:ce], cs, ce))
        if end == len(tokens):
            return pieces
        start += size - overlap


# --- Recursive -----------------------------------------------------------------------


class RecursiveSplitter:
    """LangChain's RecursiveCharacterTextSplitter, lengths in characters."""

    def __init__(self, size: int, overlap: int, separators: Sequence[str], keep_separator: bool) -> None:
        self.size = size
        self.overlap = overlap
        self.separators = list(separators) or list(DEFAULT_SEPARATORS)
        self.keep_separator = keep_separator

    def split(self, text: str) -> list[str]:
        return self._split(text, self.separators)

    def _split(self, text: str, separators: list[str]) -> list[str]:
        separator, rest = separators[-1], []
        for i, candidate in enumerate(separators):
            if candidate == "":
                separator = candidate
                break
            if candidate in text:
                separator, rest = candidate, separators[i + 1 :]
                break
        splits = self._split_on(text, separator)
        joiner = "" if self.keep_separator else separator
        chunks: list[str] = []
        good: list[str] = []
        for piece in splits:
            if len(piece) < self.size:
                good.append(piece)
                continue
            if good:
                chunks.extend(self._merge(good, joiner))
                good = []
            if rest:
                chunks.extend(self._split(piece, rest))
            else:
                chunks.append(piece)
        if good:
            chunks.extend(self._merge(good, joiner))
        return chunks

    def _split_on(self, text: str, separator: str) -> list[str]:
        if separator == "":
            return list(text)
        parts = text.split(separator)
        if self.keep_separator:
            parts = [parts[0]] + [separator + p for p in parts[1:]]
        return [p for p in parts if p != ""]

    def _merge(self, splits: list[str], separator: str) -> list[str]:
        sep_len = len(separator)
        docs: list[str] = []
        current: list[str] = []
        total = 0
        for piece in splits:
            length = len(piece)
            if current and total + length + sep_len > self.size:
                doc = separator.join(current).strip()
                if doc:
                    docs.append(doc)
                while current and (total > self.overlap or total + length + (sep_len if current else 0) > self.size):
                    total -= len(current[0]) + (sep_len if len(current) > 1 else 0)
                    current.pop(0)
            current.append(piece)
            total += length + (sep_len if len(current) > 1 else 0)
        doc = separator.join(current).strip()
        if doc:
            docs.append(doc)
        return docs


def locate(text: str, chunks: Sequence[str], *, overlap: int, offset: int = 0) -> list[Piece]:
    """Find each chunk in ``text`` in order.

    A chunk starts after the previous one's start and at most ``overlap``
    characters before its end, which keeps repeated passages from being matched
    to an earlier occurrence.
    """
    pieces: list[Piece] = []
    previous: tuple[int, int] | None = None
    for chunk in chunks:
        if not chunk:
            continue
        scan = 0 if previous is None else max(previous[0] + 1, previous[1] - overlap)
        at = text.find(chunk, scan)
        if at < 0:
            at = text.find(chunk)
        if at < 0:
            continue
        pieces.append(Piece(chunk, offset + at, offset + at + len(chunk)))
        previous = (at, at + len(chunk))
    return pieces


# --- Markdown ------------------------------------------------------------------------

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
_TABLE_SEPARATOR = re.compile(r"^ *\|? *:?-{1,}:? *(\| *:?-{1,}:? *)*\|? *$")


@dataclass(frozen=True)
class _Block:
    kind: str  # paragraph | code | list | table
    start: int
    end: int
    headers: tuple[str, ...]
    units: tuple[tuple[int, int], ...]  # the spans the block may be cut at
    table_head: str = ""


def _lines(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    position = 0
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        spans.append((position, position + len(stripped)))
        position += len(line)
    return spans


def _parse_markdown(text: str) -> list[_Block]:
    lines = _lines(text)
    blocks: list[_Block] = []
    headers: list[tuple[int, str]] = []
    i = 0

    def line(k: int) -> str:
        return text[lines[k][0] : lines[k][1]]

    def context() -> tuple[str, ...]:
        return tuple(h for _, h in headers)

    while i < len(lines):
        current = line(i)
        if not current.strip():
            i += 1
            continue
        heading = _HEADING.match(current)
        if heading:
            level = len(heading.group(1))
            headers = [h for h in headers if h[0] < level]
            headers.append((level, current.strip()))
            i += 1
            continue
        fence = _FENCE.match(current)
        if fence:
            marker = fence.group(1)
            j = i + 1
            while j < len(lines) and not line(j).lstrip().startswith(marker[0] * len(marker)):
                j += 1
            last = min(j, len(lines) - 1)
            span = (lines[i][0], lines[last][1])
            blocks.append(_Block("code", *span, context(), (span,)))
            i = last + 1
            continue
        if (
            "|" in current
            and i + 1 < len(lines)
            and "|" in line(i + 1)
            and "-" in line(i + 1)
            and _TABLE_SEPARATOR.match(line(i + 1))
        ):
            j = i + 2
            rows: list[tuple[int, int]] = []
            while j < len(lines) and "|" in line(j) and line(j).strip():
                rows.append(lines[j])
                j += 1
            head = text[lines[i][0] : lines[i + 1][1]]
            span = (lines[i][0], lines[j - 1][1])
            units = ((lines[i][0], lines[i + 1][1]), *rows)
            blocks.append(_Block("table", *span, context(), tuple(units), table_head=head))
            i = j
            continue
        if _LIST_ITEM.match(current):
            items: list[tuple[int, int]] = []
            base_indent = len(current) - len(current.lstrip())
            j = i
            while j < len(lines):
                text_j = line(j)
                if not text_j.strip():
                    # A blank line ends the list unless indented content or another item follows.
                    k = j + 1
                    while k < len(lines) and not line(k).strip():
                        k += 1
                    if k < len(lines) and (
                        _LIST_ITEM.match(line(k)) or len(line(k)) - len(line(k).lstrip()) > base_indent
                    ):
                        j = k
                        continue
                    break
                if j > i and _HEADING.match(text_j):
                    break
                marker = _LIST_ITEM.match(text_j)
                indent = len(text_j) - len(text_j.lstrip())
                if marker and indent <= base_indent:
                    items.append(lines[j])
                elif items:
                    items[-1] = (items[-1][0], lines[j][1])
                j += 1
            span = (items[0][0], items[-1][1])
            blocks.append(_Block("list", *span, context(), tuple(items)))
            i = j
            continue
        j = i
        while j < len(lines):
            text_j = line(j)
            if not text_j.strip() or (j > i and (_HEADING.match(text_j) or _FENCE.match(text_j))):
                break
            j += 1
        span = (lines[i][0], lines[j - 1][1])
        blocks.append(_Block("paragraph", *span, context(), (span,)))
        i = j
    return blocks


class MarkdownSplitter:
    def __init__(self, size: int, overlap: int, code_blocks: bool) -> None:
        self.size = size
        self.overlap = overlap
        self.code_blocks = code_blocks
        self._recursive = RecursiveSplitter(size, overlap, DEFAULT_SEPARATORS, keep_separator=False)

    def split(self, text: str) -> list[Piece]:
        pieces: list[Piece] = []
        blocks = _parse_markdown(text)
        section: list[_Block] = []
        for block in blocks:
            if section and block.headers != section[0].headers:
                pieces.extend(self._split_section(text, section))
                section = []
            section.append(block)
        if section:
            pieces.extend(self._split_section(text, section))
        return pieces

    def _split_section(self, text: str, blocks: list[_Block]) -> list[Piece]:
        prefix = "\n".join(blocks[0].headers)
        prefix = prefix + "\n\n" if prefix else ""
        pieces: list[Piece] = []
        group: list[tuple[int, int, _Block]] = []

        def span_length(units: list[tuple[int, int, _Block]]) -> int:
            return units[-1][1] - units[0][0]

        def flush() -> None:
            if not group:
                return
            start, end = group[0][0], group[-1][1]
            body = text[start:end]
            table = group[0][2]
            if table.kind == "table" and group[0][0] != table.start:
                # Continuation rows keep the table's header row and separator.
                body = table.table_head + "\n" + body
            pieces.append(Piece(prefix + body, start, end))

        for block in blocks:
            for start, end in block.units:
                unit = (start, end, block)
                if end - start > self.size and not (block.kind == "code" and self.code_blocks):
                    flush()
                    group = []
                    sub = self._recursive.split(text[start:end])
                    for piece in locate(text[start:end], sub, overlap=self.overlap, offset=start):
                        pieces.append(Piece(prefix + piece.text, piece.start, piece.end))
                    continue
                # Chunks never span two tables or a table and other content:
                # the repeated table head only makes sense for its own rows.
                crosses_table = (
                    bool(group)
                    and (group[-1][2] is not block)
                    and (block.kind == "table" or group[-1][2].kind == "table")
                )
                if group and (span_length([*group, unit]) > self.size or crosses_table):
                    flush()
                    carried: list[tuple[int, int, _Block]] = []
                    if not crosses_table:
                        for previous in reversed(group):
                            candidate = [previous, *carried]
                            if span_length(candidate) > self.overlap or span_length([*candidate, unit]) > self.size:
                                break
                            carried = candidate
                    group = carried
                group.append(unit)
        flush()
        return pieces


# --- the task ------------------------------------------------------------------------


def _int_setting(setting: dict[str, Any], name: str, default: int | None) -> int | None:
    value = setting.get(name)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ComponentError(f"{name} must be an integer.")
    return value


def chunk_text(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    text = input.get("text")
    if not isinstance(text, str):
        raise ComponentError("The text to chunk must be a string.")
    strategy = input.get("strategy") or {}
    setting = strategy.get("setting") if isinstance(strategy, dict) else None
    if not isinstance(setting, dict):
        raise ComponentError("strategy.setting is required.")
    method = setting.get("chunk-method")
    size = _int_setting(setting, "chunk-size", DEFAULT_CHUNK_SIZE)
    assert size is not None
    if size < 1:
        raise ComponentError("chunk-size must be at least 1.")
    overlap = _int_setting(setting, "chunk-overlap", None)
    if overlap is None:
        # Instill's default of 100 would make every chunk-size <= 100 invalid.
        overlap = min(DEFAULT_CHUNK_OVERLAP, size // 5)
    if overlap < 0:
        raise ComponentError("chunk-overlap must not be negative.")
    if overlap >= size:
        raise ComponentError(f"chunk-overlap ({overlap}) must be less than chunk-size ({size}).")
    tokenizer = _Tokenizer(
        encoding_for_model(setting.get("model-name") or DEFAULT_MODEL),
        allowed_special=_special(setting.get("allowed-special"), default=frozenset()),
        disallowed_special=_special(setting.get("disallowed-special"), default=()),
    )

    if method == "Token":
        pieces = split_tokens(text, tokenizer, size, overlap)
    elif method == "Recursive":
        separators = setting.get("separators") or DEFAULT_SEPARATORS
        if not isinstance(separators, list | tuple) or not all(isinstance(s, str) for s in separators):
            raise ComponentError("separators must be a list of strings.")
        splitter = RecursiveSplitter(size, overlap, separators, bool(setting.get("keep-separator")))
        pieces = locate(text, splitter.split(text), overlap=overlap)
    elif method == "Markdown":
        pieces = MarkdownSplitter(size, overlap, bool(setting.get("code-blocks"))).split(text)
    else:
        raise ComponentError(f"Unknown chunk-method {method!r}; expected Token, Recursive or Markdown.")

    if not pieces:
        pieces = [Piece(text, 0, len(text))]
    chunks = [
        {
            "text": piece.text,
            "start-position": piece.start,
            "end-position": piece.end - 1,
            "token-count": tokenizer.count(piece.text),
        }
        for piece in pieces
    ]
    return {
        "chunk-num": len(chunks),
        "text-chunks": chunks,
        "token-count": tokenizer.count(text),
        "chunks-token-count": sum(c["token-count"] for c in chunks),
    }


COMPONENT = ComponentDefinition(
    type="text",
    title="Text",
    description="Extract and manipulate text from different sources.",
    tasks={
        "TASK_CHUNK_TEXT": Task(
            name="TASK_CHUNK_TEXT",
            title="Chunk Text",
            description="Chunk text with different strategies",
            input_schema=CHUNK_TEXT_INPUT,
            output_schema=CHUNK_TEXT_OUTPUT,
            run=chunk_text,
            blocking=True,
        ),
    },
)
