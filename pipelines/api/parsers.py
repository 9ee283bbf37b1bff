"""Request bodies: JSON (triggers and the DRF API, with the input limits) and
``multipart/form-data`` trigger bodies.

JSON goes through :func:`pipelines.engine.limits.loads_json`: nesting deeper than
``PIPELINE_MAX_JSON_DEPTH``, numbers beyond a double, invalid UTF-8 and lone
surrogates answer 400 naming the field or the limit. A body declared as anything but
JSON (or multipart where uploads are accepted) answers 415.

Multipart trigger bodies: ``variables[N].name`` fields and file parts.

Field names follow Instill: ``variables[N].name`` (or legacy ``inputs[N].name``) sets
``data[N].variable.name``; ``variables[N].name[i]`` sets item ``i`` of an array. A text
value is parsed as JSON (``"hello"``, ``42``, ``true``, ``{"a": 1}``) and, when it is
not JSON, taken as a plain string — so ``-F 'variables[0].prompt=hello'`` works too,
where Instill insists on JSON. A file part becomes a :class:`File` for that variable;
the same name given several times makes a list. Django spools large uploads to disk,
and the File points at the spooled file instead of copying it.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.http import QueryDict
from django.http.multipartparser import MultiPartParserError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from pipelines.engine.limits import InputLimitError, loads_json
from pipelines.errors import InvalidArgument, UnsupportedMediaType, quoted
from pipelines.services.triggers import file_value

FIELD = re.compile(
    r"^(?P<root>variables|inputs)\[(?P<row>\d+)\]\.(?P<name>[A-Za-z0-9_][-A-Za-z0-9_]*)(?:\[(?P<item>\d+)\])?$"
)


def is_json_type(content_type: str) -> bool:
    """``application/json`` and its ``+json`` relatives (parameters already stripped)."""
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def check_trigger_type(request) -> None:
    """415 unless the body is declared JSON or multipart. A body with no Content-Type
    at all is read as JSON (scripts that send raw bytes); a declared form body is not
    (``curl -d`` without ``--header "Content-Type: application/json"`` sends one)."""
    content_type = request.content_type or ""
    if not content_type or is_json_type(content_type) or content_type == "multipart/form-data":
        return
    raise UnsupportedMediaType(
        f'Content-Type "{content_type}" is not accepted here: send JSON with "Content-Type: application/json" '
        '(curl: --header "Content-Type: application/json"), or files as multipart/form-data',
        field="Content-Type",
    )


def json_body(body: bytes, *, what: str = "the request body") -> Any:
    """A JSON request body within the input limits, its field names as
    :func:`proto_json_names` reads them; :class:`InvalidArgument` otherwise."""
    try:
        parsed = loads_json(body, max_depth=settings.PIPELINE_MAX_JSON_DEPTH, what=what)
    except InputLimitError as exc:
        raise InvalidArgument(exc.message, field=exc.field) from None
    except ValueError as exc:
        raise InvalidArgument(str(exc), field="body") from None
    return proto_json_names(parsed)


SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def proto_json_names(body: Any) -> Any:
    """A request body with its fields under their lowerCamelCase names, as proto-JSON
    parsers read them: a field may be sent as ``newPipelineId`` or under its proto name
    ``new_pipeline_id``. Every request body is a message, so its top-level keys are
    field names; what is below them (a recipe, a trigger's variables, a setup) is the
    client's data and keeps its keys. Both spellings of one field are a 400."""
    if not isinstance(body, dict) or not any("_" in key for key in body):
        return body
    named: dict[str, Any] = {}
    for key, value in body.items():
        name = re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), key) if SNAKE_CASE.match(key) else key
        if name in named:
            raise InvalidArgument(f"{quoted(name)} is sent twice (once as {quoted(key)}): send one of them", field=name)
        named[name] = value
    return named


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser with the input limits of every other body (400 naming the
    field or limit, never a RecursionError or an int-conversion ValueError)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = stream.read() if stream is not None else b""
        if not data.strip():
            raise ParseError("the request body is empty")
        return json_body(data)


def text_value(text: str, *, field: str) -> Any:
    """A form text field: JSON when it is JSON, the plain string otherwise; JSON over
    the input limits (depth, numbers, lone surrogates) is a 400 naming ``field``."""
    try:
        return loads_json(text, max_depth=settings.PIPELINE_MAX_JSON_DEPTH, what=f'form field "{field}"', root=field)
    except InputLimitError as exc:
        raise InvalidArgument(exc.message, field=field if exc.field == "body" else exc.field) from None
    except ValueError:
        return text


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
            place(field, text_value(text, field=field))
    for field, uploads in files.lists():
        for upload in uploads:
            place(field, file_value(upload))
    if len(roots) > 1:
        raise InvalidArgument("use either variables[N].name or inputs[N].name fields, not both", field="variables")
    if not rows:
        raise InvalidArgument("the form has no variables[N].name fields", field="variables")
    missing = [i for i in range(max(rows) + 1) if i not in rows]
    if missing:
        raise InvalidArgument(
            f"form rows must be numbered from 0 without gaps; row {missing[0]} is missing",
            field=f"variables[{missing[0]}]",
        )
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
