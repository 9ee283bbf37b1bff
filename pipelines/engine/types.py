"""Variable types (``string``, ``image``, ``array:number`` ...) and their old spellings.

Kept apart from the recipe parser because input binding and the data
specification need the same table.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BASE_TYPES", "FILE_TYPES", "item_type", "json_schema_for", "normalize_type"]

BASE_TYPES: tuple[str, ...] = (
    "string",
    "number",
    "integer",
    "boolean",
    "json",
    "image",
    "audio",
    "video",
    "document",
    "file",
)
FILE_TYPES: frozenset[str] = frozenset({"image", "audio", "video", "document", "file"})

# Spellings from the `instill-format` / `format` epochs (Instill migrations 000036, 000040).
_LEGACY: dict[str, str] = {
    "*/*": "file",
    "semi-structured/json": "json",
    "semi-structured/*": "json",
    "semi-structured/object": "json",
    "structured/json": "json",
    "object": "json",
    "image/*": "image",
    "audio/*": "audio",
    "video/*": "video",
    "application/*": "document",
    "document/*": "document",
    "text/*": "string",
}

_JSON_TYPES: dict[str, str | None] = {
    "string": "string",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
    "json": None,
    "image": "string",
    "audio": "string",
    "video": "string",
    "document": "string",
    "file": "string",
}


def normalize_type(raw: str) -> str | None:
    """The canonical type for ``raw`` (old spellings accepted), or None if unknown."""
    text = raw.strip()
    if text.startswith("array:"):
        inner = _base(text[len("array:") :])
        return f"array:{inner}" if inner is not None else None
    return _base(text)


def _base(text: str) -> str | None:
    if text in _JSON_TYPES:
        return text
    return _LEGACY.get(text)


def item_type(type_: str) -> str | None:
    """``number`` for ``array:number``; None for non-array types."""
    return type_[len("array:") :] if type_.startswith("array:") else None


def json_schema_for(type_: str) -> dict[str, Any]:
    """JSON Schema fragment of a variable type, with Instill's ``instillFormat``."""
    inner = item_type(type_)
    if inner is not None:
        return {"type": "array", "items": json_schema_for(inner), "instillFormat": type_}
    schema: dict[str, Any] = {}
    json_type = _JSON_TYPES[type_]
    if json_type is not None:
        schema["type"] = json_type
    schema["instillFormat"] = type_
    return schema
