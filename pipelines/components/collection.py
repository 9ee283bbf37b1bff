"""The ``collection`` generic component: array/object manipulation (Instill ``collection`` v0).

Set operations compare JSON values deeply (``1`` equals ``1.0``, ``true`` does
not equal ``1``, objects compare regardless of key order) and keep results in
first-seen order so that outputs are deterministic.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from typing import Any

from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext

_ANY = {"title": "Data"}


def _data_output(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "title": "Output",
        "properties": {"data": {**_ANY, "description": description, **extra}},
        "required": ["data"],
    }


def _list_input(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "title": "Input",
        "properties": {
            "data": {"type": "array", "title": "Data", "description": description, "items": {}},
        },
        "required": ["data"],
    }


APPEND_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "data": {
            **_ANY,
            "description": "The input data. If it's an array, the value will be appended. If it's an "
            "object, the key-value pairs from value will be added. If it's a primitive type (string, "
            "number, boolean), it will be converted to a single-element array before appending.",
        },
        "value": {
            "title": "Value",
            "description": "The value to append: a new array element, or (for an object input and an "
            "object value) key-value pairs to add.",
        },
    },
    "required": ["data", "value"],
}
ASSIGN_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "data": {**_ANY, "description": "The input data structure to modify."},
        "path": {
            "type": "string",
            "title": "Path",
            "description": "Where to assign the value: dot notation for nested objects and [n] for "
            "array indices, e.g. 'users.[0].name', '.[0].key', 'metadata.tags.[2]'.",
        },
        "value": {"title": "Value", "description": "The value to assign at the specified path."},
    },
    "required": ["data", "path", "value"],
}
SPLIT_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "data": {
            **_ANY,
            "description": "The array to split into groups, or the object to split by property count "
            "(keys sorted alphabetically).",
        },
        "size": {"type": "integer", "title": "Size", "description": "Number of elements per group"},
    },
    "required": ["data", "size"],
}


def append(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    data, value = copy.deepcopy(input.get("data")), copy.deepcopy(input.get("value"))
    if isinstance(data, list):
        return {"data": [*data, value]}
    if isinstance(data, dict):
        if isinstance(value, dict):
            return {"data": {**data, **value}}
        return {"data": [data, value]}
    return {"data": [data, value]}


_INDEX = re.compile(r"^\[(-?\d+)\]$")


def assign(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    path = input.get("path")
    if not isinstance(path, str):
        raise ComponentError("The path must be a string.")
    data = copy.deepcopy(input.get("data"))
    value = copy.deepcopy(input.get("value"))
    return {"data": _assign(data, path, value)}


def _parse_path(path: str) -> list[str | int]:
    segments: list[str | int] = []
    # "a[0].b" is read like "a.[0].b".
    for raw in re.sub(r"(?<=[^.\[])\[", ".[", path).split("."):
        if raw == "":
            continue
        match = _INDEX.match(raw)
        if match:
            index = int(match.group(1))
            if index < 0:
                raise ComponentError(f"Negative array index in path {path!r}: {index}.")
            segments.append(index)
        elif raw.startswith("[") and raw.endswith("]"):
            raise ComponentError(f"Invalid array index in path {path!r}: {raw}.")
        else:
            segments.append(raw)
    return segments


def _assign(node: Any, path: str, value: Any) -> Any:
    segments = _parse_path(path)
    if not segments:
        return value

    def put(current: Any, position: int) -> Any:
        segment = segments[position]
        last = position == len(segments) - 1
        if isinstance(segment, int):
            array = current if isinstance(current, list) else []
            if segment > len(array):
                raise ComponentError(
                    f"Array index out of bounds in path {path!r}: {segment} (array length: {len(array)})."
                )
            if segment == len(array):
                array.append(None)
            array[segment] = value if last else put(array[segment], position + 1)
            return array
        if current is None:
            current = {}
        if not isinstance(current, dict):
            raise ComponentError(
                f"Cannot set key {segment!r} of path {path!r} on a non-object value ({_type_name(current)})."
            )
        current[segment] = value if last else put(current.get(segment), position + 1)
        return current

    return put(node, 0)


def split(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    data, size = input.get("data"), input.get("size")
    if isinstance(size, float) and size.is_integer():
        size = int(size)
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise ComponentError("Size must be an integer greater than 0.")
    if isinstance(data, list):
        return {"data": [copy.deepcopy(data[i : i + size]) for i in range(0, len(data), size)]}
    if isinstance(data, dict):
        keys = sorted(data)
        return {
            "data": [{key: copy.deepcopy(data[key]) for key in keys[i : i + size]} for i in range(0, len(keys), size)]
        }
    raise ComponentError(f"Unsupported type for split: {_type_name(data)} (must be array or object).")


# --- set operations over arrays or objects -------------------------------------------


def _key(value: Any) -> Any:
    """A hashable key such that equal JSON values (deeply) have equal keys."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", float(value) if isinstance(value, float) or abs(value) < 2**53 else value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("a", tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("o", frozenset((k, _key(v)) for k, v in value.items()))
    return ("x", repr(value))


def _type_name(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _collections(input: dict[str, Any], operation: str) -> tuple[str, list[Any]] | None:
    items = input.get("data")
    if not isinstance(items, list):
        raise ComponentError(f"The data for {operation} must be an array of arrays or of objects.")
    if not items:
        return None
    kind = _type_name(items[0])
    for index, item in enumerate(items):
        if _type_name(item) != kind:
            raise ComponentError(
                f"All elements must be of the same type: expected {kind}, got {_type_name(item)} at index {index}."
            )
    if kind not in ("array", "object"):
        raise ComponentError(f"Unsupported type for {operation}: {kind} (must be either array or object).")
    return kind, copy.deepcopy(items)


def _run_set_operation(
    operation: str,
    on_arrays: Callable[[list[list[Any]]], list[Any]],
    on_objects: Callable[[list[dict[str, Any]]], dict[str, Any]],
    input: dict[str, Any],
    ctx: TaskContext,
) -> dict[str, Any]:
    found = _collections(input, operation)
    if found is None:
        return {"data": []}
    kind, items = found
    return {"data": on_arrays(items) if kind == "array" else on_objects(items)}


def _set_operation(
    operation: str,
    on_arrays: Callable[[list[list[Any]]], list[Any]],
    on_objects: Callable[[list[dict[str, Any]]], dict[str, Any]],
) -> Callable[[dict[str, Any], TaskContext], dict[str, Any]]:
    # A partial of module-level functions: pickled by reference into task processes.
    return functools.partial(_run_set_operation, operation, on_arrays, on_objects)


def _concat_arrays(arrays: list[list[Any]]) -> list[Any]:
    return [value for array in arrays for value in array]


def _merge_objects(objects: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for obj in objects:
        merged.update(obj)
    return merged


def _union_arrays(arrays: list[list[Any]]) -> list[Any]:
    seen: dict[Any, Any] = {}
    for array in arrays:
        for value in array:
            seen.setdefault(_key(value), value)
    return list(seen.values())


def _intersect_arrays(arrays: list[list[Any]]) -> list[Any]:
    others = [{_key(v) for v in array} for array in arrays[1:]]
    result: dict[Any, Any] = {}
    for value in arrays[0]:
        key = _key(value)
        if all(key in other for other in others):
            result.setdefault(key, value)
    return list(result.values())


def _intersect_objects(objects: list[dict[str, Any]]) -> dict[str, Any]:
    first, others = objects[0], objects[1:]
    return {k: v for k, v in first.items() if all(k in other and _key(other[k]) == _key(v) for other in others)}


def _difference_arrays(arrays: list[list[Any]]) -> list[Any]:
    # Duplicates in the first array are kept, as Instill does.
    excluded = {_key(v) for array in arrays[1:] for v in array}
    return [value for value in arrays[0] if _key(value) not in excluded]


def _difference_objects(objects: list[dict[str, Any]]) -> dict[str, Any]:
    first, others = objects[0], objects[1:]
    return {k: v for k, v in first.items() if not any(k in other and _key(other[k]) == _key(v) for other in others)}


def _symmetric_difference_arrays(arrays: list[list[Any]]) -> list[Any]:
    if len(arrays) < 2:
        return arrays[0]
    counts: dict[Any, int] = {}
    first_seen: dict[Any, Any] = {}
    for array in arrays:
        for key in dict.fromkeys(_key(v) for v in array):
            counts[key] = counts.get(key, 0) + 1
        for value in array:
            first_seen.setdefault(_key(value), value)
    return [value for key, value in first_seen.items() if counts[key] == 1]


def _symmetric_difference_objects(objects: list[dict[str, Any]]) -> dict[str, Any]:
    if len(objects) < 2:
        return objects[0]
    counts: dict[tuple[str, Any], int] = {}
    pairs: dict[tuple[str, Any], tuple[str, Any]] = {}
    for obj in objects:
        for k, v in obj.items():
            pair = (k, _key(v))
            counts[pair] = counts.get(pair, 0) + 1
            pairs.setdefault(pair, (k, v))
    result: dict[str, Any] = {}
    for pair, (k, v) in pairs.items():
        if counts[pair] == 1:
            result.setdefault(k, v)
    return result


concat = _set_operation("concatenation", _concat_arrays, _merge_objects)
union = _set_operation("union", _union_arrays, _merge_objects)
intersection = _set_operation("intersection", _intersect_arrays, _intersect_objects)
difference = _set_operation("difference", _difference_arrays, _difference_objects)
symmetric_difference = _set_operation(
    "symmetric difference", _symmetric_difference_arrays, _symmetric_difference_objects
)


def _task(
    name: str, title: str, description: str, input_schema: dict[str, Any], output: dict[str, Any], run: Any
) -> Task:
    return Task(
        name=name,
        title=title,
        description=description,
        input_schema=input_schema,
        output_schema=output,
        run=run,
        # Cheap one at a time, but a chain of concats doubling their input grows
        # exponentially: in a task process, the run's time limit can stop it and its
        # memory is not the server's.
        blocking=True,
    )


COMPONENT = ComponentDefinition(
    type="collection",
    title="Collection",
    description="Manipulate collection-type data.",
    tasks={
        task.name: task
        for task in (
            _task(
                "TASK_APPEND",
                "Append",
                "Append values to create or extend an array, or add key-value pairs to an object.",
                APPEND_INPUT,
                _data_output("The resulting array (array or primitive input) or object (object input)."),
                append,
            ),
            _task(
                "TASK_ASSIGN",
                "Assign",
                "Assign a value to a specific path in a data structure.",
                ASSIGN_INPUT,
                _data_output("The resulting data structure after the assign operation."),
                assign,
            ),
            _task(
                "TASK_CONCAT",
                "Concat",
                "Concatenate multiple arrays or merge multiple objects into a single collection.",
                _list_input(
                    "An array of arrays or objects to be concatenated/merged: [[1, 2], [3, 4]] becomes "
                    "[1, 2, 3, 4]; [{'a': 1}, {'b': 2}] becomes {'a': 1, 'b': 2} (later values win)."
                ),
                _data_output("The resulting array or object after concat operation."),
                concat,
            ),
            _task(
                "TASK_DIFFERENCE",
                "Difference",
                "Find elements that exist in the first array or object but not in any of the others.",
                _list_input(
                    "An array of arrays or objects; the first is compared against all the others. "
                    "[[1, 2, 3], [2, 3, 4], [3, 4, 5]] gives [1]."
                ),
                _data_output("The resulting array or object after the difference operation."),
                difference,
            ),
            _task(
                "TASK_INTERSECTION",
                "Intersection",
                "Find common elements that exist in all input arrays or objects.",
                _list_input(
                    "An array of arrays or objects: [[1, 2, 3], [2, 3, 4]] gives [2, 3]; "
                    "[{'a': 1, 'b': 2}, {'b': 2, 'c': 3}] gives {'b': 2}."
                ),
                _data_output("The resulting array or object after the intersection operation."),
                intersection,
            ),
            _task(
                "TASK_SPLIT",
                "Split",
                "Split arrays or objects into smaller chunks.",
                SPLIT_INPUT,
                _data_output(
                    "Array of sub-arrays, or of smaller objects with alphabetically ordered keys.",
                    type="array",
                    items={},
                ),
                split,
            ),
            _task(
                "TASK_SYMMETRIC_DIFFERENCE",
                "Symmetric Difference",
                "Find elements that exist in exactly one of the input arrays or objects.",
                _list_input(
                    "An array of arrays or objects: [[1, 2], [2, 3]] gives [1, 3]; "
                    "[{'a': 1, 'b': 2}, {'b': 2, 'c': 3}] gives {'a': 1, 'c': 3}."
                ),
                _data_output("The resulting array or object after the symmetric difference operation."),
                symmetric_difference,
            ),
            _task(
                "TASK_UNION",
                "Union",
                "Find unique elements that exist in any of the input arrays or objects.",
                _list_input(
                    "An array of arrays or objects: [[1, 2], [2, 3]] gives [1, 2, 3]; "
                    "[{'a': 1, 'b': 2}, {'b': 2, 'c': 3}] gives {'a': 1, 'b': 2, 'c': 3}."
                ),
                _data_output("The resulting array or object after the union operation."),
                union,
            ),
        )
    },
)
