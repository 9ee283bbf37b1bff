"""Limits every input meets at the door: JSON depth, numbers, valid Unicode.

:func:`loads_json` is the one JSON reader for what clients send (trigger bodies, API
bodies, multipart fields, form fields). It is orjson, which already refuses what
must not get in — invalid UTF-8, lone surrogates (``"\\ud800"``), numbers beyond a
double (a 5,000-digit integer), ``NaN`` — and stops at 1,024 levels of nesting
without recursing in Python; on top of it the nesting is bounded by ``max_depth``.
A refusal is a :class:`InputLimitError` whose message names the field or the limit.

:func:`heal` is for the other direction: values stored before these checks existed
may hold lone surrogates, which no JSON encoder (orjson, or the standard library
encoding to UTF-8) can write; readers replace them with U+FFFD instead of failing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = [
    "DEFAULT_MAX_JSON_DEPTH",
    "InputLimitError",
    "deeper_than",
    "has_surrogate_escape",
    "heal",
    "heal_text",
    "loads_json",
    "loads_stored",
    "lone_surrogate_path",
]

#: The nesting protobuf's Struct (and so Instill's gateway) accepts by default.
DEFAULT_MAX_JSON_DEPTH = 100
#: orjson's own, fixed bound: deeper documents are refused whatever ``max_depth`` says.
ORJSON_MAX_DEPTH = 1024

# A str decoded by Python's JSON reader combines valid pairs, so any surrogate code
# point left in it is a lone one.
_SURROGATE = re.compile("[\ud800-\udfff]")


class InputLimitError(ValueError):
    """An input over a limit or not valid Unicode; ``field`` names where."""

    def __init__(self, message: str, *, field: str = "body") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def loads_json(
    data: bytes | str, *, max_depth: int = DEFAULT_MAX_JSON_DEPTH, what: str = "the request body", root: str = ""
) -> Any:
    """Decode client JSON, refusing what no part of the product can store or show.

    Raises :class:`InputLimitError` for nesting deeper than ``max_depth``, numbers
    beyond a double, invalid UTF-8 and lone surrogates (naming the field), and plain
    :class:`ValueError` (``malformed JSON in <what>: ...``) for anything else that is
    not JSON. Integers beyond 64 bits become doubles, as in a protobuf ``Struct``.
    ``root`` prefixes the field paths named (a form field's name).
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _diagnose(data, exc, max_depth=max_depth, what=what, root=root) from None
    if deeper_than(value, max_depth):
        raise _too_deep(what, max_depth)
    return value


def deeper_than(value: Any, max_depth: int) -> bool:
    """Whether ``value`` nests lists and maps more than ``max_depth`` levels
    (a scalar is level 0, ``[]`` level 1). Iterative: any depth is safe to ask."""
    if not isinstance(value, (dict, list)):
        return max_depth < 0
    if max_depth < 1:
        return True
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > max_depth:
                    return True
                stack.append((child, depth + 1))
    return False


def lone_surrogate_path(value: Any, *, root: str = "") -> str | None:
    """Where the first string (key or value) holding a lone surrogate is, as
    ``data[0].variable.prompt`` (``root`` itself for a bare string); ``None`` when
    there is none. Iterative."""
    stack: list[tuple[Any, str]] = [(value, root)]
    while stack:
        current, path = stack.pop()
        if isinstance(current, str):
            if _SURROGATE.search(current):
                return path
        elif isinstance(current, dict):
            for key, child in reversed(list(current.items())):
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and _SURROGATE.search(key):
                    return _SURROGATE.sub("\ufffd", name)
                stack.append((child, name))
        elif isinstance(current, (list, tuple)):
            stack.extend((child, f"{path}[{i}]") for i, child in reversed(list(enumerate(current))))
    return None


def heal_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def heal(value: Any) -> Any:
    """A copy of a JSON value with lone surrogates (in keys and strings) replaced by
    U+FFFD; ``value`` itself when it has none. Iterative, for stored values."""
    if lone_surrogate_path(value) is None:
        return value
    return _healed(value)


def _healed(value: Any) -> Any:
    if isinstance(value, str):
        return heal_text(value)
    if isinstance(value, dict):
        return {heal_text(k) if isinstance(k, str) else k: _healed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_healed(v) for v in value]
    return value


def has_surrogate_escape(text: str) -> bool:
    """Whether JSON text holds a surrogate escape, ``\\ud800`` to ``\\udfff`` (paired or lone)."""
    return "\\ud" in text or "\\uD" in text


def loads_stored(text: str | bytes) -> Any:
    """Decode JSON this product stored itself, replacing lone surrogates that older
    versions let in (as ``\\ud800`` escapes) with U+FFFD. Only text that has an
    escape of that range pays for the check."""
    value = _loads_any(text)
    if has_surrogate_escape(text if isinstance(text, str) else text.decode("latin-1")):
        return heal(value)
    return value


def _loads_any(text: str | bytes) -> Any:
    """orjson where it can read the text; the standard library for what it refuses
    (stored lone surrogates, integers beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


# --- diagnosis of what orjson refused ----------------------------------------------


def _too_deep(what: str, max_depth: int) -> InputLimitError:
    return InputLimitError(
        f"{what} nests deeper than {max_depth} levels of lists and objects (PIPELINE_MAX_JSON_DEPTH)",
        field="body",
    )


def _diagnose(data: bytes | str, exc: orjson.JSONDecodeError, *, max_depth: int, what: str, root: str) -> ValueError:
    message = str(exc)
    if "depth limit exceeded" in message:
        return _too_deep(what, min(max_depth, ORJSON_MAX_DEPTH))
    if "number is infinity" in message or "number out of range" in message:
        at = re.search(r"line \d+ column \d+", message)
        return InputLimitError(
            f"a number in {what}{f' at {at.group()}' if at else ''} is too large: numbers must fit in a double (about 1.8e308)",
            field="body",
        )
    if "surrogate" in message or "UTF-8" in message:
        return _unicode_problem(data, what, root)
    return ValueError(f"malformed JSON in {what}: {message}")


def _unicode_problem(data: bytes | str, what: str, root: str) -> InputLimitError:
    """Name the field holding invalid Unicode: the standard library reads lone
    surrogates, so decode with it and look; raw bytes that are not UTF-8 at all
    have no field to name."""
    try:
        text = data.decode("utf-8", "surrogatepass") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        return InputLimitError(f"{what} is not valid UTF-8 (byte {exc.start})", field="body")
    try:
        path = lone_surrogate_path(json.loads(text), root=root)
    except (ValueError, RecursionError):
        path = None
    if not path:
        return InputLimitError(
            f"{what} is not valid Unicode: it holds a lone surrogate (such as \\ud800)", field=root or "body"
        )
    return InputLimitError(f"{path} is not valid Unicode: it holds a lone surrogate (such as \\ud800)", field=path)
