"""The ``base64`` operator: encode and decode (Instill ``base64`` v0)."""

from __future__ import annotations

import base64 as _b64
import binascii
import re
from typing import Any

from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext


def _schema(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "title": "Input",
        "properties": {"data": {"type": "string", "title": "Data", "description": description}},
        "required": ["data"],
    }


ENCODE_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        # A file value (anything with ``read()``) is accepted as well as a string.
        "data": {"title": "Data", "description": "Data to be encoded."},
    },
    "required": ["data"],
}
DECODE_INPUT = _schema("Base64 string to be decoded.")
OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {"data": {"type": "string", "title": "Data", "description": "Data."}},
    "required": ["data"],
}

_DATA_URI_PREFIX = re.compile(r"^data:[^,]*?;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


def _to_bytes(data: Any) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    read = getattr(data, "read", None)
    if callable(read):
        content = read()
        if isinstance(content, str):
            return content.encode("utf-8")
        if isinstance(content, bytes | bytearray):
            return bytes(content)
    raise ComponentError(f"Cannot base64-encode a value of type {type(data).__name__}; expected a string or a file.")


def encode(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    if input.get("data") is None:
        raise ComponentError("The data to encode is missing.")
    return {"data": _b64.b64encode(_to_bytes(input["data"])).decode("ascii")}


def decode(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    data = input.get("data")
    if not isinstance(data, str):
        raise ComponentError("The data to decode must be a base64 string.")
    # Like Instill, a data URI's header is dropped; whitespace (line-wrapped
    # base64) and missing padding are tolerated.
    text = _WHITESPACE.sub("", _DATA_URI_PREFIX.sub("", data.strip(), count=1))
    text += "=" * (-len(text) % 4)
    try:
        raw = _b64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ComponentError(f"Couldn't decode the base64 data: {exc}.") from None
    try:
        return {"data": raw.decode("utf-8")}
    except UnicodeDecodeError:
        raise ComponentError(
            "The decoded data is not UTF-8 text; binary results are not supported by TASK_DECODE."
        ) from None


COMPONENT = ComponentDefinition(
    type="base64",
    title="Base64",
    description="Encode or decode a string in Base64 format.",
    tasks={
        "TASK_ENCODE": Task(
            name="TASK_ENCODE",
            title="Encode",
            description="Encode data into base64 string",
            input_schema=ENCODE_INPUT,
            output_schema=OUTPUT,
            run=encode,
            # Cheap for strings; a file argument may mean reading from disk.
            blocking=True,
        ),
        "TASK_DECODE": Task(
            name="TASK_DECODE",
            title="Decode",
            description="Decode the base64 string.",
            input_schema=DECODE_INPUT,
            output_schema=OUTPUT,
            run=decode,
            blocking=False,
        ),
    },
)
