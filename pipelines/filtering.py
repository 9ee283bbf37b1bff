"""List filters in Instill's language: AIP-160 expressions, parsed by a grammar.

Instill's list endpoints take a ``filter`` written as an AIP-160 expression
(https://google.aip.dev/160), e.g. ``createTime>timestamp("2000-06-19T23:31:08.657Z")``,
``q="chat" AND visibility=VISIBILITY_PUBLIC``, ``tasks:"TASK_JQ"``. This module reads
such a filter once, against the fields a list declares (:class:`Field`), and answers it
two ways from the same tree: a Django ``Q`` for lists kept in the database
(:meth:`Filter.q`) and a predicate for lists kept in memory, such as the component
catalog (:meth:`Filter.matches`). Both give the same answer for the same filter.

The grammar is AIP-160's (precedence, loosest first): ``AND``; a sequence of terms
side by side (an implicit AND); ``OR``; ``NOT`` or ``-``; a comparison
``field OP value`` with ``= != < <= > >= :``, or an expression in parentheses. Values
are "double" or 'single' quoted strings, numbers, bare words (enum names, ``true``,
``false``) and the functions ``timestamp("RFC 3339")`` and ``time.now()``. A bare value
with no field is AIP-160's global search: the list's fuzzy field (``q``) when it has one.

It is parsed with Lark (LALR, with Lark's contextual lexer) rather than by hand: the
grammar below is the whole syntax, readable next to AIP-160's EBNF, and Lark reports
where input stops fitting it, which the 400 answer names (column, what was expected).
The module imports nothing of the engine and no settings; ``Q`` is a plain value object.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from pipelines.errors import InvalidArgument, quoted

if TYPE_CHECKING:
    from lark import Lark
    from lark.exceptions import UnexpectedInput

# Column numbers in messages count from 1, as Lark's do.
_GRAMMAR = r"""
?start: expression

?expression: sequence
           | expression _AND sequence      -> all_of
?sequence: factor
         | sequence factor                 -> all_of
?factor: term
       | factor _OR term                   -> any_of
?term: simple
     | _NOT simple                         -> negated
     | _MINUS simple                       -> negated
?simple: restriction
       | "(" expression ")"

restriction: comparable COMPARATOR argument  -> comparison
           | comparable                      -> bare
           | STRING                          -> bare_string

?comparable: member | function
member: dotted
function: dotted "(" [argument ("," argument)*] ")"
dotted: NAME ("." NAME)*
?argument: comparable
         | STRING                          -> string
         | NUMBER                          -> number
         | _MINUS NUMBER                   -> negative

COMPARATOR: "<=" | ">=" | "!=" | "<" | ">" | "=" | ":"
_AND: "AND"
_OR: "OR"
_NOT: "NOT"
_MINUS: "-"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /[0-9]+(\.[0-9]+)?/
STRING: /"(?:[^"\\]|\\.)*"/ | /'(?:[^'\\]|\\.)*'/

%import common.WS
%ignore WS
"""


@functools.cache
def _grammar() -> tuple[Lark, Callable[[], Any]]:
    """The grammar's LALR parser and the transformer of its trees (:class:`_Rules`),
    made on the first filter read: importing Lark and building the parser (~55 ms) is
    not paid by serve's start nor by processes that never read a filter.

    The basic lexer, not the contextual one: AND, OR and NOT are keywords wherever they
    stand (AIP-160), never a field called AND at the start of a filter."""
    from lark import Lark, Transformer_NonRecursive, v_args

    parser = Lark(_GRAMMAR, parser="lalr", lexer="basic", propagate_positions=True, maybe_placeholders=False)
    rules = {name: value for name, value in vars(_Rules).items() if not name.startswith("__")}
    return parser, v_args(meta=True)(type("_Tree", (Transformer_NonRecursive,), rules))


# What the parser's terminals are called in a message, in the order a message lists them.
_TERMINAL_WORDS = {
    "NAME": "a field name",
    "STRING": 'a "quoted" value',
    "NUMBER": "a number",
    "COMPARATOR": "a comparison (= != < <= > >= :)",
    "_AND": "AND",
    "_OR": "OR",
    "_NOT": "NOT",
    "_MINUS": '"-"',
    "LPAR": '"("',
    "RPAR": '")"',
    "COMMA": '","',
    "DOT": '"."',
    "$END": "the end",
}


# --- the tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """A value in a filter: ``kind`` is string, word (a bare word), number or timestamp."""

    kind: str
    value: Any
    column: int
    text: str


@dataclass(frozen=True)
class Comparison:
    name: str
    operator: str
    value: Literal
    column: int


@dataclass(frozen=True)
class Search:
    """A bare value: AIP-160's global search."""

    value: Literal


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


type Node = Comparison | Search | AllOf | AnyOf | Not


class _Problem(Exception):
    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message, self.column = message, column


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _timestamp(text: str, column: int) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise _Problem(
            f'timestamp({quoted(text)}) is not an RFC 3339 time such as "2000-06-19T23:31:08.657Z"', column
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _flat(kind: type[AllOf] | type[AnyOf], children: list) -> tuple[Node, ...]:
    """``a AND b AND c`` as one node of three parts, not nested pairs: the grammar is
    left-recursive, and nothing downstream should recurse once per term."""
    return tuple(part for child in children for part in (child.parts if isinstance(child, kind) else (child,)))


class _Rules:
    """Lark's parse tree into the frozen nodes above (without recursion: a filter's
    length does not decide the depth of Python's stack): the methods of a Lark
    ``Transformer_NonRecursive`` with ``v_args(meta=True)``, which :func:`_grammar`
    makes of them."""

    def all_of(self, meta, children):
        return AllOf(_flat(AllOf, children))

    def any_of(self, meta, children):
        return AnyOf(_flat(AnyOf, children))

    def negated(self, meta, children):
        return Not(children[0])

    def string(self, meta, children):
        token = children[0]
        return Literal("string", _unquote(str(token)), token.column, str(token))

    def number(self, meta, children):
        token = children[0]
        text = str(token)
        return Literal("number", float(text) if "." in text else int(text), token.column, text)

    def negative(self, meta, children):
        token = children[0]
        text = str(token)
        value = float(text) if "." in text else int(text)
        return Literal("number", -value, token.column - 1, f"-{text}")

    def dotted(self, meta, children):
        return ".".join(str(c) for c in children)

    def member(self, meta, children):
        return children[0], meta.column

    def function(self, meta, children):
        name, *arguments = children
        arguments = [a for a in arguments if a is not None]
        if name == "timestamp" and len(arguments) == 1 and getattr(arguments[0], "kind", "") == "string":
            value = arguments[0]
            return Literal("timestamp", _timestamp(value.value, value.column), meta.column, f"timestamp({value.text})")
        if name == "time.now" and not arguments:
            return Literal("timestamp", datetime.now(UTC), meta.column, "time.now()")
        if name in ("timestamp", "time.now"):
            usage = 'timestamp("RFC 3339 time")' if name == "timestamp" else "time.now()"
            raise _Problem(f"{name}() takes its argument as {usage}", meta.column)
        raise _Problem(f'unknown function "{name}"; the functions are timestamp("…") and time.now()', meta.column)

    def comparison(self, meta, children):
        left, comparator, right = children
        if not isinstance(left, tuple):
            raise _Problem(f"a comparison starts with a field name, not {left.text}", meta.column)
        if isinstance(right, tuple):
            name, column = right
            if "." in name:
                raise _Problem(f'"{name}" is not a value; quote it: "{name}"', column)
            right = Literal("word", name, column, name)
        return Comparison(left[0], str(comparator), right, meta.column)

    def bare_string(self, meta, children):
        return Search(self.string(meta, children))

    def bare(self, meta, children):
        value = children[0]
        if isinstance(value, tuple):
            value = Literal("word", value[0], value[1], value[0])
        return Search(value)


# A filter is a question a person writes, not a program: these bounds keep its tree and
# the SQL made of it (SQLite refuses expressions nested over 1,000 deep) small.
MAX_COMPARISONS = 100
MAX_DEPTH = 20


def _check_size(text: str) -> None:
    depth = deepest = comparisons = 0
    for token in _grammar()[0].lex(text):
        if token.type == "LPAR":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                raise _invalid(f"parentheses nest more than {MAX_DEPTH} deep", token.column or 1)
        elif token.type == "RPAR":
            depth -= 1
        elif token.type == "COMPARATOR":
            comparisons += 1
            if comparisons > MAX_COMPARISONS:
                raise _invalid(f"a filter holds at most {MAX_COMPARISONS} comparisons", token.column or 1)


def parse(text: str) -> Node | None:
    """The tree of ``text``, None for an empty filter; :class:`FilterInvalid` (400)
    naming the column and what was expected where ``text`` is not AIP-160."""
    if not text.strip():
        return None
    from lark.exceptions import UnexpectedInput, VisitError

    parser, tree = _grammar()
    try:
        _check_size(text)
        return tree().transform(parser.parse(text))
    except VisitError as exc:
        if isinstance(exc.orig_exc, _Problem):
            raise _invalid(exc.orig_exc.message, exc.orig_exc.column) from None
        raise
    except UnexpectedInput as exc:
        raise _invalid(_syntax_message(exc, text), _column(exc, text)) from None


def _at_end(exc: UnexpectedInput) -> bool:
    from lark.exceptions import UnexpectedEOF, UnexpectedToken

    return isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END")


def _column(exc: UnexpectedInput, text: str) -> int:
    if _at_end(exc):
        return len(text.rstrip()) + 1
    return exc.column if isinstance(exc.column, int) and exc.column > 0 else 1


def _syntax_message(exc: UnexpectedInput, text: str) -> str:
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    if isinstance(exc, UnexpectedCharacters):
        character = text[exc.pos_in_stream or 0]
        if character in "\"'":
            return f"the quote {character} is never closed"
        return f"{quoted(character)} is not allowed here"
    names = set(getattr(exc, "expected", ()) or ())
    expected = [word for name, word in _TERMINAL_WORDS.items() if name in names]
    wanted = f"; expected {', '.join(expected)}" if expected else ""
    if _at_end(exc):
        return f"it ends too early{wanted}"
    token = exc.token if isinstance(exc, UnexpectedToken) else ""
    if getattr(token, "type", "") == "RPAR":
        return '")" closes no "("'
    return f"{quoted(token)} is not expected here{wanted}"


class FilterInvalid(InvalidArgument):
    """A ``filter`` that is not AIP-160 or asks what the list cannot answer: 400, with
    the problem also as a ``google.rpc.BadRequest`` field violation of ``filter``."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="filter")
        self.details = [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "filter", "description": message}],
            }
        ]


def _invalid(message: str, column: int) -> FilterInvalid:
    return FilterInvalid(f"filter cannot be parsed at column {column}: {message}")


# --- what a list can be filtered by --------------------------------------------------------------

_INT64_MAX = 2**63 - 1
_ORDERING = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_PYTHON_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_OPERATORS = {
    "fuzzy": ("=", ":"),
    "string": ("=", "!=", ":"),
    "enum": ("=", "!="),
    "bool": ("=", "!="),
    "timestamp": ("=", "!=", "<", "<=", ">", ">="),
    "int": ("=", "!=", "<", "<=", ">", ">="),
    "repeated": (":",),
}


@dataclass(frozen=True)
class Field:
    """A field a list can be filtered by.

    ``kind`` decides the operators and values it takes: ``fuzzy`` (``=``/``:`` keep items
    where any of ``lookups`` contains the text, case-insensitively), ``string`` (``=``
    exact, with ``*`` at either end as a wildcard; ``:`` contains), ``enum`` (one of
    ``choices``; ``db_values`` maps a name to what is stored), ``bool``, ``timestamp``,
    ``int`` and ``repeated`` (``:`` holds the value). ``lookups`` are ORM paths for
    :meth:`Filter.q`; ``get`` reads the value off an item for :meth:`Filter.matches`.
    ``q`` replaces the ORM lookup for a field stored in no column of its own.
    """

    kind: str
    lookups: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    db_values: Mapping[str, Any] = field(default_factory=dict)
    get: Callable[[Any], Any] | None = None
    q: Callable[[str, Any], Q] | None = None
    annotation: Any = None  # an ORM expression the queryset is annotated with, as lookups[0]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(frozen=True)
class Filter:
    """A parsed, checked filter (:func:`compile_filter`); the empty filter keeps all."""

    root: Node | None
    fields: Mapping[str, Field]

    def q(self) -> Q:
        """The filter as a Django ``Q`` over the fields' ``lookups``."""
        return Q() if self.root is None else self._q(self.root)

    def _q(self, node: Node) -> Q:
        if isinstance(node, AllOf):
            return _combine([self._q(p) for p in node.parts], Q.AND)
        if isinstance(node, AnyOf):
            return _combine([self._q(p) for p in node.parts], Q.OR)
        if isinstance(node, Not):
            return ~self._q(node.part)
        assert isinstance(node, Comparison)
        spec = self.fields[node.name]
        value = node.value.value
        if spec.q is not None:
            return spec.q(node.operator, value)
        if spec.kind == "fuzzy":
            return _combine([Q(**{f"{path}__icontains": value}) for path in spec.lookups], Q.OR)
        if spec.kind == "enum":
            value = spec.db_values.get(value, value)
        (path,) = spec.lookups
        if node.operator == ":":
            return Q(**{f"{path}__icontains" if spec.kind == "string" else path: value})
        if node.operator in _ORDERING:
            return Q(**{f"{path}__{_ORDERING[node.operator]}": value})
        found = Q(**{f"{path}{_wildcard_lookup(value) if spec.kind == 'string' else ''}": _unstarred(value)})
        return ~found if node.operator == "!=" else found

    def apply(self, queryset):
        """``queryset`` narrowed to the filter (annotated first with what it compares)."""
        if self.root is None:
            return queryset
        used = {n.name for n in _comparisons(self.root)}
        annotations = {
            spec.lookups[0]: spec.annotation
            for name, spec in self.fields.items()
            if name in used and spec.annotation is not None
        }
        if annotations:
            queryset = queryset.annotate(**annotations)
        return queryset.filter(self.q())

    def matches(self, item: Any) -> bool:
        """Whether ``item`` passes, reading values with the fields' ``get``."""
        return self.root is None or self._matches(self.root, item)

    def _matches(self, node: Node, item: Any) -> bool:
        if isinstance(node, AllOf):
            return all(self._matches(p, item) for p in node.parts)
        if isinstance(node, AnyOf):
            return any(self._matches(p, item) for p in node.parts)
        if isinstance(node, Not):
            return not self._matches(node.part, item)
        assert isinstance(node, Comparison)
        spec = self.fields[node.name]
        assert spec.get is not None, node.name
        actual, wanted = spec.get(item), node.value.value
        if spec.kind == "fuzzy":
            texts = actual if isinstance(actual, (list, tuple)) else [actual]
            return any(str(wanted).casefold() in str(t).casefold() for t in texts)
        if spec.kind == "repeated":
            return wanted in actual
        if node.operator == ":":
            return str(wanted).casefold() in str(actual).casefold()
        if node.operator in _PYTHON_ORDERING:
            return actual is not None and _PYTHON_ORDERING[node.operator](actual, wanted)
        equal = _wildcard_match(str(actual), wanted) if spec.kind == "string" else actual == wanted
        return not equal if node.operator == "!=" else equal


def _comparisons(node: Node) -> Iterable[Comparison]:
    if isinstance(node, (AllOf, AnyOf)):
        for part in node.parts:
            yield from _comparisons(part)
    elif isinstance(node, Not):
        yield from _comparisons(node.part)
    elif isinstance(node, Comparison):
        yield node


def _combine(parts: list[Q], connector: str) -> Q:
    """One flat ``Q`` of ``parts`` (not nested pairs, which SQL would nest as deep)."""
    return parts[0] if len(parts) == 1 else Q(*parts, _connector=connector)


def _wildcard_lookup(value: str) -> str:
    starts, ends = value.startswith("*"), value.endswith("*") and len(value) > 1
    return {(True, True): "__contains", (True, False): "__endswith", (False, True): "__startswith"}.get(
        (starts, ends), ""
    )


def _unstarred(value: Any) -> Any:
    return value.strip("*") if isinstance(value, str) and _wildcard_lookup(value) else value


def _wildcard_match(actual: str, wanted: str) -> bool:
    lookup = _wildcard_lookup(wanted)
    core = _unstarred(wanted)
    if lookup == "__contains":
        return core in actual
    if lookup == "__endswith":
        return actual.endswith(core)
    if lookup == "__startswith":
        return actual.startswith(core)
    return actual == wanted


def compile_filter(text: str, fields: Mapping[str, Field], *, search: str | None = None) -> Filter:
    """``text`` parsed and checked against ``fields`` (keyed by their lowerCamelCase
    names; snake_case is accepted as proto-JSON does). A bare value searches the
    ``search`` field. Every problem is :class:`FilterInvalid` naming it and its column."""
    root = parse(text)
    if root is None:
        return Filter(None, fields)
    return Filter(_checked(root, fields, search), fields)


def _checked(node: Node, fields: Mapping[str, Field], search: str | None) -> Node:
    if isinstance(node, (AllOf, AnyOf)):
        return type(node)(tuple(_checked(p, fields, search) for p in node.parts))
    if isinstance(node, Not):
        return Not(_checked(node.part, fields, search))
    if isinstance(node, Search):
        if search is None:
            raise _invalid(
                f"{quoted(node.value.text)} is not a comparison; write field=value (fields: {_names(fields)})",
                node.value.column,
            )
        return _checked(Comparison(search, "=", node.value, node.value.column), fields, search)
    name = node.name if node.name in fields else _camel(node.name)
    spec = fields.get(name)
    if spec is None:
        raise FilterInvalid(
            f"filter cannot use {node.name!r} (column {node.column}); the fields it can use: {_names(fields)}"
        )
    allowed = _OPERATORS[spec.kind]
    if node.operator not in allowed:
        raise FilterInvalid(f"filter: {name} (column {node.column}) takes {' or '.join(allowed)}, not {node.operator}")
    return Comparison(name, node.operator, _value(name, spec, node.value), node.column)


def _names(fields: Iterable[str]) -> str:
    return ", ".join(fields)


def _value(name: str, spec: Field, value: Literal) -> Literal:
    """``value`` as the field's type, or a 400 saying what the field takes."""

    def refuse(takes: str) -> FilterInvalid:
        return FilterInvalid(f"filter: {name} (column {value.column}) takes {takes}, not {quoted(value.text)}")

    kind = spec.kind
    if kind == "timestamp":
        if value.kind == "timestamp":
            return value
        if value.kind == "string":
            try:
                return Literal("timestamp", _timestamp(value.value, value.column), value.column, value.text)
            except _Problem:
                pass
        raise refuse('a time: timestamp("2000-06-19T23:31:08.657Z") or time.now()')
    if kind == "int":
        if value.kind == "number" and isinstance(value.value, int) and abs(value.value) <= _INT64_MAX:
            return value
        raise refuse("a whole number")
    if kind == "bool":
        if value.kind in ("word", "string") and str(value.value).lower() in ("true", "false"):
            return Literal("bool", str(value.value).lower() == "true", value.column, value.text)
        raise refuse("true or false")
    if kind == "enum":
        if value.kind in ("word", "string") and value.value in spec.choices:
            return value
        raise refuse(f"one of {', '.join(spec.choices)}")
    if value.kind == "timestamp":
        raise refuse("text")
    return Literal("string", str(value.value) if value.kind != "number" else value.text, value.column, value.text)
