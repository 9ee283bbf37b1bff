"""Parsing and validating recipes into a frozen, pre-compiled :class:`Recipe`.

:func:`parse_recipe` is the single validator (editor, API and services all call
it). It collects *every* problem with its location (``component.split.input.text``)
rather than stopping at the first, and compiles everything the executor needs —
references, templates, conditions, the dependency graph — so a run does no
parsing at all.
"""

from __future__ import annotations

import datetime as _dt
import inspect
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import yaml

from .checks import (
    KNOWN_COMPONENT_KEYS,
    KNOWN_ITERATOR_KEYS,
    KNOWN_OUTPUT_KEYS,
    KNOWN_TOP_KEYS,
    KNOWN_VARIABLE_KEYS,
    did_you_mean,
    key_line,
    listing,
    pending_instance,
    schema_problems,
    unknown_keys,
    yaml_error,
)
from .components import ComponentDefinition, Registry, Task
from .conditions import Condition, ConditionSyntaxError, parse_condition
from .inputs import check_value
from .limits import DEFAULT_MAX_JSON_DEPTH, deeper_than, lone_surrogate_path
from .platform import PLATFORM_SECRET, takes_platform_key
from .references import Const, DictNode, IndexVariable, ListNode, Node, Ref, Reference, compile_value_collecting
from .types import BASE_TYPES, FILE_TYPES, json_schema_for, normalize_type
from .values import json_bytes

__all__ = [
    "Component",
    "Graph",
    "IteratorSpec",
    "Output",
    "Problem",
    "Recipe",
    "RecipeInvalid",
    "RecipeLimits",
    "Variable",
    "parse_recipe",
    "validate_recipe",
]

ITERATOR_TYPE = "iterator"
RESERVED_IDS = frozenset({"variable", "secret", "output", "connection"})
COMPONENT_FIELDS = frozenset({"input", "output", "setup", "status", "error"})
STATUS_FIELDS = frozenset({"started", "skipped", "errored", "completed"})
# References to these fields wait for the component but do not inherit its
# failure: that is how a recipe reacts to an error (``${c.status.errored}``).
SOFT_FIELDS = frozenset({"status", "error"})

# Instill documents ^[a-z][-a-z0-9]{0,31}$ but never enforces it; accept what real
# recipes use (capitals, underscores) while still rejecting things a path cannot name.
_VARIABLE_ID = re.compile(r"^[A-Za-z_][-A-Za-z_0-9]{0,63}$")
_COMPONENT_ID = re.compile(r"^[a-zA-Z_][-a-zA-Z_0-9]{0,62}$")
_INDEX_NAME = re.compile(r"^[A-Za-z_][A-Za-z_0-9]{0,31}$")
_PLAINTEXT_CREDENTIAL = (
    "Plaintext values are forbidden in credential fields. "
    "You can create a secret and reference it with the syntax ${secret.my-secret}."
)


# --- public types ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a recipe, as ``/validate`` reports it.

    ``severity`` is ``error`` (the recipe cannot be saved or run) or ``warning``
    (something the engine ignores, such as an unknown top-level key); ``line`` is the
    1-based line of the YAML text it points at, when the recipe was given as text.
    """

    location: str
    error: str
    severity: str = "error"
    line: int | None = None
    #: An error Instill finds only when the recipe runs (an unknown component type, a
    #: setup text that is not a connection reference): it stops a run, not a save.
    runtime: bool = False

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"location": self.location, "error": self.error, "severity": self.severity}
        if self.line is not None:
            out["line"] = self.line
        return out


class RecipeInvalid(ValueError):
    """The recipe has errors; ``problems`` lists all of them (warnings too, after
    the errors)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = sorted(problems, key=lambda p: not p.is_error)
        summary = "; ".join(f"{p.location}: {p.error}" if p.location else p.error for p in self.problems[:5])
        super().__init__(f"invalid recipe: {summary}{more_problems(len(self.problems) - 5)}")


def more_problems(count: int) -> str:
    """ " (and 2 more problems)" for a message that shows only some problems; "" for none.

    Says "problems": a message often ends with a list ("known types: ..."), after which
    a bare "and 1 more" would read as one more item of that list.
    """
    if count <= 0:
        return ""
    return f" (and {count} more problem{'s' if count > 1 else ''})"


@dataclass(frozen=True, slots=True)
class Variable:
    """A declared input. ``type`` is canonical (``image``, ``array:string`` ...)."""

    id: str
    type: str
    title: str
    description: str
    required: bool
    default: Any
    ui_order: int | None
    has_default: bool


@dataclass(frozen=True, slots=True, eq=False)
class Output:
    """A declared pipeline output; ``value`` is compiled (rendered leniently)."""

    id: str
    title: str
    description: str
    value: Node
    ui_order: int | None


@dataclass(frozen=True, eq=False)
class Component:
    """A compiled component.

    ``hard_deps`` / ``soft_deps`` are ids of sibling components this one waits for;
    it is skipped if a hard dependency did not complete. For iterators,
    ``definition``/``task_spec`` are None and ``iterator`` describes the loop.
    """

    id: str
    type: str
    task: str
    input: Node
    setup: Node | None
    condition: Condition | None
    definition: ComponentDefinition | None
    task_spec: Task | None
    hard_deps: frozenset[str]
    soft_deps: frozenset[str]
    iterator: IteratorSpec | None = None
    description: str = ""
    #: How the executor calls the task: "async" (awaited), "process" (blocking: in a
    #: killable task process) or "inline" (cheap sync work, called on the loop).
    #: "iterator" for loops.
    mode: str = "inline"


@dataclass(frozen=True, eq=False)
class IteratorSpec:
    """``type: iterator``: what to iterate and the nested graph run per element."""

    source: Node | None
    range: tuple[Node, Node, Node] | None
    index: str
    graph: Graph
    output_elements: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, eq=False)
class Graph:
    """Components scheduled together (the recipe's, or one iterator's nested ones).

    ``wait_counts`` is the number of sibling dependencies per component (copied
    per run), ``dependants`` the reverse edges, ``initial`` those ready at once.
    """

    components: Mapping[str, Component]
    dependants: Mapping[str, tuple[str, ...]]
    wait_counts: Mapping[str, int]
    initial: tuple[str, ...]

    @classmethod
    def build(cls, components: Sequence[Component]) -> Graph:
        dependants: dict[str, list[str]] = {c.id: [] for c in components}
        waits: dict[str, int] = {}
        for component in components:
            deps = component.hard_deps | component.soft_deps
            waits[component.id] = len(deps)
            for dep in deps:
                dependants[dep].append(component.id)
        return cls(
            components=MappingProxyType({c.id: c for c in components}),
            dependants=MappingProxyType({k: tuple(v) for k, v in dependants.items()}),
            wait_counts=MappingProxyType(waits),
            initial=tuple(c.id for c in components if waits[c.id] == 0),
        )


@dataclass(frozen=True, eq=False)
class Recipe:
    """A valid, compiled recipe. Immutable; share it freely between runs.

    ``raw`` is the recipe as plain JSON (what the API shows as ``recipe``);
    ``warnings`` what the checker found that does not stop it from running.
    """

    version: str | None
    variables: tuple[Variable, ...]
    components: Mapping[str, Component]
    outputs: Mapping[str, Output]
    raw: dict[str, Any]
    graph: Graph = field(repr=False)
    warnings: tuple[Problem, ...] = ()

    def variable(self, id_: str) -> Variable | None:
        for variable in self.variables:
            if variable.id == id_:
                return variable
        return None

    def bind_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """See :func:`pipelines.engine.inputs.bind_rows`."""
        from .inputs import bind_rows

        return bind_rows(self, rows)

    def data_specification(self) -> dict[str, Any]:
        """JSON Schemas of the inputs and outputs (the API's ``dataSpecification``)."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        for variable in self.variables:
            schema = json_schema_for(variable.type)
            schema["title"] = variable.title or variable.id
            schema["description"] = variable.description
            if variable.has_default:
                schema["default"] = variable.default
            if variable.ui_order is not None:
                schema["instillUiOrder"] = variable.ui_order
            properties[variable.id] = schema
            if variable.required:
                required.append(variable.id)
        outputs: dict[str, Any] = {}
        for output in self.outputs.values():
            schema = {"title": output.title or output.id, "description": output.description}
            # An output that is exactly a variable has that variable's type.
            if isinstance(output.value, Ref) and output.value.reference.root == "variable":
                name = output.value.reference.field
                source = self.variable(name) if name else None
                if source is not None and len(output.value.reference.path) == 1:
                    schema = {**json_schema_for(source.type), **schema}
            if output.ui_order is not None:
                schema["instillUiOrder"] = output.ui_order
            outputs[output.id] = schema
        return {
            "input": {"type": "object", "properties": properties, "required": required},
            "output": {"type": "object", "properties": outputs},
        }


@dataclass(frozen=True, slots=True)
class RecipeLimits:
    """How big a recipe may be (the caller fills these from its settings).

    ``max_bytes`` bounds the text as sent *and* the recipe once YAML aliases are
    expanded (measured as JSON), so 300 bytes of nested aliases cannot become
    gigabytes; ``max_depth`` bounds the nesting of maps and lists.
    """

    max_bytes: int = 1024 * 1024
    max_depth: int = DEFAULT_MAX_JSON_DEPTH


def parse_recipe(source: str | Mapping[str, Any], *, registry: Registry, limits: RecipeLimits | None = None) -> Recipe:
    """Parse YAML text (or an already-decoded mapping) into a :class:`Recipe`.

    Raises :class:`RecipeInvalid` listing every problem found (a recipe over
    ``limits`` is one problem, found before anything is expanded). Warnings alone
    do not make a recipe invalid: they are in :attr:`Recipe.warnings`.
    """
    recipe, problems = _RecipeParser(registry, limits or RecipeLimits()).parse(source)
    if recipe is None:
        raise RecipeInvalid(problems)
    return recipe


def validate_recipe(
    source: str | Mapping[str, Any], *, registry: Registry, limits: RecipeLimits | None = None
) -> list[Problem]:
    """All problems of a recipe, errors and warnings (see :attr:`Problem.severity`);
    empty when it is valid and has nothing to warn about."""
    return _RecipeParser(registry, limits or RecipeLimits()).parse(source)[1]


# --- YAML -----------------------------------------------------------------------


# The libyaml parser when PyYAML was built with it: parsing dominates parse_recipe.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _YamlLoader(_BaseLoader):  # type: ignore[misc]
    """YAML 1.2 scalars, as Instill's Go parser reads them.

    PyYAML follows YAML 1.1, where ``on:`` (the trigger key) is the boolean True
    and ``2024-01-01`` a date; neither survives as JSON.
    """


_YamlLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class _RecipeRefused(Exception):
    """The recipe is over a :class:`RecipeLimits` bound or not valid Unicode; the
    message says which, ``location`` where."""

    def __init__(self, message: str, location: str = "recipe") -> None:
        super().__init__(message)
        self.location = location


#: How many YAML syntax errors one check reports (each needs a parse of the text).
MAX_YAML_ERRORS = 20
# "  key: <value>" or "- key: <value>": the part a repair keeps of a line that does not parse.
_KEY_PREFIX = re.compile(r"^(\s*(?:-\s+)?[^\s#'\"\[{][^:#]*:)(?:\s|$)")


def _load_yaml_collecting(text: str, limits: RecipeLimits) -> tuple[Any, yaml.Node | None, list[Problem], set[int]]:
    """Decode YAML text, reporting every syntax error rather than the first.

    Each error is reported at the line it starts on; that line is then repaired (its
    value dropped, or the line emptied) and the text read again, so an error on one
    line does not hide those on others. Returns the value and node tree of the
    repaired text (None when it never parsed), the errors, and the repaired lines.
    """
    problems: list[Problem] = []
    repaired: set[int] = set()
    lines = text.split("\n")
    current = text
    for _ in range(MAX_YAML_ERRORS):
        try:
            data, tree = _load_yaml(current, limits)
            return data, tree, problems, repaired
        except yaml.YAMLError as exc:
            line, message = yaml_error(exc)
            if line in repaired:
                break
            problems.append(Problem("recipe", message, line=line or None))
            if not 1 <= line <= len(lines):
                break
            repaired.add(line)
            key = _KEY_PREFIX.match(lines[line - 1])
            lines[line - 1] = key.group(1) if key else ""
            current = "\n".join(lines)
    return None, None, problems, repaired


def _load_yaml(text: str, limits: RecipeLimits) -> tuple[Any, yaml.Node | None]:
    """Decode YAML text within ``limits``.

    Aliases make the composed node graph a DAG (or, with an alias inside its own
    anchor, a cycle), so the text's size says nothing about the value's. The node
    graph is measured first — each node once, by its expanded JSON size and depth
    — and only a graph within the limits is turned into Python values.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise _RecipeRefused(
            f"the recipe is {size} bytes, over the {limits.max_bytes}-byte limit (PIPELINE_MAX_RECIPE_BYTES)"
        )
    loader = _YamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_nodes(node, limits)
        return loader.construct_document(node), node
    finally:
        loader.dispose()


def _check_nodes(root: yaml.Node, limits: RecipeLimits) -> None:
    """Refuse a node graph whose expansion is over ``limits`` or cyclic, without
    expanding it: sizes and depths are memoised per node, in one iterative walk."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            size[key], depth[key] = len(node.value) + 2, 0
            continue
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else list(node.value)
        if children_done:
            on_path.discard(key)
            size[key] = 2 + sum(size[id(c)] + 1 for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > limits.max_bytes:
                raise _RecipeRefused(
                    f"the recipe expands to more than {limits.max_bytes} bytes once its YAML aliases are expanded "
                    "(PIPELINE_MAX_RECIPE_BYTES)"
                )
            if depth[key] > limits.max_depth:
                raise _RecipeRefused(
                    f"the recipe nests deeper than {limits.max_depth} levels (PIPELINE_MAX_JSON_DEPTH)"
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise _RecipeRefused("the recipe contains itself through a YAML alias (an alias inside its own anchor)")
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise _RecipeRefused("the recipe contains itself through a YAML alias (an alias inside its own anchor)")
            if id(child) not in size:
                stack.append((child, False))


def _check_value(data: Mapping[str, Any], limits: RecipeLimits) -> None:
    """The limits for a recipe given as JSON (already decoded: no aliases, but it may
    be as deep or as large as its body allowed)."""
    if deeper_than(data, limits.max_depth):
        raise _RecipeRefused(f"the recipe nests deeper than {limits.max_depth} levels (PIPELINE_MAX_JSON_DEPTH)")
    unreadable = lone_surrogate_path(data)
    if unreadable is not None:
        raise _RecipeRefused("not valid Unicode: it holds a lone surrogate (such as \\ud800)", unreadable or "recipe")
    size = len(json_bytes(data))
    if size > limits.max_bytes:
        raise _RecipeRefused(
            f"the recipe is {size} bytes as JSON, over the {limits.max_bytes}-byte limit (PIPELINE_MAX_RECIPE_BYTES)"
        )


def _plain(value: Any) -> Any:
    """Make a YAML-decoded value plain JSON (string keys, lists, no dates/bytes)."""
    if isinstance(value, Mapping):
        return {("null" if k is None else str(k) if not isinstance(k, str) else k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


# --- JSON Schema checks -------------------------------------------------------------


def _path(location: str, parts: Iterable[Any]) -> str:
    for part in parts:
        location += f"[{part}]" if isinstance(part, int) else f".{part}"
    return location


def _hint(name: str, known: Iterable[str]) -> str:
    """``; did you mean `prompt`?`` when a known name is close to ``name``; else ""."""
    close = did_you_mean(name, sorted(known))
    return f"; did you mean `{close}`?" if close is not None else ""


def _unknown(what: str, key: str, known: Sequence[str]) -> str:
    """``<what> `colour`; did you mean `color`?`` — or the known names when none is close."""
    close = did_you_mean(key, known)
    if close is not None:
        return f"{what} `{key}`; did you mean `{close}`?"
    return f"{what} `{key}`; known: {listing(f'`{k}`' for k in known)}"


# --- the parser -----------------------------------------------------------------


@dataclass
class _Scope:
    """What references may name at one nesting level.

    ``components`` maps every visible component id (siblings and enclosing levels)
    to its output field names (None = not declared, anything goes);
    ``siblings`` are the ids scheduled together at this level; ``iterators`` the
    enclosing iterator ids (whose ``element`` may be referenced); ``indexes``
    the enclosing range index names.
    """

    variables: frozenset[str]
    components: dict[str, frozenset[str] | None]
    siblings: frozenset[str]
    iterators: frozenset[str] = frozenset()
    indexes: frozenset[str] = frozenset()


class _RecipeParser:
    def __init__(self, registry: Registry, limits: RecipeLimits) -> None:
        self.registry = registry
        self.limits = limits
        self.problems: list[Problem] = []
        #: Where the errors are that only stop a run (see :attr:`Problem.runtime`).
        self.runtime_locations: set[str] = set()
        self.variable_types: dict[str, str] = {}
        #: Locations a did-you-mean names: a misspelled required field is not also "missing".
        self.suggested: set[str] = set()

    def problem(self, location: str, error: str) -> None:
        self.problems.append(Problem(location, error))

    def warn(self, location: str, error: str) -> None:
        self.problems.append(Problem(location, error, severity="warning"))

    def unknown_keys(self, spec: Mapping[str, Any], known: Sequence[str], where: str, what: str) -> None:
        """Warn about keys of a recipe map (a variable, a component ...) that the
        engine does not read: most often a misspelling."""
        for key in spec:
            if key not in known:
                self.warn(f"{where}.{key}", _unknown(f"unknown {what} key, ignored:", str(key), known))

    def parse(self, source: str | Mapping[str, Any]) -> tuple[Recipe | None, list[Problem]]:
        if isinstance(source, bytes):
            source = source.decode("utf-8", "replace")
        tree: yaml.Node | None = None
        repaired: set[int] = set()
        try:
            if isinstance(source, str):
                data, tree, syntax, repaired = _load_yaml_collecting(source, self.limits)
                self.problems.extend(syntax)
            else:
                _check_value(source, self.limits)
                data = source
        except _RecipeRefused as exc:
            return None, [Problem(exc.location, str(exc))]
        except UnicodeEncodeError as exc:  # a lone surrogate in the text itself
            line = source[: exc.start].count("\n") + 1 if isinstance(source, str) else 0
            return None, [Problem("recipe", f"the recipe is not valid Unicode: line {line} holds a lone surrogate")]
        if self.problems and tree is None:
            return None, self.problems
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            return None, [
                *self.problems,
                Problem("recipe", "a recipe must be a map with variable, component and output"),
            ]
        raw: dict[str, Any] = _plain(data)
        for key in raw:
            if key not in KNOWN_TOP_KEYS:
                self.warn(key, _unknown("unknown top-level key, ignored:", key, KNOWN_TOP_KEYS))

        version = raw.get("version")
        if version is not None and not isinstance(version, str):
            self.problem("version", "version must be a string such as v1beta")
        sections: dict[str, Mapping[str, Any]] = {}
        for key in ("variable", "component", "output"):
            value = raw.get(key)
            if value is None:
                sections[key] = {}
            elif not isinstance(value, Mapping):
                self.problem(key, f"{key} must be a map of ids to definitions")
                sections[key] = {}
            else:
                sections[key] = value

        variables = self.parse_variables(sections["variable"])
        self.variable_types = {v.id: v.type for v in variables}
        scope = _Scope(
            variables=frozenset(v.id for v in variables),
            components={},
            siblings=frozenset(),
        )
        components, broken, external = self.parse_components(sections["component"], "component", scope)
        for reference, location in external:  # impossible at top level; keep the check honest
            self.problem(location, f"unknown component in reference {reference}")
        top_scope = _Scope(
            variables=scope.variables,
            components={**dict.fromkeys(broken), **{cid: _output_fields(c) for cid, c in components.items()}},
            siblings=frozenset(components),
        )
        outputs = self.parse_outputs(sections["output"], top_scope, components)

        problems = [
            replace(p, runtime=True) if p.location in self.runtime_locations else p
            for p in self.located(tree, repaired)
        ]
        if any(p.is_error for p in problems):
            return None, problems
        ordered = tuple(
            v for _, v in sorted(enumerate(variables), key=lambda p: (p[1].ui_order is None, p[1].ui_order or 0, p[0]))
        )
        graph = Graph.build(list(components.values()))
        recipe = Recipe(
            version=version,
            variables=ordered,
            components=graph.components,
            outputs=MappingProxyType(outputs),
            raw=raw,
            graph=graph,
            warnings=tuple(problems),
        )
        return recipe, problems

    def located(self, tree: yaml.Node | None, repaired: set[int]) -> list[Problem]:
        """The problems with the line each points at (when the recipe was text).

        After a syntax error the rest of the text was read with its bad lines
        repaired: what is found there, or only guessed at from a parent (a missing
        field), may be an effect of the repair and is left out.
        """
        if tree is None:
            return self.problems
        out: list[Problem] = []
        for problem in self.problems:
            if problem.line is not None:
                out.append(problem)
                continue
            line, exact = key_line(tree, problem.location)
            if repaired and (not exact or line in repaired):
                continue
            out.append(replace(problem, line=line))
        return out

    # variables ---------------------------------------------------------------

    def parse_variables(self, section: Mapping[str, Any]) -> list[Variable]:
        variables: list[Variable] = []
        for vid, spec in section.items():
            where = f"variable.{vid}"
            if not _VARIABLE_ID.match(vid):
                self.problem(
                    where,
                    f'invalid variable id "{vid}": use letters, digits, "_" and "-", starting with a letter or "_"',
                )
            if not isinstance(spec, Mapping):
                self.problem(where, "a variable must be a map with at least a type")
                continue
            self.unknown_keys(spec, KNOWN_VARIABLE_KEYS, where, "variable")
            raw_type = next((spec[k] for k in ("type", "format", "instill-format") if k in spec), None)
            type_: str | None = None
            if raw_type is None:
                self.problem(f"{where}.type", "missing type")
            elif not isinstance(raw_type, str) or (type_ := normalize_type(raw_type)) is None:
                self.problem(
                    f"{where}.type",
                    f"unknown type {raw_type!r}; known types: {', '.join(BASE_TYPES)} and array:<type>",
                )
            title = spec.get("title", "")
            description = spec.get("description", "")
            for key, value in (("title", title), ("description", description)):
                if value is not None and not isinstance(value, str):
                    self.problem(f"{where}.{key}", f"{key} must be a string")
            required = spec.get("required", False)
            if not isinstance(required, bool):
                self.problem(f"{where}.required", "required must be true or false")
                required = False
            ui_order = spec.get("instill-ui-order", spec.get("instillUiOrder"))
            if ui_order is not None and (type(ui_order) is not int):
                self.problem(f"{where}.instill-ui-order", "instill-ui-order must be an integer")
                ui_order = None
            has_default = "default" in spec
            default = spec.get("default")
            if has_default and default is not None and type_ is not None:
                base = type_.removeprefix("array:")
                # File defaults are decoded at bind time; checking them here would
                # mean decoding big payloads on every save.
                if base not in FILE_TYPES:
                    try:
                        check_value(type_, default)
                    except ValueError as exc:
                        self.problem(f"{where}.default", f"default {exc}")
            if type_ is not None:
                variables.append(
                    Variable(
                        id=vid,
                        type=type_,
                        title=title or "",
                        description=description or "",
                        required=required,
                        default=default,
                        ui_order=ui_order,
                        has_default=has_default,
                    )
                )
        return variables

    # components --------------------------------------------------------------

    def parse_components(
        self, section: Mapping[str, Any], prefix: str, outer: _Scope
    ) -> tuple[dict[str, Component], frozenset[str], list[tuple[Reference, str]]]:
        """Parse one level of components.

        Returns the components (declaration order); the ids of those that could not be
        parsed (no map, or an unknown type or task: a problem of their own, so
        references to them are not reported again as unknown); and the references that
        name components of enclosing levels (they become the enclosing iterator's
        dependencies).
        """
        # Pass 1: ids, types, tasks and output fields, so that references in
        # pass 2 can be checked whatever the declaration order.
        heads: dict[str, tuple[Mapping[str, Any], ComponentDefinition | None, Task | None]] = {}
        fields: dict[str, frozenset[str] | None] = {}
        for cid, spec in section.items():
            fields[cid] = None  # until its type and task say which outputs it has
            where = f"{prefix}.{cid}"
            if not isinstance(cid, str) or not _COMPONENT_ID.match(cid):
                self.problem(
                    where,
                    f'invalid component id "{cid}": use letters, digits, "_" and "-", starting with a letter or "_" (at most 63)',
                )
            elif cid in RESERVED_IDS:
                self.problem(where, f'"{cid}" is reserved and cannot be a component id')
            elif cid in outer.components or cid in outer.indexes:
                self.problem(where, f'component id "{cid}" is already used by an enclosing component')
            if not isinstance(spec, Mapping):
                self.problem(where, "a component must be a map with type, task and input")
                continue
            type_ = spec.get("type")
            if not isinstance(type_, str) or not type_:
                self.problem(f"{where}.type", "missing component type")
                continue
            self.unknown_keys(
                spec, KNOWN_ITERATOR_KEYS if type_ == ITERATOR_TYPE else KNOWN_COMPONENT_KEYS, where, "component"
            )
            if type_ == ITERATOR_TYPE:
                elements = spec.get("output-elements")
                fields[cid] = frozenset(str(k) for k in elements) if isinstance(elements, Mapping) else frozenset()
                heads[cid] = (spec, None, None)
                continue
            definition = self.registry.get(type_)
            if definition is None:
                # The whole list, closed with "and": it is every type there is, and what
                # may follow in a summary ("(and 1 more problem)") cannot read as one more.
                known = ", ".join(self.registry.types()) + f" and {ITERATOR_TYPE}"
                shown = type_ if len(type_) <= 100 else f"{type_[:100]}…"
                self.runtime_locations.add(f"{where}.type")
                self.problem(
                    f"{where}.type",
                    f'unknown component type "{shown}"; the known types are {known}{_hint(type_, self.registry.types())}',
                )
                continue
            task_name = spec.get("task")
            task = definition.tasks.get(task_name) if isinstance(task_name, str) else None
            if task is None:
                known = ", ".join(definition.tasks)
                if task_name is None:
                    self.problem(f"{where}.task", f'missing task; tasks of "{type_}": {known}')
                else:
                    self.problem(
                        f"{where}.task",
                        f'unknown task "{task_name}" for component type "{type_}"; known tasks: {known}'
                        f"{_hint(str(task_name), definition.tasks)}",
                    )
                continue
            heads[cid] = (spec, definition, task)
            props = task.output_schema.get("properties")
            fields[cid] = frozenset(props) if isinstance(props, Mapping) else None
        broken = frozenset(fields) - frozenset(heads)

        scope = _Scope(
            variables=outer.variables,
            components={**outer.components, **fields},
            siblings=frozenset(heads),
            iterators=outer.iterators,
            indexes=outer.indexes,
        )
        components: list[Component] = []
        external: list[tuple[Reference, str]] = []
        for cid, (spec, definition, task) in heads.items():
            where = f"{prefix}.{cid}"
            if definition is None:
                component, refs = self.parse_iterator(cid, spec, where, scope)
            else:
                assert task is not None
                component, refs = self.parse_task_component(cid, spec, where, definition, task, scope)
            hard: set[str] = set()
            soft: set[str] = set()
            refers_to_itself = False
            for reference, location in refs:
                root = reference.root
                if root == cid:
                    # Inside an iterator, ${loop.element} names the element, not a dependency.
                    refers_to_itself = refers_to_itself or component.iterator is None
                elif root in scope.siblings:
                    (soft if reference.field in SOFT_FIELDS else hard).add(root)
                elif root in outer.components and root not in scope.iterators:
                    external.append((reference, location))
            # A component both hard- and soft-depending on another is a hard dependant.
            soft -= hard
            components.append(_replace_deps(component, frozenset(hard), frozenset(soft)))
            if refers_to_itself:
                self.problem(where, f'component "{cid}" references itself, which would be a cycle')
        self.check_cycles(components, prefix)
        return {c.id: c for c in components}, broken, external

    def parse_task_component(
        self,
        cid: str,
        spec: Mapping[str, Any],
        where: str,
        definition: ComponentDefinition,
        task: Task,
        scope: _Scope,
    ) -> tuple[Component, list[tuple[Reference, str]]]:
        refs: list[tuple[Reference, str]] = []
        raw_input = spec.get("input", {})
        if raw_input is None:
            raw_input = {}
        if not isinstance(raw_input, Mapping):
            self.problem(f"{where}.input", "input must be a map of the task's input fields")
            raw_input = {}
        # An optional input set to null is left out, as proto-JSON reads a null field
        # (Instill's own recipes say `cc: null`); a required one stays, to be reported.
        required = set(task.input_schema.get("required", ()))
        raw_input = {key: value for key, value in raw_input.items() if value is not None or key in required}
        input_node = self.compile(raw_input, f"{where}.input", scope, refs)
        for location, key, known in unknown_keys(task.input_schema, raw_input, f"{where}.input"):
            parent = location[len(f"{where}.input.") : -len(key) - 1]
            what = f"{task.name} has no input" if not parent else f"`{parent}` of {task.name} has no field"
            self.unknown_field(location, key, known, what)
        self.check_schema(task.input_schema, raw_input, input_node, f"{where}.input")

        setup_node: Node | None = None
        raw_setup = spec.get("setup")
        if raw_setup is not None:
            if isinstance(raw_setup, str):
                self.runtime_locations.add(f"{where}.setup")
            setup_node = self.compile(raw_setup, f"{where}.setup", scope, refs)
            if isinstance(raw_setup, Mapping):
                self.check_credentials(definition, raw_setup, f"{where}.setup")
                for location, key, known in unknown_keys(definition.setup_schema, raw_setup, f"{where}.setup"):
                    self.unknown_field(location, key, known, f"the {definition.type} setup has no field")
                self.check_schema(definition.setup_schema, raw_setup, setup_node, f"{where}.setup")
                if definition.check_setup is not None:
                    for name, error in definition.check_setup(raw_setup):
                        self.problem(f"{where}.setup.{name}", error)
            elif not (isinstance(raw_setup, str) and "${" in raw_setup):
                self.problem(f"{where}.setup", "setup must be a map or a reference")

        self.check_platform_secret(definition, refs, where)
        condition = self.parse_condition_field(spec, where, scope, refs)
        description = spec.get("description", "")
        component = Component(
            id=cid,
            type=definition.type,
            task=task.name,
            input=input_node,
            setup=setup_node,
            condition=condition,
            definition=definition,
            task_spec=task,
            hard_deps=frozenset(),
            soft_deps=frozenset(),
            description=description if isinstance(description, str) else "",
            mode=_run_mode(task),
        )
        return component, refs

    def parse_iterator(
        self, cid: str, spec: Mapping[str, Any], where: str, scope: _Scope
    ) -> tuple[Component, list[tuple[Reference, str]]]:
        refs: list[tuple[Reference, str]] = []
        source: Node | None = None
        range_nodes: tuple[Node, Node, Node] | None = None
        has_input = spec.get("input") is not None
        has_range = spec.get("range") is not None
        if has_input and has_range:
            self.problem(where, "an iterator takes either input or range, not both")
        elif not has_input and not has_range:
            self.problem(f"{where}.input", "an iterator needs input (a reference to an array) or range")
        if has_input:
            source = self.compile(spec["input"], f"{where}.input", scope, refs)
            if isinstance(source, Const) and not isinstance(source.value, list):
                self.problem(f"{where}.input", "input must be a reference to an array, e.g. ${split.output.texts}")
        elif has_range:
            range_nodes = self.parse_range(spec["range"], f"{where}.range", scope, refs)

        index = spec.get("index", "i")
        if not isinstance(index, str) or not _INDEX_NAME.match(index):
            self.problem(f"{where}.index", "index must be a name such as i")
            index = "i"
        elif index in RESERVED_IDS or index in scope.components or index == "element":
            self.problem(f"{where}.index", f'index name "{index}" is already used')

        condition = self.parse_condition_field(spec, where, scope, refs)

        inner_scope = _Scope(
            variables=scope.variables,
            components=scope.components,
            siblings=frozenset(),
            iterators=scope.iterators | {cid},
            indexes=scope.indexes | {index},
        )
        nested = spec.get("component")
        inner: dict[str, Component] = {}
        broken: frozenset[str] = frozenset()
        if not isinstance(nested, Mapping) or not nested:
            self.problem(f"{where}.component", "an iterator needs a component map to run per element")
        else:
            inner, broken, external = self.parse_components(nested, f"{where}.component", inner_scope)
            refs.extend(external)

        elements: list[tuple[str, Node]] = []
        raw_elements = spec.get("output-elements", {})
        if not isinstance(raw_elements, Mapping):
            self.problem(f"{where}.output-elements", "output-elements must be a map of names to references")
            raw_elements = {}
        element_scope = _Scope(
            variables=scope.variables,
            components={
                **scope.components,
                **dict.fromkeys(broken),
                **{k: _output_fields(c) for k, c in inner.items()},
            },
            siblings=frozenset(inner),
            iterators=inner_scope.iterators,
            indexes=inner_scope.indexes,
        )
        for name, value in raw_elements.items():
            element_refs: list[tuple[Reference, str]] = []
            node = self.compile(value, f"{where}.output-elements.{name}", element_scope, element_refs)
            refs.extend((r, loc) for r, loc in element_refs if r.root not in inner and r.root not in broken)
            elements.append((str(name), node))

        component = Component(
            id=cid,
            type=ITERATOR_TYPE,
            task="",
            input=source if source is not None else Const(None),
            setup=None,
            condition=condition,
            definition=None,
            task_spec=None,
            hard_deps=frozenset(),
            soft_deps=frozenset(),
            iterator=IteratorSpec(
                source=source,
                range=range_nodes,
                index=index,
                graph=Graph.build(list(inner.values())),
                output_elements=tuple(elements),
            ),
            mode="iterator",
        )
        return component, refs

    def parse_range(
        self, raw: Any, where: str, scope: _Scope, refs: list[tuple[Reference, str]]
    ) -> tuple[Node, Node, Node] | None:
        if isinstance(raw, Mapping):
            unknown = set(raw) - {"start", "stop", "step"}
            if unknown:
                self.problem(where, f"unknown range keys: {', '.join(sorted(map(str, unknown)))}")
            if "stop" not in raw:
                self.problem(f"{where}.stop", "range needs stop")
                return None
            items = [
                (raw.get("start", 0), f"{where}.start"),
                (raw["stop"], f"{where}.stop"),
                (raw.get("step", 1), f"{where}.step"),
            ]
        elif isinstance(raw, list) and 2 <= len(raw) <= 3:
            values = list(raw) + [1] * (3 - len(raw))
            items = [(value, f"{where}[{i}]") for i, value in enumerate(values)]
        else:
            self.problem(where, "range must be [start, stop] or [start, stop, step] or {start, stop, step}")
            return None
        nodes: list[Node] = []
        for value, location in items:
            node = self.compile(value, location, scope, refs)
            if isinstance(node, Const) and type(node.value) is not int:
                self.problem(location, f"range bounds must be integers or references, got {node.value!r}")
            if isinstance(node, Const) and node.value == 0 and location.endswith(("step", "[2]")):
                self.problem(location, "range step cannot be 0")
            nodes.append(node)
        return nodes[0], nodes[1], nodes[2]

    def unknown_field(self, location: str, key: str, known: Sequence[str], what: str) -> None:
        """An input or setup field the task does not have: an error, naming the
        likely intended field (which then is not also reported as missing)."""
        self.problem(location, _unknown(what, key, known))
        close = did_you_mean(key, known)
        if close is not None:
            self.suggested.add(location[: -len(key)] + close)

    def check_schema(self, schema: Mapping[str, Any], raw: Any, node: Node, where: str) -> None:
        """Check a component's input (or setup) against its task's schema, each
        reference standing for a value of the type it will resolve to. One problem
        per place: a field's own problem, not also its parent's (a oneOf that failed
        because of the field)."""
        found = schema_problems(schema, pending_instance(raw, node, self.reference_type))
        places = [_path(where, p.path) for p in found]
        for place, problem in zip(places, found, strict=True):
            for name in problem.missing:
                if f"{place}.{name}" not in self.suggested:
                    self.problem(f"{place}.{name}", f'missing required field "{name}"')
        reported: set[str] = {f"{place}.{name}" for place, p in zip(places, found, strict=True) for name in p.missing}
        for place, problem in sorted(zip(places, found, strict=True), key=lambda pair: -len(pair[1].path)):
            if problem.missing or place in reported:
                continue
            if any(r.startswith((place + ".", place + "[")) for r in reported):
                continue
            reported.add(place)
            self.problem(place, problem.message)

    def reference_type(self, reference: Reference) -> tuple[str | None, str]:
        """The JSON type a reference resolves to, when the recipe says (a variable's
        declared type; a secret is a string), and how to name it in a message."""
        if reference.root == "secret":
            return "string", "a secret"
        if reference.root == "variable" and len(reference.path) == 1 and reference.field in self.variable_types:
            type_ = self.variable_types[str(reference.field)]
            json_type = "array" if type_.startswith("array:") else type_
            if json_type in ("string", "number", "integer", "boolean", "array"):
                return json_type, f"variable `{reference.field}` has type {type_}"
        return None, ""

    def parse_condition_field(
        self, spec: Mapping[str, Any], where: str, scope: _Scope, refs: list[tuple[Reference, str]]
    ) -> Condition | None:
        raw = spec.get("condition")
        if raw is None or raw == "":
            return None
        if not isinstance(raw, (str, bool)):
            self.problem(f"{where}.condition", "condition must be an expression string")
            return None
        try:
            condition = parse_condition(raw)
        except ConditionSyntaxError as exc:
            self.problem(f"{where}.condition", f"invalid condition: {exc}")
            return None
        for reference in condition.references():
            self.check_reference(reference, f"{where}.condition", scope)
            refs.append((reference, f"{where}.condition"))
        return condition

    def check_credentials(self, definition: ComponentDefinition, setup: Mapping[str, Any], where: str) -> None:
        for dotted in sorted(definition.credential_fields):
            value: Any = setup
            for part in dotted.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
            if value is None or value == "":
                continue
            if not isinstance(value, str) or not _is_secret_reference(value):
                self.problem(f"{where}.{dotted}", _PLAINTEXT_CREDENTIAL)

    def check_platform_secret(
        self, definition: ComponentDefinition, refs: list[tuple[Reference, str]], where: str
    ) -> None:
        """``${secret.INSTILL_SECRET}`` (the server's key for a vendor) belongs in the
        setup of a component that takes a platform key, and nowhere else."""
        for reference, location in refs:
            if reference.root != "secret" or reference.path[:1] != (PLATFORM_SECRET,):
                continue
            if not takes_platform_key(definition):
                self.problem(
                    location,
                    f"{reference} is the server's key for an AI component's setup; "
                    f'"{definition.type}" takes no such key',
                )
            elif not location.startswith(f"{where}.setup"):
                self.problem(
                    location, f"{reference} is the server's {definition.type} key: it can only be used in the setup"
                )

    def check_cycles(self, components: list[Component], prefix: str) -> None:
        deps = {c.id: c.hard_deps | c.soft_deps for c in components}
        cycle = _find_cycle(deps)
        if cycle:
            self.problem(
                f"{prefix}.{cycle[0]}",
                "the components form a cycle: " + " → ".join([*cycle, cycle[0]]),
            )

    # outputs ------------------------------------------------------------------

    def parse_outputs(
        self, section: Mapping[str, Any], scope: _Scope, components: Mapping[str, Component]
    ) -> dict[str, Output]:
        outputs: dict[str, Output] = {}
        for oid, spec in section.items():
            where = f"output.{oid}"
            if not _VARIABLE_ID.match(oid):
                self.problem(
                    where, f'invalid output id "{oid}": use letters, digits, "_" and "-", starting with a letter or "_"'
                )
            if not isinstance(spec, Mapping):
                self.problem(where, "an output must be a map with a value")
                continue
            self.unknown_keys(spec, KNOWN_OUTPUT_KEYS, where, "output")
            if "value" not in spec:
                self.problem(f"{where}.value", "missing value")
                continue
            node = self.compile(spec["value"], f"{where}.value", scope, [])
            self.check_output_secrets(spec["value"], node, f"{where}.value", components)
            ui_order = spec.get("instill-ui-order")
            title = spec.get("title") or ""
            description = spec.get("description") or ""
            outputs[oid] = Output(
                id=oid,
                title=title if isinstance(title, str) else str(title),
                description=description if isinstance(description, str) else str(description),
                value=node,
                ui_order=ui_order if type(ui_order) is int else None,
            )
        return outputs

    def check_output_secrets(self, value: Any, node: Node, where: str, components: Mapping[str, Component]) -> None:
        """An output must not return a secret: not ``${secret.x}``, nor a component's
        input or setup whose value is (or embeds) one. Run values are masked anyway;
        this says so at save time, where the recipe can still be fixed."""
        for location, reference in _located_references(value, node, where):
            origin = _secret_origin(reference, components, frozenset())
            if origin is None:
                continue
            via = "" if origin is reference else f" (it carries {origin})"
            self.problem(location, f"{reference} would return a secret value{via}: outputs cannot expose secrets")

    # references ----------------------------------------------------------------

    def compile(self, value: Any, where: str, scope: _Scope, refs: list[tuple[Reference, str]]) -> Node:
        syntax: list[tuple[str, str]] = []
        node = compile_value_collecting(value, where, syntax)
        for location, message in syntax:
            self.problem(location, message)
        for location, reference in _located_references(value, node, where):
            self.check_reference(reference, location, scope)
            refs.append((reference, location))
        return node

    def check_reference(self, reference: Reference, where: str, scope: _Scope) -> None:
        root = reference.root
        first = reference.field
        path = reference.path
        for segment in path:
            if isinstance(segment, IndexVariable) and segment.name not in scope.indexes:
                self.problem(where, f'{reference}: "[{segment.name}]" is not an iterator index in scope')
        if root == "variable":
            if first is None:
                self.problem(where, f"{reference} must name a variable, e.g. ${{variable.prompt}}")
            elif first not in scope.variables:
                hint = _hint(str(first), scope.variables)
                self.problem(where, f'{reference} references an unknown variable "{first}"{hint}')
        elif root == "secret":
            if first is None:
                self.problem(where, f"{reference} must name a secret, e.g. ${{secret.my-key}}")
        elif root in scope.iterators:
            if first != "element":
                self.problem(
                    where, f"inside iterator {root} only ${{{root}.element}} can be referenced, not {reference}"
                )
        elif root in scope.indexes:
            pass
        elif root in scope.components:
            if first not in COMPONENT_FIELDS:
                self.problem(
                    where,
                    f"{reference}: a component reference continues with .input, .output, .setup, .status or .error",
                )
            elif first == "status":
                if len(path) < 2 or path[1] not in STATUS_FIELDS:
                    self.problem(where, f"{reference}: status is one of {', '.join(sorted(STATUS_FIELDS))}")
            elif first == "error":
                if len(path) < 2 or path[1] != "message":
                    self.problem(where, f"{reference}: use .error.message")
            elif first == "output":
                fields = scope.components[root]
                if fields is not None and len(path) >= 2 and type(path[1]) is str and path[1] not in fields:
                    known = ", ".join(sorted(fields)) or "none"
                    hint = _hint(path[1], fields)
                    self.problem(
                        where, f'{reference}: component "{root}" has no output "{path[1]}" (its outputs: {known}){hint}'
                    )
        elif root == "connection":
            if first is None or len(path) != 1:
                self.problem(where, f"{reference} must name a connection, e.g. setup: ${{connection.my-openai}}")
            elif not _SETUP_LOCATION.search(where):
                self.problem(where, f"{reference}: a connection can only be a component's setup")
        else:
            hint = _hint(root, [*scope.components, "variable", "secret", "connection"])
            self.problem(where, f'{reference} references an unknown component or root "{root}"{hint}')


# Where a connection may be referenced: a component's whole setup.
_SETUP_LOCATION = re.compile(r"\.setup$")


def _located_references(value: Any, node: Node, where: str) -> Iterator[tuple[str, Reference]]:
    """(location, reference) pairs, locating each reference at its field."""
    if isinstance(value, str):
        for reference in node.references():
            yield where, reference
    elif isinstance(value, Mapping):
        items = getattr(node, "items", None)
        if items is None:
            return
        children = dict(items)
        for key, item in value.items():
            child = children.get(str(key))
            if child is not None:
                yield from _located_references(item, child, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        items = getattr(node, "items", None)
        if items is None:
            return
        for i, (item, child) in enumerate(zip(value, items, strict=False)):
            yield from _located_references(item, child, f"{where}[{i}]")


def _secret_origin(
    reference: Reference, components: Mapping[str, Component], seen: frozenset[tuple[str, str]]
) -> Reference | None:
    """The ``${secret.*}`` reference whose value ``reference`` renders, directly or
    through components' inputs, setups and iterator output elements; else None."""
    if reference.root in ("secret", "connection"):
        return reference
    component = components.get(reference.root)
    field = reference.field
    if component is None or (reference.root, str(field)) in seen:
        return None
    seen = seen | {(reference.root, str(field))}
    if field in ("input", "setup"):
        if component.iterator is not None:
            source: Node | None = component.input  # its trace input is the whole array
        else:
            source = _sub_node(component.setup if field == "setup" else component.input, reference.path[1:])
        nested = components
    elif field == "output" and component.iterator is not None and len(reference.path) >= 2:
        source = dict(component.iterator.output_elements).get(str(reference.path[1]))
        nested = {**components, **component.iterator.graph.components}
    else:
        return None
    if source is None:
        return None
    for inner in source.references():
        if (origin := _secret_origin(inner, nested, seen)) is not None:
            return origin
    return None


def _sub_node(node: Node | None, path: Sequence[Any]) -> Node | None:
    """The part of a compiled value at ``path``: where the path enters a reference or a
    template, that whole node (whatever it renders may be what is read)."""
    for segment in path:
        if isinstance(node, DictNode) and type(segment) is str:
            node = dict(node.items).get(segment)
        elif isinstance(node, ListNode) and type(segment) is int:
            node = node.items[segment] if segment < len(node.items) else None
        else:
            break
    return node


def _is_secret_reference(value: str) -> bool:
    syntax: list[tuple[str, str]] = []
    node = compile_value_collecting(value, "", syntax)
    return not syntax and isinstance(node, Ref) and node.reference.root == "secret" and node.reference.field is not None


def _run_mode(task: Task) -> str:
    run = task.run
    if inspect.iscoroutinefunction(run) or inspect.iscoroutinefunction(getattr(run, "__call__", None)):  # noqa: B004 - async __call__
        return "async"
    return "process" if task.blocking else "inline"


def _output_fields(component: Component) -> frozenset[str] | None:
    if component.iterator is not None:
        return frozenset(name for name, _ in component.iterator.output_elements)
    assert component.task_spec is not None
    props = component.task_spec.output_schema.get("properties")
    return frozenset(props) if isinstance(props, Mapping) else None


def _replace_deps(component: Component, hard: frozenset[str], soft: frozenset[str]) -> Component:
    from dataclasses import replace

    return replace(component, hard_deps=hard, soft_deps=soft)


def _find_cycle(deps: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle (as an id list) in the dependency graph, or None."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(deps, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        color[node] = grey
        stack.append(node)
        for dep in sorted(deps[node]):
            if dep not in color:
                continue
            if color[dep] == grey:
                return stack[stack.index(dep) :]
            if color[dep] == white and (found := visit(dep)):
                return found
        stack.pop()
        color[node] = black
        return None

    for node in deps:
        if color[node] == white and (found := visit(node)):
            # Report in dependency-flow order (a → b means b uses a).
            return list(reversed(found))
    return None
