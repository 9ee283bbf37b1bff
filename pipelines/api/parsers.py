"""``multipart/form-data`` trigger bodies: ``variables[N].name`` fields and file parts.

Field names follow Instill: ``variables[N].name`` (or legacy ``inputs[N].name``) sets
``data[N].variable.name``; ``variables[N].name[i]`` sets item ``i`` of an array. A text
value is parsed as JSON (``"hello"``, ``42``, ``true``, ``{"a": 1}``) and, when it is
not JSON, taken as a plain string — so ``-F 'variables[0].prompt=hello'`` works too,
where Instill insists on JSON. A file part becomes a :class:`File` for that variable;
the same name given several times makes a list. Django spools large uploads to disk,
and the File points at the spooled file instead of copying it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from django.http.multipartparser import MultiPartParserError

from pipelines.engine import File
from pipelines.errors import InvalidArgument

FIELD = re.compile(r"^(?P<root>variables|inputs)\[(?P<row>\d+)\]\.(?P<name>[A-Za-z0-9_][-A-Za-z0-9_]*)(?:\[(?P<item>\d+)\])?$")
GENERIC_TYPES = {"", "application/octet-stream"}


def text_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def file_value(upload: UploadedFile) -> File:
    """A File over the upload: the spooled temp file when Django wrote one, else its bytes."""
    mime = (upload.content_type or "").split(";")[0].strip().lower()
    mime = None if mime in GENERIC_TYPES else mime  # sniffed from the bytes instead
    path = upload.temporary_file_path() if hasattr(upload, "temporary_file_path") else None
    if path:
        return File(path=path, mime_type=mime, filename=upload.name)
    upload.seek(0)
    return File(upload.read(), mime_type=mime, filename=upload.name)


def multipart_payload(post: QueryDict, files, *, max_rows: int) -> dict:
    """The JSON-shaped trigger payload (``{"data": [...]}``) of a parsed form."""
    rows: dict[int, dict[str, Any]] = {}
    arrays: dict[tuple[int, str], dict[int, Any]] = {}
    roots: set[str] = set()

    def place(field: str, value: Any) -> None:
        match = FIELD.match(field)
        if match is None:
            raise InvalidArgument(
                f'form field "{field}" is not of the form variables[N].name or variables[N].name[i]', field=field
            )
        roots.add(match["root"])
        row, name, item = int(match["row"]), match["name"], match["item"]
        if row >= max_rows:
            raise InvalidArgument(f'form field "{field}": the batch size can not exceed {max_rows} rows', field=field)
        variables = rows.setdefault(row, {})
        if item is None:
            if (row, name) in arrays:
                raise InvalidArgument(f'form field "{field}" mixes a whole value with array items', field=field)
            if name in variables:  # repeated name: several values make a list
                existing = variables[name]
                variables[name] = (existing if isinstance(existing, _Repeated) else _Repeated([existing])) + [value]
            else:
                variables[name] = value
        else:
            if name in variables and (row, name) not in arrays:
                raise InvalidArgument(f'form field "{field}" mixes a whole value with array items', field=field)
            items = arrays.setdefault((row, name), {})
            if int(item) in items:
                raise InvalidArgument(f'form field "{field}" is given twice', field=field)
            items[int(item)] = value
            variables[name] = items

    for field, values in post.lists():
        for text in values:
            place(field, text_value(text))
    for field, uploads in files.lists():
        for upload in uploads:
            place(field, file_value(upload))
    if len(roots) > 1:
        raise InvalidArgument("use either variables[N].name or inputs[N].name fields, not both", field="variables")
    if not rows:
        raise InvalidArgument("the form has no variables[N].name fields", field="variables")
    missing = [i for i in range(max(rows) + 1) if i not in rows]
    if missing:
        raise InvalidArgument(f"form rows must be numbered from 0 without gaps; row {missing[0]} is missing", field=f"variables[{missing[0]}]")
    for (row, name), items in arrays.items():
        gap = next((i for i in range(len(items)) if i not in items), None)
        if gap is not None:
            raise InvalidArgument(
                f"variables[{row}].{name} items must be numbered from 0 without gaps; item {gap} is missing",
                field=f"variables[{row}].{name}[{gap}]",
            )
        rows[row][name] = [items[i] for i in range(len(items))]
    data = []
    for index in range(len(rows)):
        variables = {k: list(v) if isinstance(v, _Repeated) else v for k, v in rows[index].items()}
        data.append({"variable": variables})
    return {"data": data}


class _Repeated(list):
    """Values of a field name given more than once."""


def _length_of_chunked_body(request) -> None:
    """Give a chunked (no Content-Length) body its real length in ``CONTENT_LENGTH``.

    Django's MultiPartParser takes a missing Content-Length as 0 and parses nothing, so a
    chunked multipart upload came out as "the form has no variables". Under ASGI the
    whole body is already spooled (and bounded by BodyLimitASGI), so its size is known.
    """
    if request.META.get("CONTENT_LENGTH") not in (None, ""):
        return
    stream = getattr(request, "_stream", None)
    if stream is None or not hasattr(stream, "seek") or not hasattr(stream, "tell"):
        return
    start = stream.tell()
    stream.seek(0, 2)
    size = stream.tell() - start
    stream.seek(start)
    request.META["CONTENT_LENGTH"] = str(size)


def is_multipart(request) -> bool:
    """A trigger sent as ``multipart/form-data`` (uploads) rather than JSON."""
    return request.content_type == "multipart/form-data"


def parse_multipart(request, *, max_rows: int) -> dict:
    """Parse the request's form (blocking file I/O: call it from a thread)."""
    _length_of_chunked_body(request)
    try:
        post, files = request.POST, request.FILES
    except MultiPartParserError as exc:
        raise InvalidArgument(f"malformed multipart/form-data body: {exc}", field="body") from exc
    return multipart_payload(post, files, max_rows=max_rows)
