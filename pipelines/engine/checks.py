"""The recipe checker's finer checks: unknown keys with a did-you-mean, inputs that
hold references checked against the type they will resolve to, short schema
messages, and YAML syntax errors located where they start.

:mod:`~pipelines.engine.recipe` calls these; they know nothing of components or
scopes beyond the schemas and types handed to them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema.exceptions
import jsonschema.validators
import yaml

from .references import Const, DictNode, ListNode, Node, Ref, Reference, Template

__all__ = [
    "KNOWN_COMPONENT_KEYS",
    "KNOWN_ITERATOR_KEYS",
    "KNOWN_OUTPUT_KEYS",
    "KNOWN_TOP_KEYS",
    "KNOWN_VARIABLE_KEYS",
    "Pending",
    "SchemaProblem",
    "did_you_mean",
    "key_line",
    "listing",
    "message",
    "pending_instance",
    "schema_problems",
    "unknown_keys",
    "yaml_error",
]

# What Instill's recipe model reads (pkg/datamodel: Recipe, Variable, Output,
# Component), plus the spellings this product also accepts.
KNOWN_TOP_KEYS = ("version", "on", "variable", "secret", "component", "output")
KNOWN_VARIABLE_KEYS = (
    "title",
    "description",
    "type",
    "format",
    "instill-format",
    "instillFormat",
    "listen",
    "default",
    "required",
    "instill-ui-order",
    "instillUiOrder",
    "instill-ui-multiline",
)
KNOWN_OUTPUT_KEYS = ("title", "description", "value", "listen", "instill-ui-order", "instillUiOrder")
KNOWN_COMPONENT_KEYS = ("type", "task", "input", "setup", "condition", "metadata", "description")
KNOWN_ITERATOR_KEYS = (
    "type",
    "input",
    "range",
    "index",
    "component",
    "output-elements",
    "condition",
    "metadata",
    "description",
)

#: How many items a message lists before saying "and N more".
LIST_CAP = 8
#: The longest rendering of a value quoted in a message.
VALUE_CAP = 60


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name`` (a likely misspelling), or None."""
    candidates = [k for k in known if isinstance(k, str)]
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not found:
        lowered = {k.lower(): k for k in candidates}
        found = [lowered[name.lower()]] if name.lower() in lowered else []
    return found[0] if found else None


def listing(names: Iterable[Any], cap: int = LIST_CAP) -> str:
    """``a, b, c`` — or ``a, b, … and 4 more`` past ``cap`` items."""
    items = [str(n) for n in names]
    if len(items) <= cap:
        return ", ".join(items) or "none"
    return ", ".join(items[:cap]) + f" and {len(items) - cap} more"


def short(value: Any) -> str:
    """A value as a message quotes it: JSON-like and at most :data:`VALUE_CAP` characters."""
    if isinstance(value, Pending):
        return value.text
    if isinstance(value, str):
        text = '"' + value.replace("\n", "\\n") + '"'
    elif isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "null"}[value]
    elif isinstance(value, Mapping):
        text = "{" + ", ".join(list(map(str, value))[:4]) + ("…}" if len(value) > 4 else "}")
        text = "a map " + text if value else "an empty map"
    elif isinstance(value, (list, tuple)):
        text = f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    else:
        text = str(value)
    return text if len(text) <= VALUE_CAP else text[: VALUE_CAP - 1] + "…"


# --- unknown keys ------------------------------------------------------------------


def _object_keys(schema: Mapping[str, Any]) -> tuple[dict[str, list[Mapping[str, Any]]], bool]:
    """The property names a map under ``schema`` may have (each with the schemas
    declaring it, across oneOf/anyOf/allOf branches), and whether other keys are
    allowed too (``additionalProperties`` or ``patternProperties``, or no declared
    properties at all: a free-form map)."""
    properties: dict[str, list[Mapping[str, Any]]] = {}
    open_ = False
    declared = False
    stack = [schema]
    while stack:
        current = stack.pop()
        if not isinstance(current, Mapping):
            continue
        props = current.get("properties")
        if isinstance(props, Mapping):
            declared = True
            for name, sub in props.items():
                properties.setdefault(str(name), []).append(sub)
        extra = current.get("additionalProperties")
        if (extra is not None and extra is not False) or current.get("patternProperties"):
            open_ = True
        if extra is False:
            declared = True
        for keyword in ("oneOf", "anyOf", "allOf"):
            branches = current.get(keyword)
            if isinstance(branches, list):
                stack.extend(branches)
    return properties, open_ or not declared


def unknown_keys(schema: Mapping[str, Any], instance: Any, location: str) -> Iterator[tuple[str, str, list[str]]]:
    """``(location, key, known keys)`` for each key of ``instance`` that ``schema``
    does not declare, at every level (maps in lists too). Values that are references
    are not looked into: what they hold is only known at run time."""
    stack: list[tuple[Any, list[Mapping[str, Any]], str]] = [(instance, [schema], location)]
    while stack:
        value, schemas, where = stack.pop()
        if isinstance(value, Mapping):
            merged: dict[str, list[Mapping[str, Any]]] = {}
            open_ = False
            for sub in schemas:
                props, sub_open = _object_keys(sub)
                open_ = open_ or sub_open
                for name, subs in props.items():
                    merged.setdefault(name, []).extend(subs)
            for key, item in value.items():
                if str(key) in merged:
                    stack.append((item, merged[str(key)], f"{where}.{key}"))
                elif not open_:
                    yield f"{where}.{key}", str(key), list(merged)
        elif isinstance(value, list):
            items: list[Mapping[str, Any]] = [
                s["items"] for s in schemas if isinstance(s, Mapping) and isinstance(s.get("items"), Mapping)
            ]
            if items:
                for i, item in enumerate(value):
                    stack.append((item, items, f"{where}[{i}]"))


# --- references checked against the type they resolve to --------------------------


@dataclass(frozen=True, slots=True)
class Pending:
    """A value only known at run time: a reference (``text``) that resolves to a
    ``json_type`` (``string``, ``number`` ..., None when it cannot be told); ``what``
    names its declared type for messages (``a number variable``)."""

    text: str
    json_type: str | None
    what: str = ""


_JSON_KINDS = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _fits(json_type: str | None, wanted: Any) -> bool:
    """Whether a value of ``json_type`` can satisfy ``type: wanted``. Numbers and
    integers are not told apart: a number variable often holds whole numbers."""
    if json_type is None:
        return True
    wanted_types = wanted if isinstance(wanted, list) else [wanted]
    kinds = {"integer": "number"}.get(json_type, json_type)
    return any({"integer": "number"}.get(str(w), str(w)) == kinds for w in wanted_types)


def pending_instance(value: Any, node: Node, type_of: Callable[[Reference], tuple[str | None, str]]) -> Any:
    """``value`` with each reference replaced by a :class:`Pending` of the type
    ``type_of`` says it resolves to; text mixing references is a string."""
    if isinstance(node, Ref):
        json_type, what = type_of(node.reference)
        return Pending(str(node.reference), json_type, what)
    if isinstance(node, Template):
        return Pending(value if isinstance(value, str) else "", "string", "text")
    if isinstance(node, DictNode) and isinstance(value, Mapping):
        children = dict(node.items)
        return {
            k: pending_instance(v, children[str(k)], type_of) if str(k) in children else v for k, v in value.items()
        }
    if isinstance(node, ListNode) and isinstance(value, list):
        return [pending_instance(v, n, type_of) for v, n in zip(value, node.items, strict=False)]
    if isinstance(node, Const) and isinstance(value, str) and "${" in value:
        return Pending(value, None)  # a malformed reference: reported on its own
    return value


def _holds_pending(value: Any) -> bool:
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, Pending):
            return True
        if isinstance(current, Mapping):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return False


def _pending_type(validator: Any, wanted: Any, instance: Pending, schema: Any) -> Iterator[Any]:
    if not _fits(instance.json_type, wanted):
        yield jsonschema.exceptions.ValidationError(f"type:{instance.json_type}")


def _pending_values(validator: Any, values: Any, instance: Pending, schema: Any) -> Iterator[Any]:
    options = values if isinstance(values, list) else [values]
    if instance.json_type is not None and not any(
        _fits(instance.json_type, _JSON_KINDS.get(type(o), "object")) for o in options
    ):
        yield jsonschema.exceptions.ValidationError(f"values:{instance.json_type}")


def _any_branch(validator: Any, branches: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """oneOf for a value holding references: which branch it will match is only
    known at run time, so fitting any one is enough."""
    context: list[Any] = []
    for index, branch in enumerate(branches):
        errors = list(validator.descend(instance, branch, schema_path=index))
        if not errors:
            return
        context.extend(errors)
    yield jsonschema.exceptions.ValidationError("fits none of the allowed forms", context=context)


_validator_cache: dict[int, tuple[Mapping[str, Any], Any]] = {}


def _validator(schema: Mapping[str, Any]) -> Any:
    cached = _validator_cache.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    base = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)

    def wrap(keyword: str, function: Any) -> Any:
        def check(validator: Any, value: Any, instance: Any, subschema: Any) -> Any:
            if isinstance(instance, Pending):
                if keyword == "type":
                    yield from _pending_type(validator, value, instance, subschema)
                elif keyword in ("const", "enum"):
                    yield from _pending_values(validator, value, instance, subschema)
                elif keyword == "oneOf":
                    yield from _any_branch(validator, value, instance, subschema)
                elif keyword in ("anyOf", "allOf", "$ref", "$dynamicRef"):
                    result = function(validator, value, instance, subschema)
                    if result is not None:
                        yield from result
                return
            if keyword == "oneOf" and _holds_pending(instance):
                yield from _any_branch(validator, value, instance, subschema)
                return
            if keyword == "additionalProperties":
                return  # unknown keys are reported on their own, with a suggestion
            result = function(validator, value, instance, subschema)
            if result is not None:
                yield from result

        return check

    validators = {k: wrap(k, v) for k, v in base.VALIDATORS.items()}
    cls = jsonschema.validators.extend(base, validators)  # type: ignore[no-untyped-call]  # types-jsonschema leaves extend() untyped
    validator = cls(dict(schema))
    _validator_cache[id(schema)] = (schema, validator)
    return validator


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    path: tuple[Any, ...]
    message: str
    missing: tuple[str, ...] = ()


def schema_problems(schema: Mapping[str, Any], instance: Any) -> list[SchemaProblem]:
    """What is wrong with ``instance`` under ``schema``, one short message per place
    (the deepest first: a oneOf that failed because of a field says so at the field)."""
    if not schema:
        return []
    try:
        errors = list(_validator(schema).iter_errors(instance))
    except jsonschema.exceptions.SchemaError as exc:  # a component bug, but say so
        return [SchemaProblem((), f"the component's schema is invalid: {exc.message[:200]}")]
    out: list[SchemaProblem] = []
    for error in (leaf for top in errors for leaf in _chosen(top)):
        path = tuple(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, Mapping):
            missing = tuple(str(n) for n in error.validator_value if n not in error.instance)
            out.append(SchemaProblem(path, "", missing))
            continue
        out.append(SchemaProblem(path, message(error)))
    return out


def _chosen(error: Any) -> list[Any]:
    """The errors to report for ``error``: itself, or for a oneOf/anyOf that no form
    fits, the errors of the form meant — the one whose distinguishing field
    (``auth-type: BEARER_TOKEN``) matches, else the one with the fewest errors."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    depth = len(error.absolute_path)
    branches: dict[Any, list[Any]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    meant = [
        errs
        for errs in branches.values()
        if not any(e.validator in ("const", "enum") and len(e.absolute_path) == depth + 1 for e in errs)
    ]
    best = min(meant or list(branches.values()), key=len)
    return [leaf for sub in best for leaf in _chosen(sub)]


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _type_words(wanted: Any) -> str:
    names = {"object": "map", "array": "list", "null": "null"}
    wanted_types = wanted if isinstance(wanted, list) else [wanted]
    return " or ".join(_article(names.get(str(w), str(w))) for w in wanted_types)


def message(error: Any) -> str:
    """A short message for one jsonschema error: never a dumped schema."""
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    if isinstance(instance, Pending):
        what = f" ({instance.what})" if instance.what else ""
        if kind == "type":
            return f"{instance.text} resolves to {_article(str(instance.json_type))}{what}, but this field takes {_type_words(value)}"
        if kind in ("const", "enum"):
            options = value if isinstance(value, list) else [value]
            return f"{instance.text} resolves to {_article(str(instance.json_type))}{what}, but this field takes one of {listing(map(short, options))}"
    if kind == "type":
        return f"{short(instance)} is not {_type_words(value)}"
    if kind == "enum":
        return f"{short(instance)} is not one of {listing(map(short, value))}"
    if kind == "const":
        return f"{short(instance)} must be {short(value)}"
    if kind in ("oneOf", "anyOf"):
        if "valid under each of" in error.message:
            return f"{short(instance)} fits more than one of the allowed forms; say which with its distinguishing field"
        titles = [b.get("title") for b in value if isinstance(b, Mapping) and b.get("title")]
        forms = f" ({listing(titles)})" if titles else ""
        return f"{short(instance)} fits none of the allowed forms{forms}"
    limits = {
        "minimum": "is less than the minimum of",
        "maximum": "is more than the maximum of",
        "exclusiveMinimum": "must be more than",
        "exclusiveMaximum": "must be less than",
        "multipleOf": "is not a multiple of",
        "minLength": "is shorter than",
        "maxLength": "is longer than",
        "minItems": "has fewer items than",
        "maxItems": "has more items than",
        "minProperties": "has fewer fields than",
        "maxProperties": "has more fields than",
        "pattern": "does not match the pattern",
        "format": "is not in the format",
    }
    if kind in limits:
        return f"{short(instance)} {limits[kind]} {short(value)}"
    if kind == "uniqueItems":
        return f"{short(instance)} has repeated items"
    text = str(error.message)
    if len(text) <= 160 and "{" not in text:
        return text
    return f"{short(instance)} does not fit this field's schema ({kind})"


# --- where things are in the YAML text ----------------------------------------------

_SEGMENT = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def key_line(root: yaml.Node | None, location: str) -> tuple[int, bool]:
    """The 1-based line of the key (or list item) ``location`` names in the composed
    YAML ``root``, and whether it was found exactly (else the nearest parent's)."""
    node: Any = root
    line = 1
    if node is None or location in ("", "recipe"):
        return line, False
    for match in _SEGMENT.finditer(location):
        name, index = match.group(1), match.group(2)
        if index is not None and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            node = node.value[int(index)]
            line = node.start_mark.line + 1
            continue
        if name is not None and isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == name), None)
            key = next((k for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == name), None)
            if found is not None and key is not None:
                line, node = key.start_mark.line + 1, found
                continue
        return line, False
    return line, True


def yaml_error(exc: yaml.YAMLError) -> tuple[int, str]:
    """The line a YAML syntax error starts at (0 when unknown) and its message.

    PyYAML reports an unclosed quote where it gave up — the end of the text — and
    names the quote's own line only as context; the context is where to look when
    the scanner was inside something (a quoted string, a key) or ran off the end.
    """
    problem = getattr(exc, "problem", None) or str(exc).strip()
    context = getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None)
    start = getattr(exc, "context_mark", None)
    ran_off = "end of stream" in problem
    inside = context and context.startswith(("while scanning", "while parsing a flow"))
    if start is not None and context and (inside or ran_off):
        at = f"line {start.line + 1}, column {start.column + 1}"
        later = f" (found the end of the text at line {mark.line + 1})" if ran_off and mark is not None else ""
        if "quoted scalar" in context:
            what = "this quoted string is never closed"
        else:
            what = f"{context.removeprefix('while ')} that starts here: {problem}"
        return start.line + 1, f"invalid YAML at {at}: {what}{later}"
    if mark is not None:
        return mark.line + 1, f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return 0, f"invalid YAML: {problem}"
