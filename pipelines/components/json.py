"""The ``json`` operator: marshal, unmarshal, jq and field renaming (Instill ``json`` v0)."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jq as _jq

from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext

from ._jq_cost import analyse, json_size_at_most, json_text_size_at_most

_ANY_JSON = {"description": "Any JSON value (number, string, object, array, boolean or null)."}

MARSHAL_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "json": {
            **_ANY_JSON,
            "title": "JSON",
            "description": "JSON entity to be marshaled. It can be any valid JSON datatype "
            "(e.g. number, string, hash, array).",
        },
    },
    "required": ["json"],
}
MARSHAL_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "string": {
            "type": "string",
            "title": "JSON string",
            "description": "String representation of the JSON input.",
        },
    },
    "required": ["string"],
}
UNMARSHAL_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "string": {
            "type": "string",
            "title": "String",
            "description": "JSON string to be unmarshaled. It can represent any valid JSON "
            "datatype (e.g. number, string, hash, array).",
        },
    },
    "required": ["string"],
}
UNMARSHAL_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "json": {**_ANY_JSON, "title": "JSON", "description": "JSON entity extracted from the string input."},
    },
    "required": ["json"],
}
JQ_INPUT = {
    "type": "object",
    "title": "Input",
    "description": "Source JSON and `jq` command.",
    "properties": {
        "json-value": {
            **_ANY_JSON,
            "title": "JSON value",
            "description": "JSON entity to be processed by the filter. It can be any valid JSON "
            "datatype (e.g. number, string, hash, array).",
        },
        "jq-filter": {
            "type": "string",
            "title": "Filter",
            "description": "Filter, in `jq` syntax, that will be applied to the JSON input.",
        },
        "json-string": {
            "type": "string",
            "title": "(DEPRECATED) JSON string",
            "deprecated": True,
            "description": "(DEPRECATED, use 'JSON value' instead) String with the JSON value to "
            "be processed. Used in absence of 'JSON value' for backwards compatibility.",
        },
    },
    "required": ["jq-filter"],
}
JQ_OUTPUT = {
    "type": "object",
    "title": "Output",
    "description": "Results of the `jq` command applied to the input JSON.",
    "properties": {
        "results": {
            "type": "array",
            "title": "Results",
            "description": "The `jq` command results.",
            "items": {"title": "Result"},
        },
    },
    "required": ["results"],
}
RENAME_FIELDS_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "json": {
            **_ANY_JSON,
            "title": "JSON",
            "description": "JSON object to be edited.",
        },
        "fields": {
            "type": "array",
            "title": "Fields",
            "description": "An array of objects specifying the fields to be renamed. Nested "
            "fields are addressed with dotted paths (`user.name`).",
            "items": {
                "type": "object",
                "title": "Field",
                "properties": {
                    "from": {
                        "type": "string",
                        "title": "From",
                        "description": "The field in the original data that needs to be renamed.",
                    },
                    "to": {"type": "string", "title": "To", "description": "The new name for the field."},
                },
                "required": ["from", "to"],
            },
        },
        "conflict-resolution": {
            "type": "string",
            "title": "Conflict Resolution",
            "enum": ["overwrite", "skip", "error"],
            "default": "overwrite",
            "description": "How conflicts are handled when the new field already exists: "
            "'overwrite' (default) replaces it, 'skip' keeps the existing value and drops the "
            "renamed one, 'error' fails the component.",
        },
    },
    "required": ["json", "fields"],
}
RENAME_FIELDS_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "json": {**_ANY_JSON, "title": "JSON", "description": "JSON object with the renamed fields."},
    },
    "required": ["json"],
}


def marshal(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    if "json" not in input:
        raise ComponentError("Couldn't convert the provided object to JSON.")
    try:
        text = json.dumps(input["json"], ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ComponentError(f"Couldn't convert the provided object to JSON: {exc}.") from None
    return {"string": text}


def unmarshal(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    try:
        value = json.loads(input.get("string") or "")
    except (TypeError, ValueError) as exc:
        raise ComponentError(f"Couldn't parse the JSON string ({exc}). Please check the syntax is correct.") from None
    return {"json": value}


#: Longest filter text whose compiled program is cached: the cache keeps its texts
#: alive, and a filter from a trigger's input may be megabytes.
_CACHED_PROGRAM_LENGTH = 10_000


@lru_cache(maxsize=256)
def _compile_cached(program: str) -> Any:
    return _jq.compile(program)


def _compile(program: str) -> Any:
    # Compiling costs milliseconds; running a compiled filter costs microseconds.
    return _compile_cached(program) if len(program) <= _CACHED_PROGRAM_LENGTH else _jq.compile(program)


def run_jq(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    value = input.get("json-value")
    if value is None:
        raw = input.get("json-string")
        if raw is not None:
            try:
                value = json.loads(raw)
            except (TypeError, ValueError):
                raise ComponentError("Couldn't parse the JSON input. Please check the syntax is correct.") from None
    program = input.get("jq-filter")
    if not isinstance(program, str):
        raise ComponentError("The jq filter must be a string.")
    try:
        compiled = _compile(program)
    except ValueError as exc:
        raise ComponentError(
            f"Couldn't parse the jq filter: {_jq_message(exc)}. Please check the syntax is correct."
        ) from None
    try:
        results = compiled.input_value(value).all()
    except ValueError as exc:
        raise ComponentError(f"Couldn't apply the jq filter: {_jq_message(exc)}.") from None
    return {"results": results}


#: Work (in the cost analysis' steps: a byte of a string, or
#: :data:`~._jq_cost.VALUE_WEIGHT` per value) a jq call may take to run inline: an
#: 18 KB prompt for `"Hello \\(.)"`, tens to thousands of values for other filters.
#: ``benchmarks/jq_inline.py`` times the heaviest at their bound: 0.1-6 ms each on the
#: 2-vCPU VM at load 9, where `"Hello \\(.)"` on a 32 MB input (the request limit)
#: takes 0.6-4.4 s and `.[]` 5-34 s.
INLINE_JQ_WORK = 1 << 17


def jq_runs_inline(input: Mapping[str, Any]) -> bool:
    """Whether this jq call may run on the event loop: its filter provably ends in
    work linear in its input (:mod:`._jq_cost`) and its input is small enough for that
    work to stay within :data:`INLINE_JQ_WORK`. Anything else runs in a task process."""
    program = input.get("jq-filter")
    if not isinstance(program, str):
        return True  # refused before jq runs
    cost = analyse(program)
    if cost is None:
        return False
    limit = cost.max_input(INLINE_JQ_WORK)
    value = input.get("json-value")
    if value is None:
        raw = input.get("json-string")
        return raw is None or (isinstance(raw, str) and json_text_size_at_most(raw, limit))
    return json_size_at_most(value, limit)


def _jq_message(exc: Exception) -> str:
    return str(exc).strip().rstrip(".")


def rename_fields(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    document = input.get("json")
    fields = input.get("fields")
    if document is None or not fields:
        raise ComponentError("JSON and fields are required.")
    if not isinstance(document, dict):
        raise ComponentError("The JSON to rename fields in must be an object.")
    mode = input.get("conflict-resolution") or "overwrite"
    if mode not in ("overwrite", "skip", "error"):
        raise ComponentError("Conflict resolution strategy is invalid.")
    # Inputs may be another component's output; never mutate them in place.
    document = copy.deepcopy(document)
    for field in fields:
        if (
            not isinstance(field, dict)
            or not isinstance(field.get("from"), str)
            or not isinstance(field.get("to"), str)
        ):
            raise ComponentError("Each field to rename needs string 'from' and 'to'.")
        _rename(document, field["from"], field["to"], mode)
    return {"json": document}


_MISSING = object()


def _rename(document: dict[str, Any], source: str, target: str, mode: str) -> None:
    # Both paths start at the root. A top-level key that literally matches (dots
    # included) wins, as in Instill; otherwise dots walk into nested objects.
    located = (document, source) if source in document else _locate(document, source.split("."))
    if located is None or located[1] not in located[0]:
        return
    parent, key = located
    if target in document or "." not in target:
        target_parent, target_key = document, target
    else:
        found = _locate(document, target.split("."), create=True)
        if found is None:
            raise ComponentError(f"Cannot rename {source!r} to {target!r}: the target path crosses a non-object value.")
        target_parent, target_key = found
    if parent is target_parent and key == target_key:
        return
    exists = target_key in target_parent
    if exists and mode == "error":
        raise ComponentError(f"Field conflict: {target!r} already exists.")
    value = parent.pop(key)
    if not (exists and mode == "skip"):
        target_parent[target_key] = value


def _locate(
    document: dict[str, Any], segments: list[str], *, create: bool = False
) -> tuple[dict[str, Any], str] | None:
    node: Any = document
    for segment in segments[:-1]:
        child = node.get(segment, _MISSING)
        if child is _MISSING and create:
            child = node[segment] = {}
        if not isinstance(child, dict):
            return None
        node = child
    return node, segments[-1]


COMPONENT = ComponentDefinition(
    type="json",
    title="JSON",
    description="Manipulate and convert JSON entities.",
    tasks={
        "TASK_MARSHAL": Task(
            name="TASK_MARSHAL",
            title="Marshal",
            description="Convert JSON to a string",
            input_schema=MARSHAL_INPUT,
            output_schema=MARSHAL_OUTPUT,
            run=marshal,
            blocking=False,
        ),
        "TASK_UNMARSHAL": Task(
            name="TASK_UNMARSHAL",
            title="Unmarshal",
            description="Convert a string to JSON",
            input_schema=UNMARSHAL_INPUT,
            output_schema=UNMARSHAL_OUTPUT,
            run=unmarshal,
            blocking=False,
        ),
        # A filter may never end (`def f: f; f`) and libjq cannot be interrupted, so
        # jq runs in a killable task process unless its cost analysis proves that this
        # call ends soon (`"Hello \\(.)"` on a prompt): then it runs inline.
        "TASK_JQ": Task(
            name="TASK_JQ",
            title="jq",
            description="Process JSON through a `jq` command",
            input_schema=JQ_INPUT,
            output_schema=JQ_OUTPUT,
            run=run_jq,
            blocking=True,
            inline_when=jq_runs_inline,
        ),
        "TASK_RENAME_FIELDS": Task(
            name="TASK_RENAME_FIELDS",
            title="Rename Fields",
            description="Rename fields in a JSON object with a conflict resolution strategy.",
            input_schema=RENAME_FIELDS_INPUT,
            output_schema=RENAME_FIELDS_OUTPUT,
            run=rename_fields,
            blocking=False,
        ),
    },
)
