"""The SQL text a ``sql`` recipe may write, read into SQLAlchemy objects.

Instill's ``sql`` component takes two inputs that are SQL text: ``filter`` (the
condition after ``WHERE``) and the column types of ``columns-structure``
(``{"name": "VARCHAR(255)", "age": "INT not null"}``). Instill pastes them into its
statements. Here they are read by a small parser that knows only what such text needs,
and the statement is built from what it read:

- a filter becomes a SQLAlchemy expression: names are columns (quoted by the dialect
  when they need it), every literal (string, number) is a bound parameter, and only
  comparisons (``= == != <> < <= > >=``), ``[NOT] LIKE``/``ILIKE``, ``[NOT] IN (...)``,
  ``[NOT] BETWEEN ... AND ...``, ``IS [NOT] NULL``, ``AND``/``OR``/``NOT``, parentheses,
  arithmetic (``+ - * / %``) and a few functions (:data:`FUNCTIONS`) are understood. A
  leading ``WHERE`` is allowed (Instill's description says the filter starts with one).
  Anything else — a semicolon, a comment, a sub-query, an unknown function — is refused
  with the position it was found at;
- a column type is words (``INT``, ``NOT NULL``, ``PRIMARY KEY``, ``AUTO_INCREMENT``),
  parenthesised arguments (``VARCHAR(255)``, ``DECIMAL(10, 2)``, ``ENUM('a', 'b')``) and
  ``DEFAULT`` with one value; its string literals are written out by the dialect's own
  escaping (DDL has no bound parameters).

Names (tables, columns) are checked by :func:`identifier`: a plain name
(``[A-Za-z_][A-Za-z0-9_$]*``) is written as it is, so the database folds its case as it
would for Instill's statements; any other name is quoted by the dialect, quotes
doubled. Dialect-neutral: the caller compiles for PostgreSQL, MySQL/MariaDB or SQLite.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pipelines.engine.components import ComponentError

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect
    from sqlalchemy.sql.elements import ColumnElement

__all__ = ["FUNCTIONS", "MAX_FILTER_LENGTH", "column_type", "identifier", "parse_filter", "plain_name"]

MAX_FILTER_LENGTH = 10_000
MAX_DEPTH = 50
MAX_NAME_LENGTH = 64  # MySQL's limit; PostgreSQL's is 63 bytes (it truncates, with a notice)
#: Functions a filter may call (lower-cased name → how many arguments: (min, max)).
FUNCTIONS = {
    "lower": (1, 1),
    "upper": (1, 1),
    "length": (1, 1),
    "char_length": (1, 1),
    "trim": (1, 1),
    "abs": (1, 1),
    "round": (1, 2),
    "coalesce": (1, 16),
}
_KEYWORDS = frozenset(
    {"and", "or", "not", "in", "like", "ilike", "between", "is", "null", "true", "false", "where"}
    | {"current_timestamp", "current_date", "current_time"}
)
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>--|/\*|\#)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<dquoted>"(?:[^"]|"")*")
  | (?P<backquoted>`(?:[^`]|``)*`)
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<op><=|>=|<>|!=|==|[=<>(),+\-*/%])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, word, op, end
    text: str
    value: Any
    at: int


def _problem(field: str, text: str, at: int, message: str) -> ComponentError:
    shown = text[max(0, at - 20) : at + 20]
    return ComponentError(f"{field}: {message} at position {at + 1} (near {shown!r})")


def _tokens(text: str, field: str, *, double_quotes_are_strings: bool) -> list[_Token]:
    tokens: list[_Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise _problem(field, text, at, f"{text[at]!r} is not allowed")
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "comment":
            raise _problem(field, text, at, "comments are not allowed")
        if kind == "number":
            value: Any = Decimal(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(_Token("number", raw, value, at))
        elif kind == "string" or (kind == "dquoted" and double_quotes_are_strings):
            tokens.append(_Token("string", raw, raw[1:-1].replace(raw[0] * 2, raw[0]), at))
        elif kind in ("dquoted", "backquoted"):
            tokens.append(_Token("name", raw, raw[1:-1].replace(raw[0] * 2, raw[0]), at))
        elif kind == "word":
            lowered = raw.lower()
            tokens.append(_Token("word" if lowered in _KEYWORDS else "name", raw, lowered, at))
        elif kind == "op":
            tokens.append(_Token("op", raw, raw, at))
        at = match.end()
    tokens.append(_Token("end", "", None, len(text)))
    return tokens


def plain_name(name: str) -> bool:
    return bool(_PLAIN.match(name))


def identifier(name: Any, field: str) -> str:
    """``name`` if it can name a table or column; a :class:`ComponentError` naming
    ``field`` otherwise (empty, too long, control characters)."""
    if not isinstance(name, str) or not name.strip():
        raise ComponentError(f"{field} must be a non-empty name")
    if name != name.strip():
        raise ComponentError(f"{field}: {name!r} has leading or trailing spaces")
    if len(name) > MAX_NAME_LENGTH:
        raise ComponentError(f"{field}: {name[:20]!r}... is longer than {MAX_NAME_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ComponentError(f"{field}: {name!r} has control characters")
    return name


# --- filters --------------------------------------------------------------------------


class _FilterParser:
    """Recursive descent over the tokens of one filter, building SQLAlchemy objects."""

    def __init__(self, text: str, field: str, column: Callable[[str], Any], double_quotes_are_strings: bool) -> None:
        import sqlalchemy

        self.sa = sqlalchemy
        self.text = text
        self.field = field
        self.column = column
        self.tokens = _tokens(text, field, double_quotes_are_strings=double_quotes_are_strings)
        self.position = 0
        self.depth = 0

    # token helpers
    @property
    def token(self) -> _Token:
        return self.tokens[self.position]

    def fail(self, message: str, token: _Token | None = None) -> ComponentError:
        token = token or self.token
        return _problem(self.field, self.text, token.at, message)

    def accept_word(self, *words: str) -> bool:
        if self.token.kind == "word" and self.token.value in words:
            self.position += 1
            return True
        return False

    def accept_op(self, *ops: str) -> str | None:
        if self.token.kind == "op" and self.token.value in ops:
            self.position += 1
            return str(self.token_before.value)
        return None

    @property
    def token_before(self) -> _Token:
        return self.tokens[self.position - 1]

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            raise self.fail(f"expected {op!r}, found {self.token.text or 'the end'!r}")

    def bound(self, value: Any) -> ColumnElement[Any]:
        from sqlalchemy.types import NullType

        # NullType: the driver sends the value untyped, so '2024-01-01' goes into a DATE
        # column and 30 into a NUMERIC one, as with Instill's drivers.
        return self.sa.bindparam(None, value, type_=NullType(), unique=True)

    # grammar
    def parse(self) -> ColumnElement[Any]:
        self.accept_word("where")
        if self.token.kind == "end":
            raise self.fail("the condition is empty")
        expression = self.disjunction()
        if self.token.kind != "end":
            raise self.fail(f"unexpected {self.token.text!r}")
        return expression

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"more than {MAX_DEPTH} levels of nesting")

    def disjunction(self) -> ColumnElement[Any]:
        self.nested()
        parts = [self.conjunction()]
        while self.accept_word("or"):
            parts.append(self.conjunction())
        self.depth -= 1
        return parts[0] if len(parts) == 1 else self.sa.or_(*parts)

    def conjunction(self) -> ColumnElement[Any]:
        parts = [self.negation()]
        while self.accept_word("and"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else self.sa.and_(*parts)

    def negation(self) -> ColumnElement[Any]:
        if self.accept_word("not"):
            self.nested()
            inner = self.negation()
            self.depth -= 1
            return self.sa.not_(inner)
        return self.comparison()

    def comparison(self) -> ColumnElement[Any]:
        left = self.additive()
        op = self.accept_op("=", "==", "!=", "<>", "<", "<=", ">", ">=")
        if op:
            right = self.additive()
            return {
                "=": left == right,
                "==": left == right,
                "!=": left != right,
                "<>": left != right,
                "<": left < right,
                "<=": left <= right,
                ">": left > right,
                ">=": left >= right,
            }[op]
        if self.accept_word("is"):
            negated = self.accept_word("not")
            if self.accept_word("null"):
                return left.is_not(self.sa.null()) if negated else left.is_(self.sa.null())
            if self.accept_word("true", "false"):
                value = self.sa.true() if self.token_before.value == "true" else self.sa.false()
                return left.is_not(value) if negated else left.is_(value)
            raise self.fail("IS must be followed by [NOT] NULL, TRUE or FALSE")
        negated = self.accept_word("not")
        if self.accept_word("in"):
            self.expect_op("(")
            items = [self.additive()]
            while self.accept_op(","):
                items.append(self.additive())
            self.expect_op(")")
            return left.not_in(items) if negated else left.in_(items)
        if self.accept_word("like", "ilike"):
            kind = self.token_before.value
            pattern = self.additive()
            if kind == "like":
                return left.not_like(pattern) if negated else left.like(pattern)
            return left.not_ilike(pattern) if negated else left.ilike(pattern)
        if self.accept_word("between"):
            low = self.additive()
            if not self.accept_word("and"):
                raise self.fail("BETWEEN needs AND")
            high = self.additive()
            between = left.between(low, high)
            return self.sa.not_(between) if negated else between
        if negated:
            raise self.fail("NOT here must be followed by IN, LIKE, ILIKE or BETWEEN")
        return left

    def additive(self) -> ColumnElement[Any]:
        # Each operator of a chain nests the expression one level deeper (a - b - c is
        # (a - b) - c), as deep as SQLAlchemy's compiler and the database recurse.
        depth = self.depth
        left = self.multiplicative()
        while op := self.accept_op("+", "-"):
            self.nested()
            right = self.multiplicative()
            left = left + right if op == "+" else left - right
        self.depth = depth
        return left

    def multiplicative(self) -> ColumnElement[Any]:
        depth = self.depth
        left = self.unary()
        while op := self.accept_op("*", "/", "%"):
            self.nested()
            right = self.unary()
            left = left * right if op == "*" else left / right if op == "/" else left % right
        self.depth = depth
        return left

    def unary(self) -> ColumnElement[Any]:
        if self.accept_op("-"):
            if self.token.kind == "number":
                self.position += 1
                return self.bound(-self.token_before.value)
            self.nested()
            inner = self.unary()
            self.depth -= 1
            return -inner
        return self.primary()

    def primary(self) -> ColumnElement[Any]:
        token = self.token
        self.position += 1
        if token.kind in ("number", "string"):
            return self.bound(token.value)
        if token.kind == "word":
            if token.value == "null":
                return self.sa.null()
            if token.value in ("true", "false"):
                return self.bound(token.value == "true")
            if token.value in ("current_timestamp", "current_date", "current_time"):
                return getattr(self.sa.func, token.value)()  # type: ignore[no-any-return]
        if token.kind == "name":
            if self.token.kind == "op" and self.token.value == "(":
                return self.call(token)
            if self.token.kind == "op" and self.token.text == ".":
                raise self.fail("qualified names (table.column) are not allowed")
            return self.column(identifier(token.value, self.field))  # type: ignore[no-any-return]
        if token.kind == "op" and token.value == "(":
            inner = self.disjunction()
            self.expect_op(")")
            return inner.self_group()
        if token.kind == "end":
            raise self.fail("the condition ends too early", token)
        raise self.fail(f"unexpected {token.text!r}", token)

    def call(self, name: _Token) -> ColumnElement[Any]:
        function = str(name.value).lower()
        if function not in FUNCTIONS:
            raise self.fail(f"the function {name.text}() is not allowed (allowed: {', '.join(FUNCTIONS)})", name)
        self.expect_op("(")
        self.nested()
        args = [self.additive()]
        while self.accept_op(","):
            args.append(self.additive())
        self.depth -= 1
        self.expect_op(")")
        low, high = FUNCTIONS[function]
        if not low <= len(args) <= high:
            raise self.fail(f"{function}() takes {low}..{high} arguments, not {len(args)}", name)
        return getattr(self.sa.func, function)(*args)  # type: ignore[no-any-return]


def parse_filter(
    text: str, field: str, column: Callable[[str], Any], *, double_quotes_are_strings: bool = False
) -> ColumnElement[Any]:
    """The condition ``text`` as a SQLAlchemy expression (``column(name)`` makes each
    column); a :class:`ComponentError` naming ``field`` and the position otherwise.
    ``double_quotes_are_strings``: MySQL's reading of ``"x"``, an identifier elsewhere."""
    if len(text) > MAX_FILTER_LENGTH:
        raise ComponentError(f"{field} is longer than {MAX_FILTER_LENGTH} characters")
    return _FilterParser(text, field, column, double_quotes_are_strings).parse()


# --- column types (CREATE TABLE) ------------------------------------------------------


def column_type(text: Any, field: str, dialect: Dialect) -> str:
    """The column definition ``text`` (after the name: ``VARCHAR(255) NOT NULL``) as
    this dialect should read it; a :class:`ComponentError` naming ``field`` when it is
    more than words, parenthesised literal arguments and ``DEFAULT <value>``."""
    if not isinstance(text, str) or not text.strip():
        raise ComponentError(f"{field} must be a column type such as VARCHAR(255) or INT NOT NULL")
    if len(text) > 1000:
        raise ComponentError(f"{field} is longer than 1000 characters")
    double_quotes = dialect.name == "mysql"
    tokens = _tokens(text, field, double_quotes_are_strings=double_quotes)
    out: list[str] = []
    i = 0

    def literal(token: _Token, negative: bool = False) -> str:
        import sqlalchemy

        if token.kind == "number":
            return ("-" if negative else "") + token.text
        if token.kind == "string" and not negative:
            rendered = sqlalchemy.literal(token.value, sqlalchemy.String()).compile(
                dialect=dialect, compile_kwargs={"literal_binds": True}
            )
            return str(rendered)
        raise _problem(field, text, token.at, "expected a number or a quoted string")

    if tokens[0].kind not in ("name", "word"):
        raise _problem(field, text, 0, "a column type starts with a type name")
    while tokens[i].kind != "end":
        token = tokens[i]
        if token.kind in ("name", "word") and token.text.lower() == "default":
            i += 1
            negative = tokens[i].kind == "op" and tokens[i].value == "-"
            i += negative
            value = tokens[i]
            if value.kind in ("name", "word") and not negative and plain_name(value.text):
                out.append(f"DEFAULT {value.text}")
            else:
                out.append(f"DEFAULT {literal(value, negative)}")
            i += 1
        elif token.kind in ("name", "word"):
            if not plain_name(token.text):
                raise _problem(field, text, token.at, f"{token.text!r} is not a type word")
            out.append(token.text)
            i += 1
        elif token.kind == "op" and token.value == "(" and out:
            args: list[str] = []
            i += 1
            while True:
                negative = tokens[i].kind == "op" and tokens[i].value == "-"
                i += negative
                args.append(literal(tokens[i], negative))
                i += 1
                if tokens[i].kind == "op" and tokens[i].value == ",":
                    i += 1
                    continue
                if tokens[i].kind == "op" and tokens[i].value == ")":
                    i += 1
                    break
                raise _problem(field, text, tokens[i].at, "expected ',' or ')'")
            out[-1] += "(" + ", ".join(args) + ")"
        else:
            raise _problem(field, text, token.at, f"{token.text!r} is not allowed in a column type")
    return " ".join(out)
