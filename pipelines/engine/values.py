"""Runtime values: plain JSON plus :class:`File`, and reference attributes.

Values flowing through a run are what JSON decoding produces (``dict``, ``list``,
``str``, ``int``, ``float``, ``bool``, ``None``) plus :class:`File`. Files stay
as bytes (or a spooled temp file on disk) for the whole run and become data URIs
only at the edges (:func:`to_json`), so a 30 MB upload is not re-encoded per
component.

Reference attributes (``${variable.img:filename}``) are looked up in
:data:`ATTRIBUTES`; image/document/audio attributes can be added later with
:func:`register_attribute` without touching the reference resolver. How a file
reads inside a template string (:func:`file_text`) is extended the same way:
components register a string form per MIME type (:func:`register_string_form`).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from .limits import heal_text

__all__ = [
    "ATTRIBUTES",
    "TEXT_ATTRIBUTES",
    "File",
    "FileDecodeError",
    "file_text",
    "json_bytes",
    "register_attribute",
    "register_string_form",
    "sniff_mime_type",
    "string_form",
    "to_json",
]

OCTET_STREAM = "application/octet-stream"


class FileDecodeError(ValueError):
    """A string is not a valid data URI or base64 payload."""


def sniff_mime_type(head: bytes) -> str:
    """Guess a MIME type from the first bytes of a payload (magic numbers).

    Only the formats users commonly upload are recognised; anything that decodes
    as UTF-8 text without NUL bytes is ``text/plain``; the rest is
    ``application/octet-stream``.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        # Office documents are zip files; the first entry names tell them apart
        # well enough without unzipping.
        if b"word/" in head:
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        if b"xl/" in head:
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if b"ppt/" in head:
            return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        return "application/zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "application/x-ole-storage"  # Office 97-2003: .doc, .xls, .ppt
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sniffed prefix is still text.
            if exc.start < len(head) - 3:
                return OCTET_STREAM
        return "text/plain"
    return OCTET_STREAM


class File:
    """A binary value: bytes in memory or a file on disk, with a MIME type and name.

    Treat it as immutable: the engine hands the same object to every component
    that references it. ``path`` files are read on demand (:meth:`read`), so a
    spooled upload is not held in memory until a component needs its bytes.
    """

    __slots__ = ("_data", "_path", "_size", "_text", "filename", "mime_type")

    def __init__(
        self,
        data: bytes | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        mime_type: str | None = None,
        filename: str | None = None,
    ) -> None:
        if (data is None) == (path is None):
            raise ValueError("File needs exactly one of data or path")
        self._data = bytes(data) if data is not None and not isinstance(data, bytes) else data
        self._path = os.fspath(path) if path is not None else None
        self._size: int | None = len(data) if data is not None else None
        if mime_type is None:
            mime_type = sniff_mime_type(self._head())
        self.mime_type: str = mime_type
        self.filename: str | None = filename
        self._text: str | None = None  # what a registered string form made of it (file_text)

    def _head(self, n: int = 512) -> bytes:
        if self._data is not None:
            return self._data[:n]
        assert self._path is not None
        with open(self._path, "rb") as fh:
            return fh.read(n)

    @property
    def path(self) -> str | None:
        """The file on disk, when the value is spooled rather than in memory."""
        return self._path

    @property
    def size(self) -> int:
        if self._size is None:
            assert self._path is not None
            self._size = os.path.getsize(self._path)
        return self._size

    def read(self) -> bytes:
        """The whole payload. Reads the disk file each time for spooled files."""
        if self._data is not None:
            return self._data
        assert self._path is not None
        with open(self._path, "rb") as fh:
            return fh.read()

    def base64(self) -> str:
        return base64.b64encode(self.read()).decode("ascii")

    def data_uri(self) -> str:
        """``data:<mime>;base64,...``; the filename, if any, rides as a parameter.

        Built in one bytes buffer decoded once: for a 30 MB file the plain f-string
        holds three 40 MB copies at its peak, this two.
        """
        params = ""
        if self.filename:
            params = ";filename=" + urllib.parse.quote(self.filename, safe="")
        encoded = bytearray(f"data:{self.mime_type}{params};base64,".encode("ascii"))
        encoded += binascii.b2a_base64(self.read(), newline=False)
        return encoded.decode("ascii")

    @classmethod
    def from_data_uri(cls, uri: str) -> File:
        """Parse ``data:[<mime>][;param=value]*[;base64],<payload>`` (RFC 2397)."""
        if not uri.startswith("data:"):
            raise FileDecodeError("not a data URI")
        header, sep, payload = uri[5:].partition(",")
        if not sep:
            raise FileDecodeError("data URI has no ',' separating the payload")
        parts = header.split(";")
        mime = parts[0].strip() or None
        filename: str | None = None
        is_base64 = False
        for part in parts[1:]:
            key, _, value = part.partition("=")
            key = key.strip().lower()
            if key == "base64" and not value:
                is_base64 = True
            elif key in ("filename", "name"):
                filename = urllib.parse.unquote(value) or None
        data = _b64decode(payload) if is_base64 else urllib.parse.unquote_to_bytes(payload)
        if mime is None and not is_base64:
            mime = "text/plain"
        return cls(data, mime_type=mime, filename=filename)

    @classmethod
    def from_base64(cls, text: str, filename: str | None = None) -> File:
        """Decode raw base64; the MIME type is sniffed from the payload."""
        return cls(_b64decode(text), filename=filename)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, File):
            return NotImplemented
        return self.mime_type == other.mime_type and self.filename == other.filename and self.read() == other.read()

    __hash__ = None  # type: ignore[assignment]  # mutable-looking payload; equality is by content

    def __repr__(self) -> str:
        where = f"path={self._path!r}" if self._path else f"{self.size} bytes"
        return f"File({self.mime_type!r}, {where}, filename={self.filename!r})"


def _b64decode(text: str) -> bytes:
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        pass
    # Browsers and some SDKs send URL-safe base64 or drop the padding.
    try:
        padded = compact + "=" * (-len(compact) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FileDecodeError("invalid base64 payload") from exc


def to_json(value: Any, render_file: Callable[[File], Any] | None = None) -> Any:
    """``value`` as plain JSON: Files become data URIs (or what ``render_file`` makes
    of them, e.g. a reference to stored bytes), tuples lists.

    Containers are copied only when something inside them changes, so rendering
    a big file-free output costs a walk, not a copy.
    """
    if isinstance(value, File):
        return value.data_uri() if render_file is None else render_file(value)
    if isinstance(value, dict):
        out: dict[str, Any] | None = None
        for key, item in value.items():
            new = to_json(item, render_file)
            if new is not item and out is None:
                out = dict(value)
            if out is not None:
                out[key] = new
        return value if out is None else out
    if isinstance(value, list):
        items: list[Any] | None = None
        for i, item in enumerate(value):
            new = to_json(item, render_file)
            if new is not item and items is None:
                items = list(value)
            if items is not None:
                items[i] = new
        return value if items is None else items
    if isinstance(value, tuple):
        return [to_json(item, render_file) for item in value]
    if isinstance(value, Mapping):
        return {key: to_json(item, render_file) for key, item in value.items()}
    return value


# --- reference attributes -------------------------------------------------------

AttributeFunction = Callable[[Any], Any]

#: ``${ref:name}`` attribute functions. A function raises ``TypeError`` or
#: ``ValueError`` when the value does not have the attribute; the reference is
#: then unresolved.
ATTRIBUTES: dict[str, AttributeFunction] = {}


#: Attributes that give a file's string form (``:text``): the executor reads the
#: file off the event loop before rendering, as for a file written into a string.
TEXT_ATTRIBUTES: set[str] = set()


def register_attribute(name: str, function: AttributeFunction, *, reads_text: bool = False) -> None:
    """Add (or replace) a reference attribute such as ``:width`` for images.

    ``reads_text``: the attribute is the file's string form (:func:`file_text`).
    """
    ATTRIBUTES[name] = function
    if reads_text:
        TEXT_ATTRIBUTES.add(name)
    else:
        TEXT_ATTRIBUTES.discard(name)


def _as_file(value: Any) -> File:
    if isinstance(value, File):
        return value
    # Values that came in as data URIs (e.g. from an http component) still
    # answer file attributes.
    if isinstance(value, str) and value.startswith("data:"):
        try:
            return File.from_data_uri(value)
        except FileDecodeError as exc:
            raise ValueError(str(exc)) from exc
    raise TypeError(f"{type(value).__name__} is not a file")


def _filename(value: Any) -> str:
    name = _as_file(value).filename
    if name is None:
        raise ValueError("file has no name")
    return name


def _length(value: Any) -> int:
    if isinstance(value, (list, tuple, str, dict)):
        return len(value)
    raise TypeError(f"{type(value).__name__} has no length")


register_attribute("filename", _filename)
register_attribute("content-type", lambda value: _as_file(value).mime_type)
register_attribute("file-size", lambda value: _as_file(value).size)
register_attribute("data-uri", lambda value: _as_file(value).data_uri())
register_attribute("base64", lambda value: _as_file(value).base64())
register_attribute("binary", lambda value: _as_file(value).read())
register_attribute("length", _length)


def json_bytes(value: Any) -> bytes:
    """Plain JSON ``value`` (see :func:`to_json`) encoded to bytes: orjson, which writes
    bytes at once (a 30 MB data URI is not copied through a str), and the standard
    library for what orjson refuses — integers beyond 64 bits, which a recipe can
    produce (jq, an HTTP answer) and must not turn into an error for anyone else —
    and lone surrogates (from rows stored before they were refused at the door), which
    become U+FFFD rather than an encoding error."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return heal_text(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)).encode()


# --- files inside template strings ------------------------------------------------

StringForm = Callable[["File"], str]

#: MIME type (without parameters, lower case) → how a file of that type reads in
#: a template string. A function raises ``ValueError`` when it can't read the file.
STRING_FORMS: dict[str, StringForm] = {}


def register_string_form(mime_types: Iterable[str], function: StringForm) -> None:
    """Make files of ``mime_types`` read as ``function(file)`` inside template strings."""
    for mime_type in mime_types:
        STRING_FORMS[mime_type.lower()] = function


def string_form(file: File) -> StringForm | None:
    """The registered string form for ``file``'s type, if any (reading it may be slow: a document)."""
    return STRING_FORMS.get(file.mime_type.split(";", 1)[0].strip().lower())


def file_text(file: File) -> str:
    """A file as it reads inside a template string (Instill's ``String()`` of a file value).

    A registered string form decides first (documents give their text); otherwise
    text — a ``text/*`` type or valid UTF-8 bytes — reads as itself, and anything
    else as its data URI. A string form's result is kept on the file, so a document
    referenced twice is read once.
    """
    function = string_form(file)
    if function is not None:
        if file._text is None:
            file._text = function(file)
        return file._text
    mime_type = file.mime_type.split(";", 1)[0].strip().lower()
    data = file.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if mime_type.startswith("text/"):
            return data.decode("utf-8", errors="replace")
    return file.data_uri()
