"""Limits at the door, in the engine: recipe size after YAML alias expansion, nesting,
valid Unicode, condition complexity, and the JSON reader every body goes through."""

from __future__ import annotations

import tracemalloc

import pytest

from pipelines.engine import RecipeInvalid, RecipeLimits, Registry, parse_recipe, validate_recipe
from pipelines.engine.conditions import ConditionSyntaxError, parse_condition
from pipelines.engine.limits import InputLimitError, heal, loads_json, loads_stored


def alias_bomb(levels: int) -> str:
    """The "billion laughs" in YAML: each level a list of nine aliases of the one before."""
    names = "abcdefghijklmnop"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        alias = f"*{names[i - 1]}"
        lines.append(f"{names[i]}: &{names[i]} [{','.join([alias] * 9)}]")
    return "\n".join(lines) + "\n"


def only_problem(source, registry: Registry, limits: RecipeLimits | None = None):
    problems = validate_recipe(source, registry=registry, limits=limits)
    assert len(problems) == 1, problems
    return problems[0]


def test_yaml_alias_bomb_is_refused_before_it_expands(registry: Registry) -> None:
    """A few hundred bytes of nested YAML aliases (megabytes once expanded) are refused
    naming PIPELINE_MAX_RECIPE_BYTES, without the expansion ever being built."""
    bomb = alias_bomb(6)  # 9**6 "lol"s: about 3.7 MB as JSON
    assert len(bomb) < 400
    tracemalloc.start()
    try:
        problem = only_problem(bomb, registry)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problem.location == "recipe"
    assert "PIPELINE_MAX_RECIPE_BYTES" in problem.error and "alias" in problem.error
    assert peak < 5 * 1024 * 1024


def test_full_size_alias_bomb_answers_at_once(registry: Registry) -> None:
    """The issue's bomb (nine levels, 387 million strings once expanded) is one problem."""
    with pytest.raises(RecipeInvalid) as caught:
        parse_recipe(alias_bomb(9), registry=registry)
    assert "PIPELINE_MAX_RECIPE_BYTES" in str(caught.value)


def test_aliases_within_the_limit_still_work(registry: Registry) -> None:
    """Anchors and aliases (and merge keys) are fine while the expansion is small."""
    recipe = parse_recipe(
        """
variable:
  text: &text {type: string, title: Text}
  other: *text
component:
  up: &up {type: text, task: TASK_UPPER, input: {text: "${variable.text}"}}
  up2:
    <<: *up
    input: {text: "${variable.other}"}
output:
  a: {value: "${up.output.text}"}
""",
        registry=registry,
    )
    assert set(recipe.components) == {"up", "up2"}


def test_recursive_alias_is_refused(registry: Registry) -> None:
    """An alias inside its own anchor (an infinite recipe) is a problem, not a RecursionError."""
    problem = only_problem("variable: &v {x: *v}\n", registry)
    assert "alias" in problem.error


def test_recipe_text_over_the_byte_limit(registry: Registry) -> None:
    """A recipe longer than max_bytes is refused before it is parsed, naming the limit."""
    text = "version: v1beta\ndescription: " + "x" * 2000 + "\n"
    problem = only_problem(text, registry, RecipeLimits(max_bytes=1000))
    assert "PIPELINE_MAX_RECIPE_BYTES" in problem.error and "1000" in problem.error


def test_json_recipe_over_the_byte_limit(registry: Registry) -> None:
    """A recipe given as JSON is measured as JSON against the same limit."""
    problem = only_problem({"version": "v1beta", "x": ["y" * 100] * 20}, registry, RecipeLimits(max_bytes=1000))
    assert "PIPELINE_MAX_RECIPE_BYTES" in problem.error


@pytest.mark.parametrize("as_yaml", [True, False])
def test_deeply_nested_recipe_is_refused(registry: Registry, as_yaml: bool) -> None:
    """Nesting beyond max_depth (YAML or JSON) is a problem naming PIPELINE_MAX_JSON_DEPTH."""
    deep: object = "leaf"
    for _ in range(5000):
        deep = [deep]
    source = "x: " + "[" * 150 + "]" * 150 + "\n" if as_yaml else {"x": deep}
    problem = only_problem(source, registry)
    assert "PIPELINE_MAX_JSON_DEPTH" in problem.error


def test_lone_surrogate_in_json_recipe_names_its_place(registry: Registry) -> None:
    """A JSON recipe holding a lone surrogate is refused at the field that holds it."""
    source = {"component": {"up": {"type": "text", "task": "TASK_UPPER", "input": {"text": "a\ud800"}}}}
    problem = only_problem(source, registry)
    assert problem.location == "component.up.input.text"
    assert "Unicode" in problem.error


def test_lone_surrogate_in_yaml_text(registry: Registry) -> None:
    """YAML text holding a lone surrogate (or the escape for one) is a problem, not a crash."""
    assert "Unicode" in only_problem("description: 'x\ud800'\n", registry).error
    assert only_problem('description: "\\ud800"\n', registry).location == "recipe"


# --- conditions -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "(" * 3000 + "true" + ")" * 3000,
        "!" * 5000 + "true",
        "*".join(["2"] * 4000) + " > 1",
        "-" * 200 + "1 > 0",
        "concat(" * 200 + '"a"' + ")" * 200 + ' == "a"',
    ],
    ids=["parentheses", "not", "product", "negation", "calls"],
)
def test_condition_nesting_is_bounded(text: str) -> None:
    """Conditions nesting deeper than 100 levels are a syntax error naming the limit
    (they used to raise RecursionError when parsed or evaluated)."""
    with pytest.raises(ConditionSyntaxError, match="deeper than 100 levels"):
        parse_condition(text)


def test_condition_length_is_bounded() -> None:
    """100,000 ``!`` (or 5,000 chained ``*``) is refused by its length before it is tokenised."""
    with pytest.raises(ConditionSyntaxError, match="over the limit of 10000"):
        parse_condition("!" * 100_000 + "true")
    with pytest.raises(ConditionSyntaxError, match="over the limit of 10000"):
        parse_condition(" * ".join(["${variable.n}"] * 5000) + " > 1")


def test_conditions_within_the_bounds_still_evaluate() -> None:
    """Long flat chains and nesting under the bound parse and evaluate as before."""
    assert parse_condition("*".join(["1"] * 99) + " == 1").evaluate({}) is True
    assert parse_condition("(" * 90 + "1 + 1" + ")" * 90 + " == 2").evaluate({}) is True
    assert parse_condition("!" * 98 + "false").evaluate({}) is False
    assert parse_condition(" || ".join(["false"] * 60) + " || true").evaluate({}) is True


def test_recipe_condition_over_the_bound_is_a_problem_at_the_condition(registry: Registry) -> None:
    """A recipe whose condition nests too deep reports ``component.<id>.condition``."""
    recipe = {
        "component": {
            "up": {
                "type": "text",
                "task": "TASK_UPPER",
                "input": {"text": "x"},
                "condition": "(" * 3000 + "true" + ")" * 3000,
            }
        }
    }
    problem = only_problem(recipe, registry)
    assert problem.location == "component.up.condition"
    assert "deeper than 100 levels" in problem.error


# --- the JSON reader ------------------------------------------------------------


def test_loads_json_bounds_depth() -> None:
    """Nesting over max_depth (and orjson's own 1,024) is an InputLimitError naming the setting."""
    assert loads_json(b"[" * 100 + b"]" * 100) is not None
    for depth in (101, 100_000):
        with pytest.raises(InputLimitError, match="PIPELINE_MAX_JSON_DEPTH"):
            loads_json(b"[" * depth + b"]" * depth)


def test_loads_json_refuses_huge_numbers() -> None:
    """A 5,000-digit integer is refused (Python's int-string limit used to raise a bare
    ValueError); integers beyond 64 bits become doubles, as in a protobuf Struct."""
    with pytest.raises(InputLimitError, match="too large"):
        loads_json(b'{"n": ' + b"9" * 5000 + b"}")
    assert loads_json(b'{"n": 123456789012345678901234567890}') == {"n": 1.2345678901234568e29}


def test_loads_json_names_the_field_with_a_lone_surrogate() -> None:
    """A lone surrogate, escaped or as raw bytes, is refused naming the field."""
    with pytest.raises(InputLimitError) as caught:
        loads_json(b'{"data": [{"variable": {"prompt": "\\ud800"}}]}')
    assert caught.value.field == "data[0].variable.prompt"
    assert "data[0].variable.prompt" in caught.value.message
    with pytest.raises(InputLimitError) as caught:
        loads_json(b'{"data": [{"variable": {"p": "\xed\xa0\x80"}}]}')
    assert caught.value.field == "data[0].variable.p"
    with pytest.raises(InputLimitError, match="not valid UTF-8"):
        loads_json(b'{"p": "\xff"}')
    assert loads_json('{"e": "\\ud83d\\ude00"}') == {"e": "\U0001f600"}


def test_malformed_json_is_a_plain_value_error() -> None:
    with pytest.raises(ValueError, match="malformed JSON in the request body") as caught:
        loads_json(b'{"a" 1}')
    assert not isinstance(caught.value, InputLimitError)


def test_stored_lone_surrogates_heal_to_replacement_characters() -> None:
    """Values stored before the checks read back with U+FFFD in place of lone
    surrogates; valid pairs and clean values are left alone."""
    assert loads_stored('{"p": "a\\ud800b", "e": "\\ud83d\\ude00", "\\udc00k": [1]}') == {
        "p": "a\ufffdb",
        "e": "\U0001f600",
        "\ufffdk": [1],
    }
    clean = {"a": ["b", 1]}
    assert heal(clean) is clean
