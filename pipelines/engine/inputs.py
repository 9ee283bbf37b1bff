"""Binding trigger rows to a recipe's variables (type checks, defaults, files).

The service layer calls :func:`bind_rows` (or ``Recipe.bind_rows``) on the raw
``data[i].variable`` maps before :func:`~pipelines.engine.executor.execute`; the
executor trusts its rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .types import FILE_TYPES, item_type
from .values import File, FileDecodeError

if TYPE_CHECKING:
    from .recipe import Recipe, Variable

__all__ = ["InputInvalid", "bind_rows", "check_value"]


class InputInvalid(Exception):
    """A trigger row does not fit the recipe's variables.

    ``field`` locates the value (``variable.prompt``, or ``data[1].variable.prompt``
    for batches); ``str(exc)`` is the user-facing message.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class _Mismatch(Exception):
    """Internal: the value does not fit; carries the 'must be ...' phrase."""

    def __init__(self, expected: str, value: Any) -> None:
        super().__init__(expected)
        self.expected = expected
        self.value = value


_ARTICLES = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "json": "JSON",
    "image": "an image (a data URI, base64 or an http(s) URL)",
    "audio": "an audio file (a data URI, base64 or an http(s) URL)",
    "video": "a video (a data URI, base64 or an http(s) URL)",
    "document": "a document (a data URI, base64 or an http(s) URL)",
    "file": "a file (a data URI, base64 or an http(s) URL)",
}


def describe(value: Any) -> str:
    """A short phrase for what was received: ``string "abc"``, ``number 1.5`` ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'string "{shown}"'
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, File):
        return f"a file ({value.mime_type})"
    return type(value).__name__


def check_value(type_: str, value: Any) -> Any:
    """``value`` converted to ``type_`` (files decoded, integral floats → int).

    Raises ValueError with the phrase ``must be <type>, got <what>``.
    """
    try:
        return _check(type_, value)
    except _Mismatch as exc:
        raise ValueError(f"must be {exc.expected}, got {describe(exc.value)}") from None


def _check(type_: str, value: Any) -> Any:
    inner = item_type(type_)
    if inner is not None:
        if not isinstance(value, (list, tuple)):
            raise _Mismatch(f"an array of {_ARTICLES[inner]}", value)
        items = list(value)
        for i, item in enumerate(items):
            try:
                items[i] = _check(inner, item)
            except _Mismatch as exc:
                raise _Mismatch(f"an array of {_ARTICLES[inner]} (item {i} is not)", exc.value) from None
        return items
    kind = type(value)
    if type_ == "string":
        if kind is str:
            return value
    elif type_ == "number":
        if kind is int or kind is float:
            return value
    elif type_ == "integer":
        if kind is int:
            return value
        if kind is float and value.is_integer():
            # JSON decoders and protobuf Struct deliver 3 as 3.0.
            return int(value)
    elif type_ == "boolean":
        if kind is bool:
            return value
    elif type_ == "json":
        return value
    elif type_ in FILE_TYPES:
        return _check_file(type_, value)
    raise _Mismatch(_ARTICLES.get(type_, type_), value)


DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/rtf",
        "application/json",
        "application/xml",
        "application/epub+zip",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    }
)


def media_type_fits(type_: str, mime: str) -> bool:
    """Whether a file of MIME type ``mime`` may fill a variable of file type ``type_``."""
    mime = mime.split(";")[0].strip().lower()
    if type_ in ("image", "audio", "video"):
        return mime.startswith(type_ + "/")
    if type_ == "document":
        return mime in DOCUMENT_TYPES or mime.startswith(("text/", "application/vnd.openxmlformats-officedocument."))
    return True


def _check_file(type_: str, value: Any) -> Any:
    file: File | None = None
    if isinstance(value, File):
        file = value
    elif isinstance(value, str):
        if value.startswith(("http://", "https://")):
            # Fetched by the service layer, which owns the outbound rules.
            return value
        try:
            file = File.from_data_uri(value) if value.startswith("data:") else File.from_base64(value)
        except FileDecodeError:
            pass
    if file is None:
        raise _Mismatch(_ARTICLES[type_], value)
    if not media_type_fits(type_, file.mime_type):
        raise _Mismatch(_ARTICLES[type_], file)
    return file


def bind_rows(recipe: Recipe, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per row: keep declared variables only, apply defaults, check and convert types.

    A missing (or null) variable takes its default; without one it is an error if
    ``required``, else left out (references to it are then unresolved: a component
    input using it fails, an output renders null). Raises :class:`InputInvalid`.
    """
    variables = recipe.variables
    many = len(rows) > 1
    bound: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InputInvalid(f"data[{index}].variable", f"data[{index}].variable must be an object")
        out: dict[str, Any] = {}
        for variable in variables:
            value = row.get(variable.id)
            if value is None:
                if variable.has_default and variable.default is not None:
                    value = variable.default
                elif variable.required:
                    raise InputInvalid(_field(variable, index, many), f'missing required variable "{variable.id}"')
                else:
                    continue
            out[variable.id] = _bind_one(variable, value, index, many)
        bound.append(out)
    return bound


def _bind_one(variable: Variable, value: Any, index: int, many: bool) -> Any:
    try:
        return check_value(variable.type, value)
    except ValueError as exc:
        raise InputInvalid(_field(variable, index, many), f'variable "{variable.id}" {exc}') from None


def _field(variable: Variable, index: int, many: bool) -> str:
    return f"data[{index}].variable.{variable.id}" if many else f"variable.{variable.id}"
