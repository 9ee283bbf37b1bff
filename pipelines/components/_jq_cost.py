"""Which jq filters provably end soon: a conservative static cost analysis.

libjq holds the GIL and cannot be interrupted, so a jq filter that never ends
(``def f: f; f``) or whose work explodes (``[.,.] | [.,.] | ...``) would freeze
the whole server if it ran on the event loop; that is why ``TASK_JQ`` runs in a
killable task process. Most filters are tiny and cannot run away, though
(``"Hello \\(.)"``), and for them the hop to a task process costs more than the
filter. :func:`analyse` parses a filter with its own tokenizer and recursive-descent
parser (jq's grammar and precedences, a subset of its constructs) and answers a
:class:`Cost` — bounds on the work done and the output produced, **linear in the
size of the input** — or None when it cannot prove one. None means "run it in a task
process, as before": the analysis never has to be complete, only sound.

The cost model. Every bound is a linear form over *atoms*: ``1`` (a constant),
``.`` (the size of the filter's input, in bytes of its JSON text) and one atom per
variable (the size of the value bound to it). For each expression the analysis
computes four forms: how many outputs it yields (``count``), the total size of those
outputs (``size``), the work it does (``time``, in steps or bytes touched) and the
size of an error value it may raise (``error``, for ``catch``). Combinators:

- ``f | g`` and ``f as $x | g`` run ``g`` once per output of ``f``; summing ``g``'s
  bound over those outputs gives ``g[atom]·size(f) + rest(g)·count(f)``. The product
  ``rest(g)·count(f)`` of two forms stays linear only when one of them is constant;
  otherwise the filter may be quadratic (``.[] as $x | .[]``, ``.[] | $all``) and it
  is refused. This is also what bounds **fan-out**: ``(.,.) | (.,.) | ...`` and
  ``[.,.] | [.,.] | ...`` double a coefficient per stage and are refused once a
  coefficient passes :data:`MAX_COEFFICIENT` (512).
- operators, object/array construction, string interpolation and builtin arguments
  evaluate their operands as a cartesian product (jq's semantics), so their counts
  multiply; again only a constant may multiply a non-constant.
- operators whose work is the product of their operands' sizes (``-`` on arrays,
  ``contains``, ``indices``, ``split``, ``/``, indexing with an array) are accepted
  only when one operand has a constant size (a literal).

Refused outright (anything else is refused too, including every builtin not listed):

- ``def``, ``label``, ``..``, ``recurse``, ``walk``, ``env``/``$ENV``/``$__loc__``,
  ``input``/``inputs``, ``debug``/``stderr``, ``halt``/``halt_error``, imports:
  recursion, output that is not a function of the input, side effects;
- ``reduce`` and ``foreach``: the update runs once per element on an accumulator
  that may grow with every element (``. + .`` doubles it), and even when it grows
  linearly, work proportional to the accumulator is quadratic in all; jq appends in
  place when it can, which a static bound cannot see;
- ``range``, ``repeat``, ``while``, ``until``, ``combinations``: generators whose
  length is a number, not the input's size (``range(1e9)``); ``limit``/``first``/
  ``nth`` are accepted around a generator the analysis accepts (they only shorten it);
- regular expressions (``test``, ``match``, ``capture``, ``scan``, ``split/2``,
  ``splits``, ``sub``, ``gsub``, ``ascii``): Oniguruma backtracks (``(a*)*b`` is
  exponential), and jq's global matching computes each match's offset from the
  string's start (quadratic);
- ``*`` unless one side is a number literal of at most 64 (``"x" * 1e9`` is a
  gigabyte) or an object construction (a merge);
- ``paths``, ``leaf_paths``, ``path``, ``getpath`` of generators, ``tostream``,
  ``transpose``, ``flatten``, ``setpath``/``delpaths``: output or work of input size
  times depth (or times the longest row), or not worth the risk; ``del(f)`` only with
  a plain path; assignments (``=``, ``|=``, ``+=`` ...) only to a plain path
  (``.a.b``, ``."k"``, ``.[3]``: no generator, array indexes up to :data:`MAX_INDEX`,
  since ``null | .[1e9] = 1`` makes a billion nulls);
- dates (``strftime``, ``mktime``, ``now`` ...): not a function of the input alone, and
  not needed by the filters this is for.

Accepted builtins and why they are linear: ``length``, ``utf8bytelength``, ``type``,
``not``, ``keys``, ``has``, ``in``, ``to_entries``/``from_entries``/``with_entries``,
``map``, ``select``, ``add``, ``any``/``all``, ``first``/``last``/``nth``/``limit``/
``skip``/``isempty`` (a bounded generator stays bounded), ``sort``/``sort_by``/
``group_by``/``unique``/``unique_by``/``min``/``max``/``min_by``/``max_by``/``reverse``
(n log n, counted as :data:`LOG_FACTOR` per byte; ``reverse`` is jq-defined, steps per
element), ``tostring``/``tojson``/
``fromjson``/``tonumber``/``toboolean`` (one pass; numbers are doubles or their
literal text), ``ascii_downcase``/``ascii_upcase``/``trim``/``ltrim``/``rtrim``/
``explode``/``implode`` (jq defines the ``ascii_`` ones as ``explode | map(...) |
implode``: counted as 128 steps per character), ``join``/``split/1``/``ltrimstr``/``rtrimstr``/``trimstr``/
``startswith``/``endswith``/``index``/``rindex``/``indices``/``contains``/``inside``
(a pass over the input per byte of their argument, so only with constant-size
arguments; ``join`` is a jq-defined ``reduce``: steps per element), ``getpath`` (one walk), ``empty``, ``error``, the type selectors
(``strings``, ``arrays`` ...), numeric functions (``floor``, ``sqrt``, ``pow``,
``log`` ...: a double in, a double out; ``pow(10; 1e9)`` is ``inf``, not a long
number) and the ``@`` formats (``@base64``, ``@csv``, ``@html``, ``@uri``: at most
six bytes out per byte in).

A filter passes when its bounds have coefficients of at most :data:`MAX_COEFFICIENT`
on the input (times :data:`LOG_FACTOR` for work) and at most :data:`MAX_CONSTANT` as
constants, and it is at most :data:`MAX_PROGRAM_LENGTH` characters long. The
multiplier is a sanity bound, not the safety net: :meth:`Cost.max_input` turns the
bounds into the largest input whose work stays within a budget, so a filter that
multiplies its input 100 times runs inline only on a tiny input, and the caller sends
bigger inputs to a task process (:func:`json_size_at_most` checks without walking more
than that budget). ``tests/components/test_jq_inline.py`` checks the size and count
bounds against jq's real outputs; ``benchmarks/jq_inline.py`` times the work.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import count as _counter
from typing import Any

__all__ = [
    "MAX_COEFFICIENT",
    "MAX_CONSTANT",
    "MAX_PROGRAM_LENGTH",
    "VALUE_WEIGHT",
    "Cost",
    "analyse",
    "json_size_at_most",
    "json_text_size_at_most",
]

#: Longest filter analysed; longer ones go to a task process unexamined. The analysis
#: and jq's compilation of a new filter text both run on the loop, each linear in the
#: text: at 1,000 characters the slowest shapes (``{a:.b,a:.b,...}``, ``.//.//...``)
#: took 10-40 ms each on the loaded 2-vCPU VM; filters worth running inline are short.
MAX_PROGRAM_LENGTH = 500
#: Largest coefficient of the input's size a bound may have (a 512x blow-up at most).
MAX_COEFFICIENT = 512
#: Largest constant term a bound may have (outputs, bytes or steps whatever the input).
MAX_CONSTANT = 1 << 16
#: Steps per byte charged for sorting (n log n with log n ≤ 32 for any input we take).
LOG_FACTOR = 32
#: Largest array index an assignment or ``del`` may name (assigning past the end pads
#: the array with nulls).
MAX_INDEX = 64
#: Bytes out per byte in of an ``@`` format (``@html`` turns ``'`` into ``&#39;``).
FORMAT_FACTOR = 6
#: Size bound of an error message raised by a builtin besides the input it quotes.
ERROR_MESSAGE = 256
# How deeply the parser nests (parentheses, interpolations) before giving up.
_MAX_NESTING = 64
# A coefficient past this is refused at once (and never overflows anything).
_HUGE = 1 << 40

ONE = "1"
DOT = "."
_CONSTANT_ATOMS = frozenset({ONE})
Form = dict[str, float]


class Unprovable(Exception):
    """The analysis cannot bound this filter (or could not parse it)."""


# linear forms ------------------------------------------------------------------------


def _add(*forms: Form) -> Form:
    total: Form = {}
    for form in forms:
        for atom, coefficient in form.items():
            total[atom] = total.get(atom, 0) + coefficient
            if total[atom] > _HUGE:
                raise Unprovable("a bound grows past any limit")
    return total


def _scale(form: Form, factor: float) -> Form:
    if factor == 0:
        return {}
    scaled = {atom: coefficient * factor for atom, coefficient in form.items()}
    if any(coefficient > _HUGE for coefficient in scaled.values()):
        raise Unprovable("a bound grows past any limit")
    return scaled


def _constant(form: Form) -> bool:
    return form.keys() <= _CONSTANT_ATOMS


def _mul(a: Form, b: Form) -> Form:
    """The product of two bounds, when it is linear (one of them is a constant)."""
    if _constant(a):
        return _scale(b, a.get(ONE, 0))
    if _constant(b):
        return _scale(a, b.get(ONE, 0))
    raise Unprovable("work or output may grow with the product of two input sizes")


def _max(*forms: Form) -> Form:
    result: Form = {}
    for form in forms:
        for atom, coefficient in form.items():
            result[atom] = max(result.get(atom, 0), coefficient)
    return result


def _take(form: Form, atom: str) -> tuple[float, Form]:
    rest = dict(form)
    return rest.pop(atom, 0), rest


def _k(n: float) -> Form:
    return {ONE: n} if n else {}


_INPUT: Form = {DOT: 1}
#: At most one value per two bytes of an array or object (see ``_iterate``).
_HALF: Form = {DOT: 0.5}


@dataclass(frozen=True)
class Cost:
    """Bounds, as linear forms, on what a filter does with one input (see the module)."""

    count: Form
    size: Form
    time: Form
    error: Form

    def max_input(self, budget: int) -> int:
        """The largest input (bytes of JSON) for which reading it, the filter's work and
        writing its outputs stay within ``budget`` steps; 0 if none does."""
        per_byte = 1 + self.time.get(DOT, 0) + self.size.get(DOT, 0)
        fixed = self.time.get(ONE, 0) + self.size.get(ONE, 0)
        if fixed >= budget:
            return 0
        return int((budget - fixed) // per_byte)


def _one(size: Form, time: Form, error: Form | None = None) -> Cost:
    """One output of ``size`` (a builtin): its error message may quote its input."""
    return Cost(_k(1), size, time, _add(_INPUT, _k(ERROR_MESSAGE)) if error is None else error)


_NOTHING = Cost({}, {}, {}, {})


def _through(source: Cost, atom: str, body: Cost) -> Cost:
    """``body`` run once per output of ``source``, ``atom`` (``.`` for a pipe, a
    variable for ``as``) standing for that output's size."""

    def summed(form: Form) -> Form:
        coefficient, rest = _take(form, atom)
        return _add(_scale(source.size, coefficient), _mul(rest, source.count))

    error_coefficient, error_rest = _take(body.error, atom)
    return Cost(
        summed(body.count),
        summed(body.size),
        _add(source.time, summed(body.time), source.count),
        _max(source.error, _add(_scale(source.size, error_coefficient), error_rest)),
    )


def _product(parts: Sequence[Cost], per_output: Form, pairwise_time: Form | None = None) -> Cost:
    """The cartesian product of ``parts`` evaluated on one input, each combination
    yielding one output whose size is the sum of the parts' plus ``per_output``."""
    # Each part's outputs are repeated once per combination of the others' outputs:
    # the product of the counts before it and after it (prefix and suffix products,
    # so that an object of hundreds of keys costs hundreds of steps, not their square:
    # the analysis runs on the event loop too).
    before = [_k(1)]
    for part in parts:
        before.append(_mul(before[-1], part.count))
    total = before[-1]
    after = [_k(1)]
    for part in reversed(parts):
        after.append(_mul(after[-1], part.count))
    after.reverse()
    size = _mul(per_output, total)
    time = _add(total, pairwise_time or {})
    for index, part in enumerate(parts):
        others = _mul(before[index], after[index + 1])
        size = _add(size, _mul(part.size, others))
        time = _add(time, _mul(part.time, others), _mul(part.size, others))
    return Cost(total, size, time, _max(*(part.error for part in parts)))


# tokens ------------------------------------------------------------------------------

_KEYWORDS = frozenset(
    [
        "def",
        "as",
        "if",
        "then",
        "elif",
        "else",
        "end",
        "and",
        "or",
        "reduce",
        "foreach",
        "try",
        "catch",
        "label",
        "import",
        "include",
        "__loc__",
    ]
)
_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n\\]*)
  | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<field>\.[A-Za-z_][A-Za-z_0-9]*)
  | (?P<var>\$(?:__loc__|[A-Za-z_][A-Za-z_0-9]*)(?:::[A-Za-z_][A-Za-z_0-9]*)*)
  | (?P<format>@[A-Za-z0-9_]+)
  | (?P<ident>[A-Za-z_][A-Za-z_0-9]*(?:::[A-Za-z_][A-Za-z_0-9]*)*)
  | (?P<op>\?//=?|\.\.|!=|==|//=|//|\|=|\+=|-=|\*=|/=|%=|<=|>=|[.\[\]{}()|,:;=<>+\-*/%$?"])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, field, var, format, ident, keyword, op, string, end
    text: str
    start: int
    end: int
    parts: tuple[Any, ...] = ()  # a string: literal texts and parsed interpolations


# syntax tree: tuples, first item the node kind ----------------------------------------

#: jq's binary operators below `|`, lowest precedence first (its parser.y): node kind,
#: associativity, operators.
_LEVELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("comma", "left", (",",)),
    ("alternative", "right", ("//",)),
    ("assign", "none", ("=", "|=", "+=", "-=", "*=", "/=", "%=", "//=")),
    ("logic", "left", ("or",)),
    ("logic", "left", ("and",)),
    ("compare", "none", ("==", "!=", "<", "<=", ">", ">=")),
    ("binary", "left", ("+", "-")),
    ("binary", "left", ("*", "/", "%")),
)


class _Parser:
    def __init__(self, source: str, position: int = 0, depth: int = 0) -> None:
        self.source = source
        self.position = position
        self.depth = depth
        if depth > _MAX_NESTING:
            raise Unprovable("nested too deeply")
        self.token = self._lex()

    # lexing

    def _lex(self) -> _Token:
        source = self.source
        while True:
            start = self.position
            if start >= len(source):
                return _Token("end", "", start, start)
            if source[start] == '"':
                return self._lex_string(start)
            match = _TOKEN.match(source, start)
            if match is None:
                raise Unprovable(f"unexpected character at {start}")
            self.position = match.end()
            kind = match.lastgroup or ""
            text = match.group()
            if kind == "space":
                if text.startswith("#") and self.position < len(source) and source[self.position] == "\\":
                    raise Unprovable("a comment ending in a backslash")
                continue
            if kind == "ident" and text in _KEYWORDS:
                kind = "keyword"
            return _Token(kind, text, start, self.position)

    def _lex_string(self, start: int) -> _Token:
        source = self.source
        position = start + 1
        parts: list[Any] = []
        literal: list[str] = []
        while True:
            if position >= len(source):
                raise Unprovable("unterminated string")
            char = source[position]
            if char == '"':
                break
            if char == "\\":
                escape = source[position + 1 : position + 2]
                if escape == "(":
                    parts.append("".join(literal))
                    literal = []
                    inner = _Parser(source, position + 2, self.depth + 1)
                    parts.append(inner.parse_pipe())
                    if not inner.at(")"):
                        raise Unprovable("an interpolation without its `)`")
                    position = inner.token.end
                    continue
                if escape == "u":
                    literal.append("\\u0000")  # its size: at most the six characters written
                    position += 6
                    continue
                if escape not in ('"', "\\", "/", "b", "f", "n", "r", "t"):
                    raise Unprovable("unknown escape in a string")
                literal.append("x")
                position += 2
                continue
            literal.append(char)
            position += 1
        parts.append("".join(literal))
        self.position = position + 1
        return _Token("string", source[start : position + 1], start, position + 1, tuple(parts))

    def advance(self) -> _Token:
        token = self.token
        self.position = token.end
        self.token = self._lex()
        return token

    def at(self, *texts: str) -> bool:
        return self.token.kind in ("op", "keyword") and self.token.text in texts

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise Unprovable(f"expected {text!r} at {self.token.start}")
        self.advance()

    # grammar, lowest precedence first: | , // (assignments) or and (comparisons) + - * / %

    def parse_program(self) -> tuple[Any, ...]:
        tree = self.parse_pipe()
        if self.token.kind != "end":
            raise Unprovable(f"unexpected {self.token.text!r}")
        return tree

    def parse_pipe(self) -> tuple[Any, ...]:
        if self.at("def", "label", "import", "include", "reduce", "foreach"):
            raise Unprovable(f"{self.token.text} is not analysed")
        left = self.parse_comma()
        if self.at("|"):
            self.advance()
            return ("pipe", left, self.parse_pipe())
        return left

    def parse_comma(self, level: int = 0) -> tuple[Any, ...]:
        """The binary operators, by :data:`_LEVELS`; a node is (kind, operator, left, right)."""
        if level == len(_LEVELS):
            return self.parse_unary()
        kind, associativity, operators = _LEVELS[level]
        left = self.parse_comma(level + 1)
        while self.at(*operators):
            operator = self.advance().text
            right = self.parse_comma(level if associativity == "right" else level + 1)
            left = (kind, operator, left, right)
            if associativity != "left":
                break
        return left

    def parse_unary(self) -> tuple[Any, ...]:
        if self.at("-"):
            self.advance()
            return ("negate", self.parse_unary())
        return self.parse_postfix()

    def parse_postfix(self) -> tuple[Any, ...]:
        if self.at("try"):
            self.advance()
            body = self.parse_postfix()
            handler = None
            if self.at("catch"):
                self.advance()
                handler = self.parse_postfix()
            return ("try", body, handler)
        term = self.parse_term()
        if self.at("as"):
            self.advance()
            if self.token.kind != "var":
                raise Unprovable("only `as $name` bindings are analysed")
            name = self.advance().text
            if self.at("?//"):
                raise Unprovable("destructuring alternatives are not analysed")
            self.expect("|")
            return ("bind", term, name, self.parse_pipe())
        return term

    def parse_term(self) -> tuple[Any, ...]:
        term = self.parse_primary()
        while True:
            if self.token.kind == "field":
                term = ("index", term, ("literal", 1, self.advance().text[1:]))
            elif self.at(".") and self._next_is_string_or_bracket():
                self.advance()
                if self.token.kind == "string":
                    term = ("index", term, self._string(self.advance()))
                # else: `.a.[0]`, the bracket follows
            elif self.at("["):
                term = self._bracket_suffix(term)
            elif self.at("?"):
                self.advance()
                term = ("try", term, None)
            else:
                return term

    def _next_is_string_or_bracket(self) -> bool:
        rest = self.source[self.token.end :].lstrip()
        return rest.startswith(('"', "["))

    def _bracket_suffix(self, term: tuple[Any, ...]) -> tuple[Any, ...]:
        self.expect("[")
        if self.at("]"):
            self.advance()
            return ("iterate", term)
        if self.at(":"):
            self.advance()
            upper = self.parse_pipe()
            self.expect("]")
            return ("slice", term, None, upper)
        index = self.parse_pipe()
        if self.at(":"):
            self.advance()
            end = None if self.at("]") else self.parse_pipe()
            self.expect("]")
            return ("slice", term, index, end)
        self.expect("]")
        return ("index", term, index)

    def _string(self, token: _Token, format_name: str | None = None) -> tuple[Any, ...]:
        if len(token.parts) == 1:
            return ("literal", len(token.parts[0]) + 2, token.parts[0])
        return ("string", token.parts, format_name)

    def parse_primary(self) -> tuple[Any, ...]:
        token = self.token
        kind, text = token.kind, token.text
        if kind == "number":
            self.advance()
            return ("literal", len(text), float(text))
        if kind == "string":
            self.advance()
            return self._string(token)
        if kind == "format":
            self.advance()
            if self.token.kind == "string":
                return self._string(self.advance(), text)
            return ("call", text, ())
        if kind == "field":
            self.advance()
            return ("index", ("identity",), ("literal", len(text) + 1, text[1:]))
        if kind == "var":
            self.advance()
            if text in ("$ENV", "$__loc__", "$__prog_args") or "::" in text:
                raise Unprovable(f"{text} is not analysed")
            return ("variable", text)
        if kind == "op":
            if text == ".":
                self.advance()
                if self.token.kind == "string" and self.token.start == token.end:
                    return ("index", ("identity",), self._string(self.advance()))
                return ("identity",)
            if text == "..":
                raise Unprovable(".. recurses")
            if text == "(":
                self.advance()
                inner = _Parser(self.source, self.token.start, self.depth + 1)
                tree = inner.parse_pipe()
                self.position = inner.token.start
                self.token = self._lex()
                self.expect(")")
                return ("group", tree)
            if text == "[":
                self.advance()
                if self.at("]"):
                    self.advance()
                    return ("array", None)
                inner = _Parser(self.source, self.token.start, self.depth + 1)
                tree = inner.parse_pipe()
                self.position = inner.token.start
                self.token = self._lex()
                self.expect("]")
                return ("array", tree)
            if text == "{":
                return self._object()
        if kind == "keyword" and text == "if":
            return self._if()
        if kind == "ident":
            self.advance()
            if "::" in text:
                raise Unprovable("module functions are not analysed")
            if text in ("null", "true", "false"):
                return ("literal", len(text), text)
            args: list[tuple[Any, ...]] = []
            if self.at("("):
                self.advance()
                inner = _Parser(self.source, self.token.start, self.depth + 1)
                args.append(inner.parse_pipe())
                while inner.at(";"):
                    inner.advance()
                    args.append(inner.parse_pipe())
                self.position = inner.token.start
                self.token = self._lex()
                self.expect(")")
            return ("call", text, tuple(args))
        raise Unprovable(f"unexpected {text!r} at {token.start}")

    def _if(self) -> tuple[Any, ...]:
        self.expect("if")
        branches = []
        while True:
            condition = self.parse_pipe()
            self.expect("then")
            branches.append((condition, self.parse_pipe()))
            if self.at("elif"):
                self.advance()
                continue
            break
        otherwise: tuple[Any, ...] = ("identity",)
        if self.at("else"):
            self.advance()
            otherwise = self.parse_pipe()
        self.expect("end")
        return ("if", tuple(branches), otherwise)

    def _object(self) -> tuple[Any, ...]:
        self.expect("{")
        entries = []
        while not self.at("}"):
            token = self.token
            if token.kind in ("ident", "keyword") and "::" not in token.text:
                self.advance()
                key: tuple[Any, ...] = ("literal", len(token.text) + 2, token.text)
                default: tuple[Any, ...] = ("index", ("identity",), key)
            elif token.kind == "var":
                self.advance()
                if token.text in ("$ENV", "$__loc__") or "::" in token.text:
                    raise Unprovable(f"{token.text} is not analysed")
                key = ("literal", len(token.text) + 1, token.text[1:])
                default = ("variable", token.text)
            elif token.kind == "string":
                self.advance()
                key = self._string(token)
                default = ("index", ("identity",), key)
            elif token.kind == "number":
                raise Unprovable("a number as an object key")
            elif token.kind == "format":
                self.advance()
                key = (
                    self._string(self.advance(), token.text)
                    if self.token.kind == "string"
                    else ("call", token.text, ())
                )
                default = ("index", ("identity",), key)
            elif self.at("("):
                self.advance()
                key = ("group", self.parse_pipe())
                self.expect(")")
                default = ()
            else:
                raise Unprovable(f"unexpected {token.text!r} in an object")
            if self.at(":"):
                self.advance()
                value = self._object_value()
            elif default:
                value = default
            else:
                raise Unprovable("an object key without a value")
            entries.append((key, value))
            if not self.at(","):
                break
            self.advance()
        self.expect("}")
        return ("object", tuple(entries))

    def _object_value(self) -> tuple[Any, ...]:
        # jq: ObjVal is a pipe of terms (`{a: .b | .c}`); `{a: 1 + 2}` needs parentheses.
        value = self._object_term()
        while self.at("|"):
            self.advance()
            value = ("pipe", value, self._object_term())
        return value

    def _object_term(self) -> tuple[Any, ...]:
        if self.at("-"):
            self.advance()
            return ("negate", self._object_term())
        term = self.parse_term()
        if self.at("as"):
            raise Unprovable("`as` in an object value")
        return term


# cost of each construct ---------------------------------------------------------------


class _Analysis:
    def __init__(self) -> None:
        self.fresh = _counter()

    def cost(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        method: Callable[..., Cost] = getattr(self, "_" + node[0])
        return method(node, env)

    def _identity(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        return Cost(_k(1), dict(_INPUT), _k(1), {})

    def _literal(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        return Cost(_k(1), _k(node[1]), _k(1), {})

    def _group(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        return self.cost(node[1], env)

    def _variable(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        if node[1] not in env:
            raise Unprovable(f"{node[1]} is not defined")
        return Cost(_k(1), dict(env[node[1]]), _k(1), {})

    def _pipe(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        return _through(self.cost(node[1], env), DOT, self.cost(node[2], env))

    def _bind(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        _, source_node, name, body_node = node
        source = self.cost(source_node, env)
        if _constant(source.size):
            # A constant-size value: no atom, so it may be used under any generator.
            return _through(source, f"#{next(self.fresh)}", self.cost(body_node, {**env, name: source.size}))
        atom = f"{name}#{next(self.fresh)}"
        return _through(source, atom, self.cost(body_node, {**env, name: {atom: 1}}))

    def _comma(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        left, right = self.cost(node[2], env), self.cost(node[3], env)
        return Cost(
            _add(left.count, right.count),
            _add(left.size, right.size),
            _add(left.time, right.time),
            _max(left.error, right.error),
        )

    _alternative = _comma

    def _if(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        _, branches, otherwise = node
        result = self.cost(otherwise, env)
        for condition, then in reversed(branches):
            # Per output of the condition, one of the branches runs on the same input.
            chosen = self.cost(then, env)
            either = Cost(
                _max(chosen.count, result.count),
                _max(chosen.size, result.size),
                _max(chosen.time, result.time),
                _max(chosen.error, result.error),
            )
            result = _through(self.cost(condition, env), f"#{next(self.fresh)}", either)
        return result

    def _try(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        _, body_node, handler_node = node
        body = self.cost(body_node, env)
        if handler_node is None:
            return Cost(body.count, body.size, body.time, {})
        # The handler runs at most once, on the error value.
        caught = Cost(_k(1), body.error, {}, {})
        handler = _through(caught, DOT, self.cost(handler_node, env))
        return Cost(
            _add(body.count, handler.count),
            _add(body.size, handler.size),
            _add(body.time, handler.time),
            handler.error,
        )

    def _negate(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        operand = self.cost(node[1], env)
        return _product([operand], _k(_NUMBER))

    def _logic(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        parts = [self.cost(node[2], env), self.cost(node[3], env)]
        result = _product(parts, _k(5))
        return Cost(
            _add(result.count, parts[0].count), _scale(_add(result.count, parts[0].count), 5), result.time, result.error
        )

    def _compare(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        parts = [self.cost(node[2], env), self.cost(node[3], env)]
        result = _product(parts, {}, None)
        # Comparing costs both sides' sizes (sorting object keys: LOG_FACTOR); yields a boolean.
        time = _add(result.time, _scale(result.size, LOG_FACTOR))
        return Cost(result.count, _scale(result.count, 5), time, result.error)

    def _binary(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        _, operator, left_node, right_node = node
        left, right = self.cost(left_node, env), self.cost(right_node, env)
        if operator == "+":
            return _product([left, right], _k(2))
        if operator == "%":
            result = _product([left, right], {})
            return Cost(result.count, _scale(result.count, _NUMBER), result.time, result.error)
        if operator in ("-", "/"):
            # Array difference and string division (split) compare every pair of parts.
            result = _product([left, right], _k(2), _mul(left.size, right.size))
            if operator == "/":  # `"aaa" / "a"`: ["","","",""], three bytes per byte
                return Cost(result.count, _scale(result.size, 3), result.time, result.error)
            return result
        # `*`: numbers, object merge, or a string repeated n times.
        factor = _repetition(left_node) or _repetition(right_node)
        if factor is None:
            if left_node[0] == "object" or right_node[0] == "object":
                return _product([left, right], _k(2))
            raise Unprovable("`*` may repeat a string any number of times")
        result = _product([left, right], _k(_NUMBER))
        return Cost(
            result.count, _scale(result.size, max(factor, 1)), _scale(result.time, max(factor, 1)), result.error
        )

    def _index(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        target, index = self.cost(node[1], env), self.cost(node[2], env)
        # `.[[1,2]]` searches an array for a sub-array: the two sizes multiply.
        result = _product([target, index], {}, _mul(target.size, index.size))
        return Cost(result.count, _mul(target.size, index.count), result.time, _max(result.error, _k(ERROR_MESSAGE)))

    def _slice(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        target = self.cost(node[1], env)
        bounds = [self.cost(bound, env) for bound in node[2:] if bound is not None]
        result = _product([target, *bounds], {})
        others = _k(1)
        for bound in bounds:
            others = _mul(others, bound.count)
        return Cost(result.count, _mul(target.size, others), result.time, _max(result.error, _k(ERROR_MESSAGE)))

    def _iterate(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        # n values take at least 2n + 1 bytes (`[1,1]`): at most half a value per byte.
        each = Cost(_scale(_INPUT, 0.5), dict(_INPUT), _add(_INPUT, _k(1)), _k(ERROR_MESSAGE))
        return _through(self.cost(node[1], env), DOT, each)

    def _array(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        if node[1] is None:
            return Cost(_k(1), _k(2), _k(1), {})
        inner = self.cost(node[1], env)
        return Cost(_k(1), _add(inner.size, inner.count, _k(2)), _add(inner.time, inner.count, _k(1)), inner.error)

    def _object(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        parts: list[Cost] = []
        for key, value in node[1]:
            parts.extend((self.cost(key, env), self.cost(value, env)))
        return _product(parts, _k(2 + 2 * len(node[1])))

    def _string(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        _, pieces, format_name = node
        literal = sum(len(piece) for piece in pieces if isinstance(piece, str)) + 2
        parts = [self.cost(piece, env) for piece in pieces if not isinstance(piece, str)]
        if format_name is not None:
            if format_name not in _FORMATS:
                raise Unprovable(f"unknown format {format_name}")
            parts = [_then(part, _FORMAT_COST) for part in parts]
        else:
            # An interpolated value is its JSON text (a string: its characters), whose
            # quotes and backslashes the result's own JSON escapes again: twice the size.
            parts = [_then(part, _SIMPLE["tostring/0"]) for part in parts]
        return _product(parts, _k(literal))

    def _assign(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        _, operator, target, value_node = node
        if not _plain_path(target):
            raise Unprovable("assignment to anything but a plain path")
        value = self.cost(value_node, env)
        growth = _k(_path_growth(target))
        if operator == "|=":
            # The update runs once on the value at the path (at most the input).
            update = _through(Cost(_k(1), dict(_INPUT), _k(1), {}), DOT, value)
            update = Cost(_max(update.count, _k(1)), update.size, update.time, update.error)
            return Cost(_k(1), _add(_INPUT, update.size, growth), _add(_scale(_INPUT, 2), update.time), update.error)
        # `=` and arithmetic updates: the value is computed on the input, per output.
        if operator in ("*=",) and _repetition(value_node) is None:
            raise Unprovable("`*=` may repeat a string any number of times")
        factor = _repetition(value_node) or 1 if operator == "*=" else 1
        one = Cost(
            _k(1), _add(_scale(_INPUT, factor), growth), _scale(_INPUT, 2 * factor), _add(_INPUT, _k(ERROR_MESSAGE))
        )
        return _through(value, f"#{next(self.fresh)}", Cost(one.count, _add(one.size, value.size), one.time, one.error))

    def _call(self, node: tuple[Any, ...], env: dict[str, Form]) -> Cost:
        _, name, args = node
        key = f"{name}/{len(args)}"
        if name.startswith("@") and not args:
            if name not in _FORMATS:
                raise Unprovable(f"unknown format {name}")
            return _FORMAT_COST
        if key in _SIMPLE:
            return _SIMPLE[key]
        if key in _DESUGARED:
            return self.cost(_DESUGARED[key](*args), env)
        if key in _WITH_VALUES:
            arguments = [self.cost(arg, env) for arg in args]
            return _with_values(arguments, _WITH_VALUES[key]([a.size for a in arguments]))
        if key in _SORTS:
            each = self.cost(("array", ("pipe", ("iterate", ("identity",)), ("array", args[0]))), env)
            size = _scale(_INPUT, _SORTS[key])
            return Cost(
                _k(1),
                size,
                _add(each.time, _scale(_add(each.size, _INPUT), LOG_FACTOR)),
                _max(each.error, _add(_INPUT, _k(ERROR_MESSAGE))),
            )
        if key in ("first/1", "last/1", "isempty/1"):
            inner = self.cost(args[0], env)
            size = inner.size if name != "isempty" else _k(5)
            return Cost(_k(1), size, inner.time, inner.error)
        if key in ("limit/2", "skip/2", "nth/2"):
            bound, inner = self.cost(args[0], env), self.cost(args[1], env)
            return _through(
                bound,
                f"#{next(self.fresh)}",
                Cost(inner.count, inner.size, inner.time, _max(inner.error, _k(ERROR_MESSAGE))),
            )
        if key in ("any/1", "all/1", "any/2", "all/2"):
            body = ("pipe", ("iterate", ("identity",)), args[0]) if len(args) == 1 else ("pipe", args[0], args[1])
            inner = self.cost(("array", body), env)
            return Cost(_k(1), _k(5), inner.time, inner.error)
        if key == "del/1":
            if not _plain_path(args[0]):
                raise Unprovable("del of anything but a plain path")
            return _one(dict(_INPUT), _scale(_INPUT, 2))
        if key == "error/1":
            message = self.cost(args[0], env)
            return Cost({}, {}, _add(message.time, message.count), message.size)
        raise Unprovable(f"{key} is not among the analysed builtins")


def _then(part: Cost, after: Cost) -> Cost:
    return _through(part, DOT, after)


def _repetition(node: tuple[Any, ...]) -> int | None:
    """The number a `*` operand is, when it is a literal that small."""
    while node[0] == "group":
        node = node[1]
    if node[0] == "literal" and isinstance(node[2], float) and abs(node[2]) <= MAX_COEFFICIENT:
        return int(abs(node[2])) + 1
    return None


def _plain_path(node: tuple[Any, ...]) -> bool:
    """`.`, `.a`, `.a.b`, `.[0]`, `."k"`: one path, no generator, literal keys."""
    while node[0] == "group":
        node = node[1]
    if node[0] == "identity":
        return True
    if node[0] == "index":
        key = node[2]
        if key[0] != "literal" or key[2] in ("null", "true", "false"):
            return False
        # `null | .[1e9] = 1` makes a billion nulls: only small array indexes.
        return (isinstance(key[2], str) or abs(key[2]) <= MAX_INDEX) and _plain_path(node[1])
    return False


def _path_growth(node: tuple[Any, ...]) -> int:
    """Bytes a plain path may add to a value when assigned: its keys (`{"key":}`) and
    the nulls padding an array up to its indexes (`[null,null,...]`)."""
    growth = 2
    while node[0] != "identity":
        if node[0] == "group":
            node = node[1]
            continue
        key = node[2][2]
        growth += len(key) + 6 if isinstance(key, str) else 5 * (int(abs(key)) + 1) + 2
        node = node[1]
    return growth


def _with_values(arguments: Sequence[Cost], body: Cost) -> Cost:
    """A builtin whose arguments are values (``join($sep)``): called once per
    combination of its arguments' outputs, each at most its argument's total size."""
    combinations = _k(1)
    for argument in arguments:
        combinations = _mul(combinations, argument.count)
    time = _mul(body.time, combinations)
    for argument in arguments:
        time = _add(time, _mul(argument.time, combinations))
    return Cost(
        _mul(body.count, combinations),
        _mul(body.size, combinations),
        time,
        _max(body.error, *(argument.error for argument in arguments)),
    )


#: Bytes of a number's text (``-1.7976931348623157e+308``), or of ``frexp``'s pair.
_NUMBER = 48
_FORMATS = frozenset(
    ["@text", "@json", "@html", "@uri", "@csv", "@tsv", "@sh", "@base64", "@base64d", "@base32", "@base32d"]
)
_FORMAT_COST = _one(_add(_scale(_INPUT, FORMAT_FACTOR), _k(2)), _scale(_INPUT, FORMAT_FACTOR))

_NUMERIC_0 = [
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "cbrt",
    "ceil",
    "cos",
    "cosh",
    "exp",
    "exp10",
    "exp2",
    "expm1",
    "fabs",
    "floor",
    "frexp",
    "gamma",
    "j0",
    "j1",
    "lgamma",
    "lgamma_r",
    "log",
    "log10",
    "log1p",
    "log2",
    "logb",
    "modf",
    "nearbyint",
    "rint",
    "round",
    "significand",
    "sin",
    "sinh",
    "sqrt",
    "tan",
    "tanh",
    "tgamma",
    "trunc",
    "y0",
    "y1",
    "infinite",
    "nan",
    "isinfinite",
    "isnan",
    "isnormal",
    "toboolean",
    "not",
    "type",
    "length",
    "utf8bytelength",
    "any",
    "all",
]
_NUMERIC_2 = [
    "atan2",
    "copysign",
    "drem",
    "fdim",
    "fmax",
    "fmin",
    "fmod",
    "frexp",
    "hypot",
    "ldexp",
    "nextafter",
    "nexttoward",
    "pow",
    "scalb",
    "scalbln",
]
_SELECTORS = [
    "arrays",
    "objects",
    "iterables",
    "booleans",
    "numbers",
    "strings",
    "nulls",
    "values",
    "scalars",
    "finites",
    "normals",
]

#: Builtins of the input alone: (size, time) of their one output.
_SIMPLE: dict[str, Cost] = {
    **{f"{name}/0": _one(_k(_NUMBER), _add(_INPUT, _k(1))) for name in _NUMERIC_0},
    "abs/0": _one(_add(_INPUT, _k(_NUMBER)), _k(1)),  # not a number: itself
    **{f"{name}/0": Cost(_k(1), dict(_INPUT), _k(1), {}) for name in _SELECTORS},
    "empty/0": Cost({}, {}, _k(1), {}),
    "error/0": Cost({}, {}, _k(1), dict(_INPUT)),
    "keys/0": _one(_scale(_INPUT, 8), _scale(_INPUT, LOG_FACTOR)),
    "keys_unsorted/0": _one(_scale(_INPUT, 8), _scale(_INPUT, 2)),
    "to_entries/0": _one(_add(_scale(_INPUT, 16), _k(2)), _scale(_INPUT, 32)),
    "from_entries/0": _one(_add(_scale(_INPUT, 2), _k(2)), _scale(_INPUT, 16)),
    "add/0": _one(_add(_INPUT, _k(4)), _scale(_INPUT, 8)),
    "sort/0": _one(dict(_INPUT), _scale(_INPUT, LOG_FACTOR)),
    "unique/0": _one(dict(_INPUT), _scale(_INPUT, LOG_FACTOR)),
    "min/0": _one(dict(_INPUT), _scale(_INPUT, LOG_FACTOR)),
    "max/0": _one(dict(_INPUT), _scale(_INPUT, LOG_FACTOR)),
    # jq defines it as `[.[length - 1 - range(0; length)]]`: steps per element.
    "reverse/0": _one(dict(_INPUT), _scale(_INPUT, 64)),
    "first/0": _one(dict(_INPUT), _k(2)),
    "last/0": _one(dict(_INPUT), _k(2)),
    "tostring/0": _one(_add(_scale(_INPUT, 2), _k(2)), _scale(_INPUT, 2)),
    "tojson/0": _one(_add(_scale(_INPUT, 2), _k(2)), _scale(_INPUT, 2)),
    "fromjson/0": _one(_add(_scale(_INPUT, 2), _k(_NUMBER)), _scale(_INPUT, 4)),
    "tonumber/0": _one(_add(_INPUT, _k(_NUMBER)), _scale(_INPUT, 4)),
    # jq defines these as `explode | map(...) | implode`: a dozen steps per character.
    "ascii_downcase/0": _one(dict(_INPUT), _scale(_INPUT, 128)),
    "ascii_upcase/0": _one(dict(_INPUT), _scale(_INPUT, 128)),
    "trim/0": _one(dict(_INPUT), _scale(_INPUT, 2)),
    "ltrim/0": _one(dict(_INPUT), _scale(_INPUT, 2)),
    "rtrim/0": _one(dict(_INPUT), _scale(_INPUT, 2)),
    "explode/0": _one(_add(_scale(_INPUT, 8), _k(2)), _scale(_INPUT, 8)),
    "implode/0": _one(_add(_INPUT, _k(2)), _scale(_INPUT, 2)),
}

_IDENTITY = ("identity",)
_ITERATE = ("iterate", _IDENTITY)

#: Builtins that are jq definitions over constructs analysed above.
_DESUGARED: dict[str, Callable[..., tuple[Any, ...]]] = {
    "map/1": lambda f: ("array", ("pipe", _ITERATE, f)),
    "select/1": lambda f: ("if", ((f, _IDENTITY),), ("call", "empty", ())),
    "with_entries/1": lambda f: (
        "pipe",
        ("call", "to_entries", ()),
        ("pipe", ("array", ("pipe", _ITERATE, f)), ("call", "from_entries", ())),
    ),
    "add/1": lambda f: ("pipe", ("array", f), ("call", "add", ())),
    "nth/1": lambda n: ("index", _IDENTITY, n),
}


def _per_byte_of(argument: Form, extra: int = 1) -> Form:
    """A pass over the input per byte of an argument (a naive substring search)."""
    return _add(_mul(_INPUT, argument), _scale(_INPUT, extra), argument)


#: Builtins whose arguments are values: the cost of one call given the arguments' sizes.
_WITH_VALUES: dict[str, Callable[[list[Form]], Cost]] = {
    # jq defines join as a `reduce` with a type test per element: steps per element.
    "join/1": lambda a: _one(_add(_INPUT, _mul(_HALF, a[0]), _k(2)), _add(_scale(_INPUT, 48), _mul(_HALF, a[0]))),
    "split/1": lambda a: _one(_add(_scale(_INPUT, 3), _k(2)), _per_byte_of(a[0])),
    "ltrimstr/1": lambda a: _one(dict(_INPUT), _add(_INPUT, a[0])),
    "rtrimstr/1": lambda a: _one(dict(_INPUT), _add(_INPUT, a[0])),
    "trimstr/1": lambda a: _one(dict(_INPUT), _add(_INPUT, a[0])),
    "startswith/1": lambda a: _one(_k(5), _add(_INPUT, a[0])),
    "endswith/1": lambda a: _one(_k(5), _add(_INPUT, a[0])),
    "index/1": lambda a: _one(_k(_NUMBER), _per_byte_of(a[0])),
    "rindex/1": lambda a: _one(_k(_NUMBER), _per_byte_of(a[0])),
    "indices/1": lambda a: _one(_add(_scale(_INPUT, 12), _k(2)), _per_byte_of(a[0], 12)),
    "contains/1": lambda a: _one(_k(5), _per_byte_of(a[0], LOG_FACTOR)),
    "inside/1": lambda a: _one(_k(5), _per_byte_of(a[0], LOG_FACTOR)),
    "has/1": lambda a: _one(_k(5), _add(a[0], _k(LOG_FACTOR))),
    "in/1": lambda a: _one(_k(5), _add(_INPUT, a[0], _k(LOG_FACTOR))),
    "getpath/1": lambda a: _one(dict(_INPUT), _add(a[0], _k(1))),
    **{f"{name}/2": (lambda a: _one(_k(_NUMBER), _k(1))) for name in _NUMERIC_2},
    "fma/3": lambda a: _one(_k(_NUMBER), _k(1)),
}

#: Sorting builtins with a key: size of their output per byte of input.
_SORTS = {"sort_by/1": 1, "unique_by/1": 1, "min_by/1": 1, "max_by/1": 1, "group_by/1": 3}


def analyse(program: str) -> Cost | None:
    """The bounds on ``program``'s work and output, or None when it cannot be shown
    to end in time linear in its input (then it must run in a task process).

    Cached by filter text: a filter that arrives through a reference is checked once
    per distinct text, then costs a dictionary lookup. A filter too long to analyse is
    not cached: the cache would keep up to 1,024 texts of any size (a filter from a
    trigger's input may be megabytes) alive in the server."""
    if len(program) > MAX_PROGRAM_LENGTH:
        return None
    return _analyse(program)


@lru_cache(maxsize=1024)
def _analyse(program: str) -> Cost | None:
    try:
        tree = _Parser(program).parse_program()
        cost = _Analysis().cost(tree, {})
    except Unprovable:
        return None
    except Exception:  # noqa: BLE001 - too deep (RecursionError), or a case the parser misreads: unproven
        return None
    for form in (cost.count, cost.size, cost.time):
        if any(atom not in (ONE, DOT) for atom in form):
            return None
        if form.get(DOT, 0) > MAX_COEFFICIENT * (LOG_FACTOR if form is cost.time else 1):
            return None
        if form.get(ONE, 0) > MAX_CONSTANT:
            return None
    return cost


#: What one JSON value counts for in :func:`json_size_at_most` besides its characters:
#: jq spends on each value (a step of its interpreter, a conversion to and from Python)
#: what it spends on some tens of bytes of a string.
VALUE_WEIGHT = 16


#: What a digit of an integer too long for a double counts for: Python converts it to
#: text (quadratic in its length) and jq parses it back, some 100-200 ns a digit where
#: a character of a string costs some 40 (about 3.3 bits a digit).
DIGIT_WEIGHT = 4
_DOUBLE_BITS = 53
#: What a float far from 1 counts for besides :data:`VALUE_WEIGHT`: 4,094 of
#: ``1.2345678901234567e-300`` take jq 29 ms in and out, 1.5 takes 2.5 ms.
FAR_FLOAT_WEIGHT = 6 * VALUE_WEIGHT
_NEAR_FLOATS = (1e-20, 1e20)


def json_text_size_at_most(text: str, limit: int) -> bool:
    """:func:`json_size_at_most` for a value given as JSON text, without parsing it:
    its characters, plus :data:`VALUE_WEIGHT` per value or key (each follows ``[``,
    ``{``, ``,`` or ``:``, or is the whole text) and :data:`DIGIT_WEIGHT` per digit
    (an integer's digits), and what escaping its non-ASCII characters adds. Brackets,
    commas and digits inside strings count too, which only errs on the side of a task
    process."""
    if len(text) > limit:
        return False
    values = 1 + sum(text.count(mark) for mark in "[{,:")
    digits = sum(text.count(digit) for digit in "0123456789")
    # Unescaped non-ASCII characters reach jq escaped (the text is parsed, then
    # written as ASCII JSON): weighed as in a value (quotes and backslashes, escaped
    # here too, only add to the weight).
    escapes = 0 if text.isascii() else _text_weight(text, limit) - len(text)
    return len(text) + VALUE_WEIGHT * values + DIGIT_WEIGHT * digits + escapes <= limit


def _text_weight(text: str, remaining: int) -> int:
    """A string's characters, plus twice the bytes its JSON escapes add (jq gets its
    input as ASCII JSON text: an emoji is ``\\ud83d\\ude00``, a NUL ``\\u0000``,
    and decoding an escape costs more than copying a byte). Escapes are counted only
    for a string that fits the ``remaining`` budget, so at most that many bytes."""
    weight = len(text)
    if weight <= remaining and not (text.isascii() and text.isprintable()):
        weight += 2 * (len(json.dumps(text)) - 2 - weight)
    return weight


def _number_weight(number: int | float) -> int:
    """What a number weighs besides :data:`VALUE_WEIGHT`: an integer too long for a
    double its digits; a float with a far exponent (``1.2345678901234567e-300``) the
    big-number arithmetic of printing and parsing it exactly."""
    if isinstance(number, int):
        bits = number.bit_length()
        return bits * DIGIT_WEIGHT // 3 if bits > _DOUBLE_BITS else 0
    if number and not _NEAR_FLOATS[0] < abs(number) < _NEAR_FLOATS[1]:
        return FAR_FLOAT_WEIGHT
    return 0


def json_size_at_most(value: Any, limit: int) -> bool:
    """Whether ``value`` weighs at most ``limit``: the characters of its strings and
    keys plus :data:`VALUE_WEIGHT` per value (so a long string counts about its JSON
    size, and a long array of small values much more), more for escaped characters
    and for long or extreme numbers. Visits at most ``limit / VALUE_WEIGHT`` values,
    however big ``value`` is."""
    remaining = limit
    stack = [value]
    while stack:
        item = stack.pop()
        remaining -= VALUE_WEIGHT
        if isinstance(item, str):
            remaining -= _text_weight(item, remaining)
        elif isinstance(item, (int, float)):
            remaining -= _number_weight(item)
        elif isinstance(item, dict):
            remaining -= VALUE_WEIGHT * len(item)  # the keys
            for key in item:
                if remaining < 0:
                    return False
                remaining -= _text_weight(key, remaining) if isinstance(key, str) else VALUE_WEIGHT
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)) and len(item) * VALUE_WEIGHT <= remaining:
            stack.extend(item)
        elif isinstance(item, (list, tuple)):
            return False
        if remaining < 0:
            return False
    return True
