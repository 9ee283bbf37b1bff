"""Component ``condition`` expressions: tokenizer, Pratt parser, evaluator.

Never ``eval``. The language is the Go-expression subset Instill accepts::

    ${variable.mode} == "long" && (${n.output.count} + 1) % 2 != 0 || !${x.output.ok}

- literals: numbers (``1``, ``2.5``, ``1e3``), strings in double, single or back
  quotes, ``true``, ``false``, ``null``;
- references: ``${...}``, or leniently a bare path such as ``variable.mode``
  (in a bare path ``-`` belongs to the name, as in ``op-0.output.x``; write
  ``a - 1`` with spaces to subtract);
- operators, loosest first: ``||``; ``&&``; ``== != < > <= >=``; ``+ -``;
  ``* / %``; unary ``! -``; parentheses; function ``concat(a, b, ...)``.

Semantics follow Go: numbers compare numerically whatever int/float mix;
``==`` between incompatible types is false (``!=`` true) while ordering them is an
error; ``&&``/``||`` short-circuit. Non-boolean operands of ``&& || !`` and the
final result fall back to truthiness (empty/zero/null are false). An unresolved
reference evaluates to ``null`` so ``${variable.optional} == "x"`` is simply false.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .references import MISSING, Reference, ReferenceSyntaxError, find_reference_end, parse_reference, stringify

__all__ = ["Condition", "ConditionError", "ConditionSyntaxError", "parse_condition"]


class ConditionSyntaxError(ValueError):
    """The condition text does not parse."""


class ConditionError(Exception):
    """The condition parsed but could not be evaluated (e.g. ``"a" < 1``)."""


# --- tokens ---------------------------------------------------------------------

_NUMBER = re.compile(r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_BARE_PATH = re.compile(
    r"[A-Za-z_][A-Za-z0-9_-]*"
    r"(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*|\[\s*\d+\s*\]|\[\s*[A-Za-z_]\w*\s*\]|\[\s*\"(?:[^\"\\]|\\.)*\"\s*\]"
    r"|\[\s*'(?:[^'\\]|\\.)*'\s*\]|:[a-z][a-z0-9-]*)*"
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "(", ")", ",")
_KEYWORDS: dict[str, Any] = {"true": True, "false": False, "null": None, "nil": None}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "`": "`"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "num" | "str" | "ref" | "kw" | "op" | "func" | "end"
    value: Any
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if text.startswith("${", i):
            try:
                end = find_reference_end(text, i + 2)
                reference = parse_reference(text[i + 2 : end])
            except ReferenceSyntaxError as exc:
                raise ConditionSyntaxError(f"{exc} (at column {i + 1})") from exc
            tokens.append(_Token("ref", reference, i))
            i = end + 1
            continue
        if char.isdigit() or (char == "." and i + 1 < n and text[i + 1].isdigit()):
            match = _NUMBER.match(text, i)
            assert match is not None
            literal = match.group()
            is_float = any(c in literal for c in ".eE")
            tokens.append(_Token("num", float(literal) if is_float else int(literal), i))
            i = match.end()
            continue
        if char in "\"'`":
            value, i = _read_string(text, i)
            tokens.append(_Token("str", value, i))
            continue
        if char.isalpha() or char == "_":
            word = _WORD.match(text, i)
            assert word is not None
            if word.group() in _KEYWORDS and not _continues_path(text, word.end()):
                tokens.append(_Token("kw", _KEYWORDS[word.group()], i))
                i = word.end()
                continue
            rest = word.end()
            while rest < n and text[rest] == " ":
                rest += 1
            if rest < n and text[rest] == "(":
                tokens.append(_Token("func", word.group(), i))
                i = word.end()
                continue
            match = _BARE_PATH.match(text, i)
            assert match is not None
            try:
                reference = parse_reference(match.group())
            except ReferenceSyntaxError as exc:
                raise ConditionSyntaxError(f"{exc} (at column {i + 1})") from exc
            tokens.append(_Token("ref", reference, i))
            i = match.end()
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(_Token("op", op, i))
                i += len(op)
                break
        else:
            if char == "=":
                raise ConditionSyntaxError(f"unexpected '=' at column {i + 1} (use '==' to compare)")
            raise ConditionSyntaxError(f"unexpected character {char!r} at column {i + 1}")
    tokens.append(_Token("end", None, n))
    return tokens


def _continues_path(text: str, pos: int) -> bool:
    return pos < len(text) and text[pos] in ".[:-"


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return "".join(out), i + 1
        if char == "\\" and quote != "`" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
            i += 2
            continue
        out.append(char)
        i += 1
    raise ConditionSyntaxError(f"unterminated string starting at column {start + 1}")


# --- AST ------------------------------------------------------------------------


class _Expr(ABC):
    """A node; ``depth`` is the height of its subtree (evaluation recurses that deep)."""

    __slots__ = ()
    depth: int

    @abstractmethod
    def eval(self, scope: Mapping[str, Any]) -> Any:
        """Implemented by each node kind."""

    def references(self) -> Iterator[Reference]:
        return iter(())


class _Literal(_Expr):
    __slots__ = ("depth", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.depth = 1

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return self.value


class _RefExpr(_Expr):
    __slots__ = ("depth", "reference")

    def __init__(self, reference: Reference) -> None:
        self.reference = reference
        self.depth = 1

    def eval(self, scope: Mapping[str, Any]) -> Any:
        value = self.reference.resolve(scope)
        return None if value is MISSING else value

    def references(self) -> Iterator[Reference]:
        yield self.reference


class _Unary(_Expr):
    __slots__ = ("depth", "op", "operand")

    def __init__(self, op: str, operand: _Expr) -> None:
        self.op = op
        self.operand = operand
        self.depth = operand.depth + 1

    def eval(self, scope: Mapping[str, Any]) -> Any:
        value = self.operand.eval(scope)
        if self.op == "!":
            return not _truth(value)
        if not _is_number(value):
            raise ConditionError(f"cannot negate {_describe(value)}")
        return -value

    def references(self) -> Iterator[Reference]:
        return self.operand.references()


class _Logical(_Expr):
    __slots__ = ("depth", "left", "op", "right")

    def __init__(self, op: str, left: _Expr, right: _Expr) -> None:
        self.op = op
        self.left = left
        self.right = right
        self.depth = max(left.depth, right.depth) + 1

    def eval(self, scope: Mapping[str, Any]) -> Any:
        left = _truth(self.left.eval(scope))
        if self.op == "&&":
            return left and _truth(self.right.eval(scope))
        return left or _truth(self.right.eval(scope))

    def references(self) -> Iterator[Reference]:
        yield from self.left.references()
        yield from self.right.references()


class _Binary(_Expr):
    __slots__ = ("depth", "function", "left", "op", "right")

    def __init__(self, op: str, left: _Expr, right: _Expr) -> None:
        self.op = op
        self.left = left
        self.right = right
        self.function = _BINARY[op]
        self.depth = max(left.depth, right.depth) + 1

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return self.function(self.left.eval(scope), self.right.eval(scope))

    def references(self) -> Iterator[Reference]:
        yield from self.left.references()
        yield from self.right.references()


class _Call(_Expr):
    __slots__ = ("args", "depth", "function")

    def __init__(self, function: Callable[..., Any], args: tuple[_Expr, ...]) -> None:
        self.function = function
        self.args = args
        self.depth = max((arg.depth for arg in args), default=0) + 1

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return self.function(*(arg.eval(scope) for arg in self.args))

    def references(self) -> Iterator[Reference]:
        for arg in self.args:
            yield from arg.references()


# --- semantics ------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    # bool is an int subclass in Python but not a number in Go.
    return type(value) is int or type(value) is float


def _truth(value: Any) -> bool:
    if value is True or value is False:
        return value
    if value is None:
        return False
    if _is_number(value):
        return bool(value != 0)
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) > 0
    return True


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {stringify(value)}"
    if _is_number(value):
        return f"number {stringify(value)}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if type(a) is bool or type(b) is bool:
        return a is b
    if a is None or b is None:
        return a is b
    if isinstance(a, str) != isinstance(b, str):
        return False
    return bool(a == b)


def _ordered(op: str, compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def function(a: Any, b: Any) -> bool:
        if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
            return compare(a, b)
        raise ConditionError(f"cannot compare {_describe(a)} {op} {_describe(b)}")

    return function


def _add(a: Any, b: Any) -> Any:
    if _is_number(a) and _is_number(b):
        return a + b
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    raise ConditionError(f"cannot add {_describe(a)} and {_describe(b)}")


def _arithmetic(op: str, compute: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def function(a: Any, b: Any) -> Any:
        if not (_is_number(a) and _is_number(b)):
            raise ConditionError(f"cannot compute {_describe(a)} {op} {_describe(b)}")
        return compute(a, b)

    return function


def _divide(a: Any, b: Any) -> Any:
    if b == 0:
        raise ConditionError("division by zero")
    if type(a) is int and type(b) is int and a % b == 0:
        return a // b
    return a / b


def _modulo(a: Any, b: Any) -> Any:
    if b == 0:
        raise ConditionError("division by zero")
    # Go's % truncates towards zero (math.fmod), unlike Python's floor modulo.
    result = math.fmod(a, b)
    return int(result) if type(a) is int and type(b) is int else result


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _ordered("<", lambda a, b: a < b),
    ">": _ordered(">", lambda a, b: a > b),
    "<=": _ordered("<=", lambda a, b: a <= b),
    ">=": _ordered(">=", lambda a, b: a >= b),
    "+": _add,
    "-": _arithmetic("-", lambda a, b: a - b),
    "*": _arithmetic("*", lambda a, b: a * b),
    "/": _arithmetic("/", _divide),
    "%": _arithmetic("%", _modulo),
}

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "concat": lambda *args: "".join(stringify(arg) for arg in args),
}

#: Conditions are short expressions; these bounds are far above any real one.
MAX_CONDITION_LENGTH = 10_000
MAX_CONDITION_DEPTH = 100


def _too_deep(token: _Token) -> ConditionSyntaxError:
    return ConditionSyntaxError(
        f"the condition nests deeper than {MAX_CONDITION_DEPTH} levels of parentheses and operators "
        f"(at column {token.pos + 1})"
    )


# Binding powers, Go's precedence table.
_INFIX: dict[str, int] = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 3,
    ">": 3,
    "<=": 3,
    ">=": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
}
_PREFIX_POWER = 6


# --- parser ---------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.level = 0  # nesting of expression() calls: parentheses, unary operators, arguments

    def bounded(self, expr: _Expr, token: _Token) -> _Expr:
        """``expr``, unless evaluating it would recurse deeper than the limit."""
        if expr.depth > MAX_CONDITION_DEPTH:
            raise _too_deep(token)
        return expr

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def next(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, op: str) -> None:
        token = self.next()
        if token.kind != "op" or token.value != op:
            raise ConditionSyntaxError(f"expected {op!r} at column {token.pos + 1}, got {self._show(token)}")

    def _show(self, token: _Token) -> str:
        return "end of condition" if token.kind == "end" else repr(self.text[token.pos : token.pos + 10])

    def parse(self) -> _Expr:
        expr = self.expression(0)
        token = self.peek()
        if token.kind != "end":
            raise ConditionSyntaxError(f"unexpected {self._show(token)} at column {token.pos + 1}")
        return expr

    def expression(self, min_power: int) -> _Expr:
        self.level += 1
        if self.level > MAX_CONDITION_DEPTH:
            raise _too_deep(self.peek())
        try:
            left = self.prefix()
            while True:
                token = self.peek()
                power = _INFIX.get(token.value) if token.kind == "op" else None
                if power is None or power <= min_power:
                    return left
                self.next()
                right = self.expression(power)  # left-associative
                if token.value in ("&&", "||"):
                    left = self.bounded(_Logical(token.value, left, right), token)
                else:
                    left = self.bounded(_Binary(token.value, left, right), token)
        finally:
            self.level -= 1

    def prefix(self) -> _Expr:
        token = self.next()
        if token.kind in ("num", "str", "kw"):
            return _Literal(token.value)
        if token.kind == "ref":
            return _RefExpr(token.value)
        if token.kind == "func":
            function = _FUNCTIONS.get(token.value)
            if function is None:
                raise ConditionSyntaxError(
                    f"unknown function {token.value!r} at column {token.pos + 1} (known: {', '.join(_FUNCTIONS)})"
                )
            self.expect("(")
            args: list[_Expr] = []
            if not (self.peek().kind == "op" and self.peek().value == ")"):
                args.append(self.expression(0))
                while self.peek().kind == "op" and self.peek().value == ",":
                    self.next()
                    args.append(self.expression(0))
            self.expect(")")
            return self.bounded(_Call(function, tuple(args)), token)
        if token.kind == "op":
            if token.value == "(":
                inner = self.expression(0)
                self.expect(")")
                return inner
            if token.value in ("!", "-"):
                return self.bounded(_Unary(token.value, self.expression(_PREFIX_POWER)), token)
            if token.value == "+":
                return self.expression(_PREFIX_POWER)
        raise ConditionSyntaxError(f"unexpected {self._show(token)} at column {token.pos + 1}")


@dataclass(frozen=True, eq=False)
class Condition:
    """A parsed condition. :meth:`evaluate` returns a bool or raises ConditionError."""

    text: str
    _expr: _Expr

    def evaluate(self, scope: Mapping[str, Any]) -> bool:
        try:
            return _truth(self._expr.eval(scope))
        except ConditionError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise ConditionError(str(exc) or type(exc).__name__) from exc

    def references(self) -> Iterator[Reference]:
        return self._expr.references()


def parse_condition(text: str | bool) -> Condition:
    """Compile a condition. YAML ``condition: true`` (a bool) is accepted as a constant.

    A condition longer than :data:`MAX_CONDITION_LENGTH` characters, or nesting
    parentheses, operators and function calls deeper than :data:`MAX_CONDITION_DEPTH`
    levels, is a :class:`ConditionSyntaxError`: the parser and the evaluator recurse
    per level, and a bound here is what keeps both clear of Python's recursion limit.
    """
    if isinstance(text, bool):
        return Condition(stringify(text), _Literal(text))
    if not text.strip():
        raise ConditionSyntaxError("the condition is empty")
    if len(text) > MAX_CONDITION_LENGTH:
        raise ConditionSyntaxError(
            f"the condition is {len(text)} characters long, over the limit of {MAX_CONDITION_LENGTH}"
        )
    return Condition(text, _Parser(text).parse())
