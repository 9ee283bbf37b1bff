"""Filters and inputs crafted to make an inline jq call (one on the event loop) slow.

An inline call runs in the web server's process and holds the GIL: everything that
decides to take it — the cost analysis of the filter text, the weighing of the input —
and the call itself must stay within milliseconds however a pipeline's author or a
trigger's caller shapes them. Each case here took seconds before its fix.
"""

from __future__ import annotations

import sys
import time

from pipelines.components._jq_cost import MAX_PROGRAM_LENGTH, _analyse, analyse, json_size_at_most
from pipelines.components.json import INLINE_JQ_WORK, jq_runs_inline, run_jq

#: Far above what any of these takes now (5-25 ms), below what each took before its fix.
QUICK = 0.1


def _analysis_seconds(program: str) -> float:
    """The quickest of three analyses of ``program`` (each past the cache)."""
    seconds = []
    for _ in range(3):
        _analyse.cache_clear()
        start = time.perf_counter()
        analyse(program)
        seconds.append(time.perf_counter() - start)
    return min(seconds)


def test_an_object_with_hundreds_of_keys_is_analysed_quickly() -> None:
    # `{a,a,...}`: 499 entries, the analysis took 2.4 s (every part times every other).
    program = "{" + ",".join(["a"] * ((MAX_PROGRAM_LENGTH - 2) // 2)) + "}"
    assert len(program) <= MAX_PROGRAM_LENGTH
    assert _analysis_seconds(program) < QUICK


def test_a_string_with_hundreds_of_interpolations_is_analysed_quickly() -> None:
    # 248 interpolations: 160-190 ms of analysis on the loop, per distinct text.
    for piece in ("\\(.)", "\\(1)"):
        program = '"' + piece * ((MAX_PROGRAM_LENGTH - 2) // len(piece)) + '"'
        assert _analysis_seconds(program) < QUICK


def test_small_objects_and_strings_still_run_inline() -> None:
    assert jq_runs_inline({"jq-filter": "{a, b, c: .d}", "json-value": {"a": 1, "b": 2, "d": 3}})
    assert jq_runs_inline({"jq-filter": '"\\(.a) and \\(.b)"', "json-value": {"a": 1, "b": 2}})


def test_a_long_integer_weighs_its_digits() -> None:
    # 4,095 integers of 4,300 digits (17 MB of JSON, what a trigger request may carry)
    # weighed 16 each: `.` ran inline and held the loop for 2.6 s.
    huge = int("9" * 4300)
    assert not json_size_at_most([huge], 1000)
    assert not jq_runs_inline({"jq-filter": ".", "json-value": [huge] * 4095})
    # Numbers a double holds exactly, not far from 1, still weigh one value each.
    assert json_size_at_most([2**53 - 1, -(10**15), 1.5e15], 4 * 16)
    assert jq_runs_inline({"jq-filter": ".", "json-value": list(range(1000))})


def test_a_json_string_weighs_its_values_as_a_json_value_does() -> None:
    # The deprecated `json-string` was weighed by its characters alone: 32,767 zeros
    # (`[0,0,...]`) ran inline where the same array as `json-value` is refused, 8 times
    # the values the budget allows (35-40 ms for `.`, 42 ms for `.[]`).
    zeros = [0] * 32_767
    assert not jq_runs_inline({"jq-filter": ".", "json-value": zeros})
    assert not jq_runs_inline({"jq-filter": ".", "json-string": "[" + ",".join("0" * len(zeros)) + "]"})
    # Fifteen 4,300-digit integers: 65 KB of text, but 65,000 digits to convert.
    assert not jq_runs_inline({"jq-filter": ".", "json-string": "[" + ",".join(["9" * 4300] * 15) + "]"})
    # A prompt still runs inline either way.
    hello = '"Hello \\(.)"'
    assert jq_runs_inline({"jq-filter": hello, "json-string": '"' + "x" * 10_000 + '"'})
    assert jq_runs_inline({"jq-filter": ".", "json-string": '{"a": [1, 2, 3], "b": "c"}'})
    assert INLINE_JQ_WORK >= 10_000


def test_escaped_characters_weigh_what_jq_reads() -> None:
    # jq reads its input as ASCII JSON: 65,535 emoji are 786 KB of `\ud83d\ude00`
    # escapes, and `.` took 36 ms on them (1 ms on as many `a`s); NULs took 11 ms.
    for char in ("\U0001f600", "\x00", "\u00e9"):
        assert not jq_runs_inline({"jq-filter": ".", "json-value": char * 60_000})
        assert not jq_runs_inline({"jq-filter": ".", "json-value": {char * 60_000: 1}})
    for char in ("\U0001f600", "\u00e9"):  # unescaped in a json-string, escaped for jq
        assert not jq_runs_inline({"jq-filter": ".", "json-string": '"' + char * 60_000 + '"'})
    assert jq_runs_inline({"jq-filter": ".", "json-value": "a" * 60_000})
    # A prompt in any language still runs inline.
    hello = '"Hello \\(.)"'
    assert jq_runs_inline({"jq-filter": hello, "json-value": "Grüß dich, 世界 😀\n" * 100})


def test_floats_far_from_one_weigh_their_exact_conversion() -> None:
    # 4,094 of them took `.` 29 ms (1.5: 2.5 ms): printing and parsing such a double
    # exactly takes big-number arithmetic.
    assert not jq_runs_inline({"jq-filter": ".", "json-value": [1.2345678901234567e-300] * 4094})
    assert not jq_runs_inline({"jq-filter": ".", "json-value": [1.2345678901234567e200] * 4094})
    assert jq_runs_inline({"jq-filter": ".", "json-value": [1.5, 0.1, 1e-10, 123456.789, 0.0] * 100})


def test_a_long_filter_is_not_kept_alive_by_the_caches() -> None:
    # The analysis' cache kept any filter text it was asked about: 1,024 distinct
    # filters of 30 MB, arriving through a reference from trigger inputs, would have
    # kept 30 GB alive in the server.
    program = "." + " " * 1_000_000
    references = sys.getrefcount(program)
    assert not jq_runs_inline({"jq-filter": program, "json-value": 1})
    run_jq({"jq-filter": program, "json-value": 1}, None)  # type: ignore[arg-type]
    assert sys.getrefcount(program) == references
