"""Which jq filters run inline (on the event loop) and which in a task process.

The cost analysis (``pipelines/components/_jq_cost.py``) accepts a filter only when it
can bound its work and output by the input's size; a run then takes it inline when the
input is small enough. Everything else — recursion, unbounded generators, regular
expressions, fan-out that multiplies per stage — keeps running in a killable task
process, and a filter gives the same results and the same errors either way.
"""

from __future__ import annotations

import asyncio

import jq as _jq
import pytest

from pipelines.components import default_registry
from pipelines.components._jq_cost import MAX_PROGRAM_LENGTH, analyse, json_size_at_most
from pipelines.components.json import COMPONENT, INLINE_JQ_WORK, jq_runs_inline, run_jq
from pipelines.engine import execute, parse_recipe
from pipelines.engine.components import ComponentError, TaskContext
from pipelines.engine.processes import TaskProcesses

PROVABLE = [
    # the demos' filters (pipelines/demo.py)
    '"Hello \\(.)"',
    "{chunks: length, words: (map(.words) | add)}",
    '[.[].document] | join("\\n\\n")',
    # paths, construction, control
    ".",
    ".a.b[0]",
    '."a b"',
    ".a.[0]",
    ".[]",
    ".[]?",
    ".x.y?",
    ".[1:3]",
    "[.[] | .[] | .[]]",
    "{a: .b | .c, (.k): 1}",
    "{name, id}",
    "if .a then .b elif .c then .d else .e end",
    "if . then 1 end",
    'try error("x") catch .',
    '.a // "default"',
    ".a and .b or (.c | not)",
    ". as $x | $x.a",
    '"x" as $s | .[] | $s',
    ".[] as $x | $x.name",
    "-.a",
    '. - ["x"]',
    '"x" * 3',
    "{a: 1} * .",
    ".a = 1",
    ".a |= . + 1",
    ".a += 2",
    "del(.a.b)",
    ".[3] = 1",
    '.abc.defgh[2] |= "x"',
    ".a.b += 1",
    # builtins
    "length",
    "keys",
    'has("a")',
    "to_entries",
    'to_entries | map("\\(.key)=\\(.value)") | join("&")',
    "with_entries(.value |= tostring)",
    "map(select(.a > 1) | {name, id: .id})",
    "add",
    "any(.[]; . > 1)",
    "all",
    "[limit(3; .[])]",
    "first(.[])",
    "last",
    "sort_by(.a)",
    "group_by(.k) | map(length)",
    "unique",
    "min_by(.a)",
    "tostring",
    "tojson | fromjson",
    "tonumber",
    "ascii_downcase",
    'split(", ")',
    'ltrimstr("a") | rtrimstr("b")',
    'startswith("x")',
    'indices(", ")',
    'contains("x")',
    'getpath(["a", "b"])',
    "pow(2; 10) | floor",
    "@base64",
    '@csv "row: \\(.)"',
    '"\\u00e9\\n"',
    "# a comment\n.a",
]

UNPROVABLE = {
    # recursion and definitions
    "def f: f; f": "def",
    "recurse": "recursion",
    "..": "recursion",
    ".. | numbers": "recursion",
    "walk(.)": "recursion",
    "paths": "input size times depth",
    # generators whose length is a number, not the input's
    "range(1e9)": "unbounded generator",
    "[range(.)]": "unbounded generator",
    "repeat(1)": "unbounded generator",
    "limit(3; repeat(1))": "unbounded generator inside limit",
    "[.[] | while(true; .)]": "unbounded generator",
    "until(false; .)": "unbounded generator",
    "input": "reads more input",
    "[inputs]": "reads more input",
    "reduce .[] as $x (0; . + $x)": "reduce",
    "foreach .[] as $x (0; . + $x)": "foreach",
    "label $out | 1": "label",
    "combinations": "exponential",
    # not a function of the input
    "env": "environment",
    "$ENV.PATH": "environment",
    "$__loc__": "location",
    "now": "clock",
    # regular expressions (backtracking, quadratic global matching)
    'test("(a*)*b")': "regex",
    'match("a")': "regex",
    'capture("(?<x>a)")': "regex",
    'sub("a"; "b")': "regex",
    'gsub("a"; "b")': "regex",
    'scan("a")': "regex",
    '[splits("\\\\s+")]': "regex",
    'split("a"; "g")': "regex",
    # growth
    '"x" * 1e9': "string repetition",
    ". * .n": "string repetition",
    ".a * .b": "string repetition",
    ".[] as $x | .[]": "quadratic",
    ". as $all | .[] | [$all]": "quadratic",
    '"\\(.[]) \\(.)"': "quadratic",
    ".[] + .": "quadratic",
    ". - .": "quadratic array difference",
    "contains(.)": "quadratic",
    "join(.[0])": "quadratic",
    "split(.sep)": "quadratic",
    ".[.[]]": "quadratic",
    "transpose": "rows times the longest row",
    "flatten": "depth times size",
    " | ".join(["[.,.]"] * 10): "fan-out: 2^10 copies",
    " | ".join(["[.,.]"] * 40): "fan-out: 2^40 copies",
    "|".join(["(.,.)"] * 10): "fan-out: 2^10 outputs",
    "|".join(["(1,1)"] * 30): "fan-out: 2^30 outputs of a constant",
    # not analysed
    ". as [$a] | $a": "destructuring",
    ".[] as [$a] ?// $a | $a": "destructuring",
    'include "x"; .': "modules",
    'strftime("%c")': "dates",
    "debug": "side effect",
    "halt_error": "side effect",
    "del(.[] | select(. > 1))": "delete by a generator",
    ".[] |= 1": "assign through a generator",
    ".[1e9] = 1": "a billion nulls",
    ".a[100000] |= 1": "a hundred thousand nulls",
    ".[null] = 1": "not a path jq takes",
    ".a & .b": "not jq",
    '"unterminated': "not jq",
}


@pytest.mark.parametrize("program", PROVABLE)
def test_filters_whose_work_is_linear_in_their_input_are_accepted(program: str) -> None:
    assert analyse(program) is not None
    _jq.compile(program)  # and they are jq


@pytest.mark.parametrize(("program", "why"), list(UNPROVABLE.items()))
def test_filters_that_may_run_away_or_blow_up_are_refused(program: str, why: str) -> None:
    assert analyse(program) is None, why


_SAMPLES = [
    {"a": {"b": [1, 2, {"c": "x"}]}, "k": "z", "words": 3, "document": "d", "x": "a,b", "name": "n", "id": 7},
    [{"a": 2, "words": 3, "document": "one", "k": "p", "name": "x"}, {"a": 0, "words": 1, "document": "two", "k": "q"}],
    [[1, 2], [3], []],
    ["ab", "cd", "ab, cd"],
    "hello, world",
    3,
    None,
]


def _assert_within_bounds(program: str) -> bool:
    """Runs ``program`` on every sample; its outputs' count and JSON size (bytes of
    compact JSON, as the analysis counts) must not exceed its bounds. False when the
    analysis refuses it."""
    import json

    cost = analyse(program)
    if cost is None:
        return False
    compiled = _jq.compile(program)
    for sample in _SAMPLES:
        size = len(json.dumps(sample, separators=(",", ":"), ensure_ascii=False))
        try:
            outputs = compiled.input_value(sample).all()
        except ValueError:
            continue  # a jq error: nothing produced to bound
        written = sum(len(json.dumps(out, separators=(",", ":"), ensure_ascii=False)) for out in outputs)
        assert len(outputs) <= cost.count.get(".", 0) * size + cost.count.get("1", 0), (program, sample)
        assert written <= cost.size.get(".", 0) * size + cost.size.get("1", 0), (program, sample)
    return True


@pytest.mark.parametrize("program", PROVABLE)
def test_what_accepted_filters_produce_stays_within_their_bounds(program: str) -> None:
    """The bounds are upper bounds: on sample inputs, the outputs never exceed them."""
    assert _assert_within_bounds(program)


_PIECES = [
    ".",
    ".a",
    ".[]",
    ".[0]",
    '"s"',
    "1",
    "null",
    "length",
    "keys",
    "tostring",
    "tojson",
    "to_entries",
    "[.[]]",
    "{a: .}",
    '"x\\(.)"',
    "ascii_downcase",
    "add",
    ".a?",
    ".[]?",
    "first(.[])",
    "map(.)",
    "select(.)",
    "sort",
    "reverse",
    "@base64",
    'join(",")',
    'split(",")',
    "(.,.)",
    "[.,.]",
    ". as $v | $v",
    "if . then . else 1 end",
    ".a // 2",
    ". + .",
    ". - [1]",
    ". * 2",
    "{(tostring): .}",
    ".[1:]",
    "del(.a)",
    ".a = 1",
    ".a |= tostring",
    "try error catch .",
    "with_entries(.)",
    "group_by(.)",
    "unique_by(length)",
    'has("a")',
    "min",
    "explode",
    "any",
    "not",
    "values",
    "limit(2; .[])",
    ". as $v | .[] | $v",
    "{a: .[], b: 1}",
    "(.[] | tostring) + .",
]
_SHAPES = ["{a} | {b}", "{a}, {b}", "[{a}]", "{{k: {a}}}", "({a}) + ({b})", '"\\({a})-\\({b})"', "{a} as $w | {b}"]


def _random_filters(count: int) -> list[str]:
    import random

    chooser = random.Random(19)

    def build(depth: int) -> str:
        if depth == 0 or chooser.random() < 0.3:
            return chooser.choice(_PIECES)
        return chooser.choice(_SHAPES).format(a=build(depth - 1), b=build(depth - 1))

    return [build(3) for _ in range(count)]


def test_random_filters_stay_within_their_bounds() -> None:
    """Filters built at random from accepted pieces: whatever the analysis accepts
    produces, on the sample inputs, no more outputs and bytes than its bounds say."""
    accepted = sum(_assert_within_bounds(program) for program in _random_filters(200))
    assert accepted > 50  # the pieces are accepted; only some combinations are not


def test_fan_out_is_bounded_by_the_product_of_the_stages() -> None:
    """Each `[.,.]` doubles what follows; a few stages are fine, ten are not."""
    assert analyse(" | ".join(["[.,.]"] * 3)) is not None
    assert analyse("|".join(["(.,.)"] * 3)) is not None
    assert analyse(" | ".join(["[.,.]"] * 10)) is None
    assert analyse("[" * 30 + "." + "]" * 30) is not None  # nesting is no fan-out


def test_a_filter_longer_than_the_limit_is_not_analysed() -> None:
    program = " | ".join(["."] * (MAX_PROGRAM_LENGTH // 4 + 1))
    assert len(program) > MAX_PROGRAM_LENGTH
    assert analyse(program) is None
    assert analyse("(" * 100 + "." + ")" * 100) is None  # deeper than the parser goes


def test_the_input_size_check_visits_only_what_it_needs() -> None:
    assert json_size_at_most("x" * 100, 200)
    assert not json_size_at_most("x" * 300, 200)
    assert json_size_at_most({"a": [1, 2, {"b": "c"}]}, 200)
    # Ten million values: refused from the list's length, without visiting them.
    assert not json_size_at_most([0] * 10_000_000, INLINE_JQ_WORK)
    assert not json_size_at_most([[0] * 1000] * 10_000, INLINE_JQ_WORK)


def test_a_call_runs_inline_for_a_provable_filter_on_a_small_input() -> None:
    hello = '"Hello \\(.)"'
    assert jq_runs_inline({"json-value": "world", "jq-filter": hello})
    assert jq_runs_inline({"json-string": '"world"', "jq-filter": hello})
    assert not jq_runs_inline({"json-value": "x" * 1_000_000, "jq-filter": hello})
    assert not jq_runs_inline({"json-value": "world", "jq-filter": "def f: f; f"})
    assert not jq_runs_inline({"json-value": list(range(100_000)), "jq-filter": ".[]"})
    assert jq_runs_inline({"json-value": 1, "jq-filter": 5})  # refused before jq runs


SAME_EITHER_WAY = [
    ({"a": [1, 2, 3]}, ".a[] | . * 2"),
    ("world", '"Hello \\(.)"'),
    ([{"words": 3}, {"words": 4}], "{chunks: length, words: (map(.words) | add)}"),
    ({"b": 2, "a": 1}, "to_entries"),
    ([3, 1, 2], "sort | reverse"),
    ({"x": "a,b"}, '.x | split(",")'),
    (None, ".a"),
    (5, ".a"),  # Cannot index number with "a"
    ("x", 'error("boom")'),
    ({"a": "x"}, ".a + 1"),  # string and number cannot be added
    ([1], ".[] | tonumber | . / 0"),
    ("{", "fromjson"),
    (1, ".a & .b"),  # syntax error
    ("banana", '[splits("a")]'),  # not analysed: the same function either way
]


async def test_results_and_errors_are_the_same_inline_and_in_a_task_process() -> None:
    pool = TaskProcesses(1)
    context = TaskContext(component_id="j", task="TASK_JQ")
    try:
        for value, program in SAME_EITHER_WAY:
            inputs = {"json-value": value, "jq-filter": program}
            try:
                inline: object = run_jq(dict(inputs), context)
            except ComponentError as exc:
                inline = ("error", str(exc))
            try:
                isolated: object = await pool.run(run_jq, dict(inputs), context)
            except ComponentError as exc:
                isolated = ("error", str(exc))
            assert inline == isolated, program
    finally:
        pool.shutdown()


def _recipe(jq_filter: str, value: object = "world"):
    return parse_recipe(
        {
            "variable": {"filter": {"instill-format": "string"}},
            "component": {
                "j": {"type": "json", "task": "TASK_JQ", "input": {"json-value": value, "jq-filter": jq_filter}}
            },
            "output": {"results": {"value": "${j.output.results}"}},
        },
        registry=default_registry(),
    )


async def test_hello_runs_without_starting_a_task_process() -> None:
    """A recipe's literal filter that passes, or one a reference brings, runs inline:
    the task processes never start; a filter that does not pass starts them."""
    pool = TaskProcesses(1)
    try:
        done = await execute(_recipe('"Hello \\(.)"'), [{}], processes=pool)
        assert done.rows[0].components["j"].outputs == {"results": ["Hello world"]}
        through = await execute(_recipe("${variable.filter}"), [{"filter": "ascii_upcase"}], processes=pool)
        assert through.rows[0].components["j"].outputs == {"results": ["WORLD"]}
        assert pool.zygote_pid is None and pool.pids == []

        regex = await execute(_recipe("${variable.filter}"), [{"filter": '[splits("o")]'}], processes=pool)
        assert regex.rows[0].components["j"].outputs == {"results": [["w", "rld"]]}
        assert pool.zygote_pid is not None
    finally:
        pool.shutdown()


async def test_a_provable_filter_on_a_big_input_runs_in_a_task_process() -> None:
    pool = TaskProcesses(1)
    try:
        big = "x" * (INLINE_JQ_WORK + 1)
        done = await execute(_recipe("length", big), [{}], processes=pool)
        assert done.rows[0].components["j"].outputs == {"results": [len(big)]}
        assert pool.zygote_pid is not None
    finally:
        pool.shutdown()


async def test_a_runaway_filter_from_a_reference_is_still_killed_at_the_time_limit() -> None:
    """The check is per call: `def f: f; f` arriving through a variable goes to a task
    process, which the time limit kills while the loop keeps turning."""
    from tests.process_tasks import LoopTicks

    pool = TaskProcesses(1)
    try:
        async with LoopTicks() as ticks:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await execute(_recipe("${variable.filter}"), [{"filter": "def f: f; f"}], processes=pool)
        assert ticks.count > 5
    finally:
        pool.shutdown()


def test_the_jq_task_is_blocking_with_a_per_call_check() -> None:
    task = COMPONENT.tasks["TASK_JQ"]
    assert task.blocking is True and task.inline_when is jq_runs_inline


def _filters(recipe: str) -> list[str]:
    import yaml

    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "jq-filter" and isinstance(value, str):
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(recipe))
    return found


def test_the_demos_filters_run_inline_except_the_regex_one() -> None:
    """`hello`, the RAG demo's context and the chunk demo's total pass; the chunk demo's
    word count splits on a regex and stays in a task process."""
    from pipelines.demo import CHUNK_AND_JQ, HELLO, rag_recipe

    (hello,) = _filters(HELLO)
    assert jq_runs_inline({"json-value": "a prompt", "jq-filter": hello})
    (context,) = _filters(rag_recipe(base_url="http://127.0.0.1:9/v1", model="m", embedding_model="e"))
    assert analyse(context) is not None
    words, total = _filters(CHUNK_AND_JQ)
    assert analyse(words) is None and "splits" in words
    assert analyse(total) is not None
