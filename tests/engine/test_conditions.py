"""Condition expressions: parsing, precedence, Go-like semantics, errors."""

from __future__ import annotations

import pytest

from pipelines.engine.conditions import ConditionError, ConditionSyntaxError, parse_condition

SCOPE = {
    "variable": {"mode": "long", "n": 3, "f": 3.0, "flag": True, "empty": "", "xs": [1, 2]},
    "op-0": {"output": {"count": 10, "label": "cat"}},
}


def holds(text: str) -> bool:
    return parse_condition(text).evaluate(SCOPE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('${variable.mode} == "long"', True),
        ("${variable.mode} == 'short'", False),
        ("${variable.mode} != 'short'", True),
        ("${variable.n} == 3", True),
        ("${variable.n} == ${variable.f}", True),  # int vs float compare numerically
        ("${variable.n} < 4 && ${variable.n} >= 3", True),
        ("${variable.n} > 3 || ${variable.flag}", True),
        ("!${variable.flag}", False),
        ("!(${variable.n} == 3)", False),
        ("1 + 2 * 3 == 7", True),  # * binds tighter than +
        ("(1 + 2) * 3 == 9", True),
        ("10 - 4 - 3 == 3", True),  # left-associative
        ("7 % 3 == 1", True),
        ("-7 % 3 == -1", True),  # Go truncated modulo
        ("7 / 2 == 3.5", True),
        ("6 / 2 == 3", True),
        ("-${variable.n} == -3", True),
        ("true && !false", True),
        ("false || 1 == 1 && 2 == 3", False),  # && binds tighter than ||
        ("${op-0.output.count} >= 10", True),
        ('op-0.output.label == "cat"', True),  # bare reference
        ("variable.mode == 'long' && variable.n == 3", True),
        ('"a" < "b"', True),
        ('concat("a", 1, true) == "a1true"', True),
        ("${variable.missing} == null", True),  # unresolved is null
        ('${variable.missing} == "x"', False),
        ('${variable.n} == "3"', False),  # incompatible types are never equal
        ('${variable.n} != "3"', True),
        ("${variable.empty}", False),  # truthiness fallback
        ("${variable.xs}", True),
        ("1e3 == 1000", True),
    ],
)
def test_expressions(text: str, expected: bool) -> None:
    """Operators follow Go's precedence and comparison rules."""
    assert holds(text) is expected


def test_short_circuit_skips_the_right_operand() -> None:
    """&& and || do not evaluate the right side when the left decides."""
    assert holds('false && ("a" < 1)') is False
    assert holds('true || ("a" < 1)') is True


@pytest.mark.parametrize("text", ['"a" < 1', "${variable.mode} > 2", "1 / 0", '-"x"', '"a" - "b"', "5 % 0"])
def test_evaluation_errors(text: str) -> None:
    """Ordering incompatible types, dividing by zero or negating strings raise ConditionError."""
    with pytest.raises(ConditionError):
        holds(text)


@pytest.mark.parametrize(
    "text", ["", "1 +", "(1 == 1", "1 == 1)", "a = 1", '"open', "${variable.x", "1 ==  == 2", "nope(1)", "#"]
)
def test_syntax_errors(text: str) -> None:
    """Malformed conditions raise ConditionSyntaxError at parse time."""
    with pytest.raises(ConditionSyntaxError):
        parse_condition(text)


def test_references_are_collected_for_the_graph() -> None:
    """A condition lists its references so the executor waits for them."""
    condition = parse_condition('${a.output.x} == 1 && b.status.completed && "${c}" == "x"')
    assert [r.root for r in condition.references()] == ["a", "b"]


def test_boolean_literal_condition() -> None:
    """YAML `condition: false` is accepted as a constant."""
    assert parse_condition(False).evaluate({}) is False
