"""``${root.path}`` references and the templates that contain them.

Grammar (inside ``${ }``)::

    reference := root segment*
    root      := name
    segment   := "." name | "[" int "]" | "[" quoted "]" | "[" name "]" | ":" attribute
    name      := [A-Za-z0-9_][A-Za-z0-9_-]*      (a root must not start with a digit)

``[name]`` (unquoted) is an iterator index variable: ``${variable.arr[i]}``.

Recipe values are compiled once, at parse time, into :class:`Node` trees
(:func:`compile_value`); rendering a node against a row's *scope* (a dict of
root name → value) is then a walk with no string parsing.

Rendering rules (Instill's): a string that is exactly one reference yields the
referenced value with its type; any other string with references becomes a
string, each reference stringified (:func:`stringify`). In *strict* mode (component
inputs, setup) an unresolvable reference raises :class:`ReferenceUnresolved`;
otherwise (pipeline outputs) the whole value renders as ``None``. A file that
can't be read as text (a broken PDF) fails the same way, with its own message.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .values import ATTRIBUTES, TEXT_ATTRIBUTES, File, file_text, string_form, to_json

__all__ = [
    "MISSING",
    "Attribute",
    "Const",
    "DictNode",
    "IndexVariable",
    "ListNode",
    "Node",
    "Ref",
    "Reference",
    "ReferenceSyntaxError",
    "ReferenceUnresolved",
    "Template",
    "compile_value",
    "files_to_read",
    "find_reference_end",
    "parse_reference",
    "read_files",
    "split_template",
    "stringify",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: What :meth:`Reference.resolve` returns when the path leads nowhere. A sentinel
#: rather than an exception because unresolved output references are routine.
MISSING: Final = _Missing()


class ReferenceSyntaxError(ValueError):
    """A ``${...}`` that does not follow the grammar."""


class ReferenceUnresolved(Exception):
    """A strict render met a reference that leads nowhere.

    ``str(exc)`` is the user-facing message, ``Couldn't resolve reference ${x}.``.
    """

    def __init__(self, reference: Reference, message: str | None = None) -> None:
        super().__init__(message or f"Couldn't resolve reference {reference}.")
        self.reference = reference


@dataclass(frozen=True, slots=True)
class Attribute:
    """``:name`` path segment, looked up in :data:`values.ATTRIBUTES` when resolving."""

    name: str


@dataclass(frozen=True, slots=True)
class IndexVariable:
    """``[i]`` path segment: the current value of the iterator index ``i``."""

    name: str


Segment = str | int | Attribute | IndexVariable


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed reference. ``text`` is what was written between the braces."""

    text: str
    root: str
    path: tuple[Segment, ...]

    def __str__(self) -> str:
        return "${" + self.text + "}"

    def resolve(self, scope: Mapping[str, Any]) -> Any:
        """The referenced value, or :data:`MISSING`."""
        value = scope.get(self.root, MISSING)
        for seg in self.path:
            if value is MISSING or value is None:
                return MISSING
            kind = type(seg)
            if kind is str:
                if isinstance(value, Mapping):
                    value = value.get(seg, MISSING)
                else:
                    return MISSING
            elif kind is int:
                if isinstance(value, (list, tuple)) and seg < len(value):  # type: ignore[operator]
                    value = value[seg]  # type: ignore[index]
                else:
                    return MISSING
            elif kind is Attribute:
                function = ATTRIBUTES.get(seg.name)  # type: ignore[union-attr]
                if function is None:
                    return MISSING
                try:
                    value = function(value)
                except (TypeError, ValueError, AttributeError, OSError):
                    return MISSING
            else:  # IndexVariable
                index = scope.get(seg.name, MISSING)  # type: ignore[union-attr]
                if type(index) is not int or not isinstance(value, (list, tuple)):
                    return MISSING
                if not 0 <= index < len(value):
                    return MISSING
                value = value[index]
        return value

    @property
    def field(self) -> str | None:
        """First path segment when it is a name (``output`` in ``${c.output.x}``)."""
        return self.path[0] if self.path and type(self.path[0]) is str else None


_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_ROOT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_ATTR = re.compile(r"[a-z][a-z0-9-]*")
_INT = re.compile(r"\s*(\d+)\s*\]")
_VAR = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\]")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "/": "/"}


def parse_reference(text: str) -> Reference:
    """Parse the inside of ``${...}``. Raises :class:`ReferenceSyntaxError`."""
    body = text.strip()
    match = _ROOT.match(body)
    if match is None:
        raise ReferenceSyntaxError(f"invalid reference ${{{text}}}: it must start with a name")
    root = match.group()
    pos = match.end()
    path: list[Segment] = []
    n = len(body)
    while pos < n:
        char = body[pos]
        if char == ".":
            match = _NAME.match(body, pos + 1)
            if match is None:
                raise ReferenceSyntaxError(f"invalid reference ${{{text}}}: expected a name after '.'")
            path.append(match.group())
            pos = match.end()
        elif char == ":":
            match = _ATTR.match(body, pos + 1)
            if match is None:
                raise ReferenceSyntaxError(f"invalid reference ${{{text}}}: expected an attribute after ':'")
            path.append(Attribute(match.group()))
            pos = match.end()
        elif char == "[":
            if (match := _INT.match(body, pos + 1)) is not None:
                path.append(int(match.group(1)))
                pos = match.end()
            elif (match := _VAR.match(body, pos + 1)) is not None:
                path.append(IndexVariable(match.group(1)))
                pos = match.end()
            else:
                key, pos = _parse_quoted(body, pos + 1, text)
                path.append(key)
        else:
            raise ReferenceSyntaxError(f"invalid reference ${{{text}}}: unexpected {char!r}")
    return Reference(body, root, tuple(path))


def _parse_quoted(body: str, pos: int, text: str) -> tuple[str, int]:
    """Parse ``"key"]`` (or single-quoted) starting at ``pos``; return key, next pos."""
    while pos < len(body) and body[pos] == " ":
        pos += 1
    if pos >= len(body) or body[pos] not in "\"'":
        raise ReferenceSyntaxError(
            f"invalid reference ${{{text}}}: '[' must be followed by an index, a quoted key or an index name"
        )
    quote = body[pos]
    pos += 1
    out: list[str] = []
    while pos < len(body) and body[pos] != quote:
        if body[pos] == "\\" and pos + 1 < len(body):
            out.append(_ESCAPES.get(body[pos + 1], body[pos + 1]))
            pos += 2
        else:
            out.append(body[pos])
            pos += 1
    if pos >= len(body):
        raise ReferenceSyntaxError(f"invalid reference ${{{text}}}: unterminated quoted key")
    pos += 1
    while pos < len(body) and body[pos] == " ":
        pos += 1
    if pos >= len(body) or body[pos] != "]":
        raise ReferenceSyntaxError(f"invalid reference ${{{text}}}: expected ']' after the quoted key")
    return "".join(out), pos + 1


def find_reference_end(text: str, start: int) -> int:
    """Index of the ``}`` closing a reference whose body starts at ``start``.

    Braces inside quoted keys do not count. Raises :class:`ReferenceSyntaxError`
    when the reference is not closed.
    """
    quote = ""
    i = start
    n = len(text)
    while i < n:
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "}":
            return i
        i += 1
    raise ReferenceSyntaxError(f"unclosed reference: {text[start - 2 :]!r} has no closing '}}'")


def split_template(text: str) -> list[str | Reference]:
    """Split a string into literal parts and references (in order)."""
    parts: list[str | Reference] = []
    pos = 0
    while (start := text.find("${", pos)) >= 0:
        end = find_reference_end(text, start + 2)
        if start > pos:
            parts.append(text[pos:start])
        parts.append(parse_reference(text[start + 2 : end]))
        pos = end + 1
    if pos < len(text):
        parts.append(text[pos:])
    return parts


def stringify(value: Any) -> str:
    """A value as it appears inside a template string (Instill's ``String()`` of a value).

    Strings are themselves; files read as :func:`values.file_text` has them
    (a document's text, a text file's content, other files' data URI). Arrays
    are ``[a, b]`` and objects ``{"k": v}``, items joined by ``", "`` with string
    items in double quotes, unescaped, and other items stringified the same way.

    Raises ``ValueError`` when a file can't be read as text (a broken PDF).
    """
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # JSON numbers are float64 in Instill, so 2.0 prints as 2 there.
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, File):
        return file_text(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_quoted(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f'"{key}": {_quoted(item)}' for key, item in value.items()) + "}"
    return json.dumps(to_json(value), separators=(",", ":"), ensure_ascii=False, default=str)


def _quoted(item: Any) -> str:
    return f'"{item}"' if isinstance(item, str) else stringify(item)


# --- compiled values ------------------------------------------------------------


class Node(ABC):
    """A compiled recipe value. Subclasses implement :meth:`render`."""

    __slots__ = ()

    @abstractmethod
    def render(self, scope: Mapping[str, Any], strict: bool) -> Any:
        """Implemented by each node kind."""

    def references(self) -> Iterator[Reference]:
        return iter(())

    def template_references(self) -> Iterator[Reference]:
        """The references this value writes into strings (not those passed whole)."""
        return iter(())


class Const(Node):
    """A value with no references; renders to itself (shared, never copied)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def render(self, scope: Mapping[str, Any], strict: bool) -> Any:
        return self.value


class Ref(Node):
    """A string that is exactly one reference: renders the typed value."""

    __slots__ = ("reference",)

    def __init__(self, reference: Reference) -> None:
        self.reference = reference

    def render(self, scope: Mapping[str, Any], strict: bool) -> Any:
        value = self.reference.resolve(scope)
        if value is MISSING:
            if strict:
                raise ReferenceUnresolved(self.reference)
            return None
        return value

    def references(self) -> Iterator[Reference]:
        yield self.reference


class Template(Node):
    """A string mixing literal text and references: renders a string."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[str | Reference, ...]) -> None:
        self.parts = parts

    def render(self, scope: Mapping[str, Any], strict: bool) -> Any:
        out: list[str] = []
        for part in self.parts:
            if type(part) is str:
                out.append(part)
                continue
            value = part.resolve(scope)  # type: ignore[union-attr]
            if value is MISSING:
                if strict:
                    raise ReferenceUnresolved(part)  # type: ignore[arg-type]
                return None
            try:
                out.append(stringify(value))
            except ValueError as exc:
                if strict:
                    raise ReferenceUnresolved(part, f"Couldn't read {part} as text: {exc}") from None  # type: ignore[arg-type]
                return None
        return "".join(out)

    def references(self) -> Iterator[Reference]:
        for part in self.parts:
            if type(part) is not str:
                yield part  # type: ignore[misc]

    template_references = references


class DictNode(Node):
    __slots__ = ("items",)

    def __init__(self, items: tuple[tuple[str, Node], ...]) -> None:
        self.items = items

    def render(self, scope: Mapping[str, Any], strict: bool) -> dict[str, Any]:
        return {key: node.render(scope, strict) for key, node in self.items}

    def references(self) -> Iterator[Reference]:
        for _, node in self.items:
            yield from node.references()

    def template_references(self) -> Iterator[Reference]:
        for _, node in self.items:
            yield from node.template_references()


class ListNode(Node):
    __slots__ = ("items",)

    def __init__(self, items: tuple[Node, ...]) -> None:
        self.items = items

    def render(self, scope: Mapping[str, Any], strict: bool) -> list[Any]:
        return [node.render(scope, strict) for node in self.items]

    def references(self) -> Iterator[Reference]:
        for node in self.items:
            yield from node.references()

    def template_references(self) -> Iterator[Reference]:
        for node in self.items:
            yield from node.template_references()


def files_to_read(node: Node, scope: Mapping[str, Any]) -> list[File]:
    """Files that rendering ``node`` will read as text through a registered string form
    (documents written into strings, or read with ``:text``) and that are not read yet.

    Reading one can take seconds (a long PDF, LibreOffice), so the executor reads
    them off the event loop (:func:`read_files`) before it renders.
    """
    found: list[File] = []

    def visit(value: Any, depth: int) -> None:
        if isinstance(value, File):
            if value._text is None and string_form(value) is not None and all(value is not f for f in found):
                found.append(value)
        elif depth < 32 and isinstance(value, list | tuple):
            for item in value:
                visit(item, depth + 1)
        elif depth < 32 and isinstance(value, Mapping):
            for item in value.values():
                visit(item, depth + 1)

    for reference in node.template_references():
        value = reference.resolve(scope)
        if value is not MISSING:
            visit(value, 0)
    for reference in node.references():
        last = reference.path[-1] if reference.path else None
        if type(last) is Attribute and last.name in TEXT_ATTRIBUTES:
            value = Reference(reference.text, reference.root, reference.path[:-1]).resolve(scope)
            if isinstance(value, File):
                visit(value, 0)
    return found


def read_files(files: list[File]) -> None:
    """Read ``files`` as text, keeping the result on each; a failure is left for rendering to report."""
    for file in files:
        try:
            file_text(file)
        except ValueError:
            pass


def compile_value(value: Any) -> Node:
    """Compile a recipe value (any JSON) into a :class:`Node`.

    Raises :class:`ReferenceSyntaxError` on the first malformed reference; use
    :func:`compile_value_collecting` to gather all of them with their locations.
    """
    problems: list[tuple[str, str]] = []
    node = compile_value_collecting(value, "", problems)
    if problems:
        raise ReferenceSyntaxError(problems[0][1])
    return node


def compile_value_collecting(value: Any, location: str, problems: list[tuple[str, str]]) -> Node:
    """Like :func:`compile_value`, appending ``(location, message)`` per bad reference.

    Subtrees without references collapse into one :class:`Const` so rendering
    them costs nothing.
    """
    if isinstance(value, str):
        if "${" not in value:
            return Const(value)
        try:
            parts = split_template(value)
        except ReferenceSyntaxError as exc:
            problems.append((location, str(exc)))
            return Const(value)
        stripped = [p for p in parts if not (type(p) is str and not p.strip())]
        # YAML block scalars add a trailing newline; "${x}\n" is still exactly one reference.
        if len(stripped) == 1 and type(stripped[0]) is Reference:
            return Ref(stripped[0])
        return Template(tuple(parts))
    if isinstance(value, Mapping):
        items = tuple(
            (str(key), compile_value_collecting(item, f"{location}.{key}" if location else str(key), problems))
            for key, item in value.items()
        )
        if all(type(node) is Const for _, node in items):
            return Const(value)
        return DictNode(items)
    if isinstance(value, (list, tuple)):
        nodes = tuple(compile_value_collecting(item, f"{location}[{i}]", problems) for i, item in enumerate(value))
        if all(type(node) is Const for node in nodes):
            return Const(value)
        return ListNode(nodes)
    return Const(value)
