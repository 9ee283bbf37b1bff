"""Execution: readiness order, concurrency, failures, conditions, iterators, cancellation."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest

from pipelines.engine import File, Registry, RunCancelled, RunResult, execute, parse_recipe
from pipelines.engine.processes import TaskProcesses
from tests.process_tasks import LoopTicks


async def run(
    registry: Registry, recipe: dict[str, Any], rows: list[dict[str, Any]] | None = None, **kwargs: Any
) -> RunResult:
    parsed = parse_recipe(recipe, registry=registry)
    return await execute(parsed, parsed.bind_rows(rows or [{}]), registry=registry, **kwargs)


def comp(type_: str, task: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "task": task, **fields}


def statuses(result: RunResult, row: int = 0) -> dict[str, str]:
    return {cid: c.status for cid, c in result.rows[0 if row is None else row].components.items()}


async def test_single_component_outputs_and_traces(registry: Registry) -> None:
    """Outputs render per row; traces have Instill's shape, inputs/outputs only when full."""
    result = await run(
        registry,
        {
            "variable": {"p": {"type": "string"}, "unset": {"type": "string"}},
            "component": {"up": comp("text", "TASK_UPPER", input={"text": "${variable.p}"})},
            "output": {"a": {"value": "${up.output.text}"}, "gone": {"value": "${variable.unset}"}},
        },
        [{"p": "hi"}, {"p": "yo"}],
    )
    assert result.outputs_json() == [{"a": "HI", "gone": None}, {"a": "YO", "gone": None}]
    assert not result.failed and result.error_message == ""
    trace = result.traces(full=False)["up"]
    assert trace["statuses"] == ["STATUS_COMPLETED", "STATUS_COMPLETED"]
    assert trace["inputs"] == [] and trace["outputs"] == [] and trace["error"] == {"message": ""}
    assert isinstance(trace["computeTimeInSeconds"], float)
    full = result.traces(full=True)["up"]
    assert full["inputs"] == [{"text": "hi"}, {"text": "yo"}]
    assert full["outputs"] == [{"text": "HI"}, {"text": "YO"}]
    component = result.rows[0].components["up"]
    assert component.started_at is not None and component.completed_at is not None
    assert component.started_at <= component.completed_at


async def test_independent_components_run_concurrently(registry: Registry) -> None:
    """Two 0.2 s sleeps with no dependency finish together in well under 0.4 s."""
    start = time.perf_counter()
    result = await run(
        registry,
        {
            "component": {
                "a": comp("sleep", "TASK_SLEEP", input={"seconds": 0.2}),
                "b": comp("sleep", "TASK_SLEEP", input={"seconds": 0.2}),
            }
        },
    )
    assert time.perf_counter() - start < 0.35
    assert set(statuses(result).values()) == {"COMPLETED"}


async def test_component_waits_for_what_it_references_only(registry: Registry) -> None:
    """A dependant starts after its slow dependency ends; an unrelated component does not wait."""
    result = await run(
        registry,
        {
            "component": {
                "slow": comp("sleep", "TASK_SLEEP", input={"seconds": 0.2, "value": 1}),
                "after": comp("sleep", "TASK_SLEEP", input={"seconds": 0.01, "value": "${slow.output.value}"}),
                "free": comp("sleep", "TASK_SLEEP", input={"seconds": 0.01}),
            }
        },
    )
    out = {cid: c.outputs for cid, c in result.rows[0].components.items()}
    assert out["after"]["started"] >= out["slow"]["ended"]
    assert out["free"]["ended"] < out["slow"]["ended"]
    assert out["after"]["value"] == 1


async def test_blocking_tasks_run_in_task_processes(registry: Registry) -> None:
    """blocking=True tasks run off the loop, in the given pool's processes."""
    pool = TaskProcesses(2)
    try:
        result = await run(
            registry,
            {
                "component": {
                    "a": comp("block", "TASK_BLOCK", input={"seconds": 0.01}),
                    "b": comp("block", "TASK_BLOCK", input={"seconds": 0.01}),
                }
            },
            processes=pool,
        )
        pids = {c.outputs["pid"] for c in result.rows[0].components.values()}
        assert os.getpid() not in pids and pids <= set(pool.pids)
    finally:
        pool.shutdown()


async def test_a_blocking_task_runs_inline_when_its_inline_when_says_so(registry: Registry) -> None:
    """A blocking task's ``inline_when`` decides per call: a call it accepts runs in
    this process and starts no task process; the others still go to the pool."""
    pool = TaskProcesses(1)
    try:
        quick = await run(
            registry,
            {"component": {"a": comp("block", "TASK_MAYBE", input={"seconds": 0, "value": 1})}},
            processes=pool,
        )
        assert quick.rows[0].components["a"].outputs["pid"] == os.getpid()
        assert quick.rows[0].components["a"].outputs["value"] == 1
        assert pool.pids == [] and pool.zygote_pid is None
        slow = await run(
            registry, {"component": {"a": comp("block", "TASK_MAYBE", input={"seconds": 0.01})}}, processes=pool
        )
        assert slow.rows[0].components["a"].outputs["pid"] in pool.pids
    finally:
        pool.shutdown()


async def test_a_runaway_task_is_killed_when_the_run_is_cancelled(registry: Registry) -> None:
    """A blocking task that never ends stops with its run: the cancel event (or a time
    limit around execute) kills its process, and the next run works."""
    pool = TaskProcesses(1)
    cancel = asyncio.Event()
    recipe = {"component": {"forever": comp("block", "TASK_SPIN")}}
    try:
        running = asyncio.ensure_future(run(registry, recipe, cancel=cancel, processes=pool))
        while not pool.pids:  # noqa: ASYNC110 - another process's start: no event to wait on
            await asyncio.sleep(0.01)
        (pid,) = pool.pids
        cancel.set()
        with pytest.raises(RunCancelled):
            await running
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await run(registry, recipe, processes=pool)
        after = await run(
            registry, {"component": {"a": comp("block", "TASK_BLOCK", input={"seconds": 0})}}, processes=pool
        )
        assert after.rows[0].components["a"].outputs["pid"] != pid
    finally:
        pool.shutdown()


async def test_max_concurrency_bounds_running_components(registry: Registry) -> None:
    """With max_concurrency=1, two sleeps run one after the other."""
    start = time.perf_counter()
    await run(
        registry,
        {
            "component": {
                "a": comp("sleep", "TASK_SLEEP", input={"seconds": 0.1}),
                "b": comp("sleep", "TASK_SLEEP", input={"seconds": 0.1}),
            }
        },
        max_concurrency=1,
    )
    assert time.perf_counter() - start >= 0.2


async def test_rows_run_concurrently(registry: Registry) -> None:
    """Rows of a batch are independent runs, executed concurrently."""
    start = time.perf_counter()
    result = await run(
        registry, {"component": {"a": comp("sleep", "TASK_SLEEP", input={"seconds": 0.2})}}, [{}, {}, {}]
    )
    assert time.perf_counter() - start < 0.35
    assert len(result.rows) == 3


async def test_failure_skips_dependants_and_spares_other_branches(registry: Registry) -> None:
    """A failing component errors, its transitive dependants are skipped, other branches complete."""
    result = await run(
        registry,
        {
            "component": {
                "bad": comp("fail", "TASK_FAIL", input={"message": "no luck"}),
                "child": comp("echo", "TASK_ECHO", input={"value": "${bad.output.x}"}),
                "grandchild": comp("echo", "TASK_ECHO", input={"value": "${child.output.value}"}),
                "via-input": comp("echo", "TASK_ECHO", condition="${bad.input.message} == 'x'"),
                "watcher": comp("echo", "TASK_ECHO", input={"value": "${bad.status.errored} ${bad.error.message}"}),
                "other": comp("text", "TASK_UPPER", input={"text": "fine"}),
            },
            "output": {"o": {"value": "${other.output.text}"}, "c": {"value": "${child.output.value}"}},
        },
    )
    assert statuses(result) == {
        "bad": "ERROR",
        "child": "SKIPPED",
        "grandchild": "SKIPPED",
        "via-input": "SKIPPED",
        "watcher": "COMPLETED",
        "other": "COMPLETED",
    }
    row = result.rows[0]
    assert row.errored and result.failed
    assert row.components["bad"].error == "no luck"
    assert row.components["watcher"].outputs["value"] == "true no luck"
    assert row.outputs == {"o": "FINE", "c": None}
    assert result.error_message == "component(ID: bad) run failed: no luck"
    traces = result.traces()
    assert traces["bad"]["statuses"] == ["STATUS_ERROR"] and traces["bad"]["error"] == {"message": "no luck"}
    assert traces["child"]["statuses"] == ["STATUS_SKIPPED"]


async def test_non_component_errors_are_reported_by_message_or_type(registry: Registry) -> None:
    """A plain exception inside a task becomes the component's error message."""
    result = await run(registry, {"component": {"c": comp("fail", "TASK_CRASH")}})
    assert result.rows[0].components["c"].error == "'missing-key'"


async def test_unresolved_input_reference_fails_the_component(registry: Registry) -> None:
    """An input referencing an unset optional variable fails with `Couldn't resolve reference`."""
    result = await run(
        registry,
        {
            "variable": {"opt": {"type": "string"}},
            "component": {"up": comp("text", "TASK_UPPER", input={"text": "${variable.opt}"})},
        },
    )
    component = result.rows[0].components["up"]
    assert component.status == "ERROR"
    assert component.error == "Couldn't resolve reference ${variable.opt}."


async def test_setup_is_rendered_with_secrets(registry: Registry) -> None:
    """setup references resolve against the secrets (per row when a list is given): the
    task gets the real value (a later component sees it), results show it masked."""
    recipe = {
        "component": {
            "e": comp("echo", "TASK_ECHO", setup={"api-key": "${secret.k}", "base": "u"}),
            "check": comp(
                "text", "TASK_UPPER", input={"text": "ok"}, condition='${e.output.setup.api-key} == "key-one"'
            ),
        }
    }
    result = await run(registry, recipe, [{}, {}], secrets=[{"k": "key-one"}, {"k": "key-two"}])
    assert [row.components["e"].outputs["setup"] for row in result.rows] == [
        {"api-key": "***", "base": "u"},
        {"api-key": "***", "base": "u"},
    ]
    assert [row.components["check"].status for row in result.rows] == ["COMPLETED", "SKIPPED"]
    missing = await run(registry, recipe)
    assert missing.rows[0].components["e"].error == "Couldn't resolve reference ${secret.k}."


async def test_conditions_skip_and_propagate(registry: Registry) -> None:
    """False condition → SKIPPED and dependants skipped; true → runs; broken → ERROR."""
    result = await run(
        registry,
        {
            "variable": {"mode": {"type": "string"}, "n": {"type": "integer"}},
            "component": {
                "yes": comp(
                    "text",
                    "TASK_UPPER",
                    input={"text": "a"},
                    condition='${variable.mode} == "long" && ${variable.n} + 1 > 2',
                ),
                "no": comp("text", "TASK_UPPER", input={"text": "b"}, condition="${variable.mode} == 'short'"),
                "after-no": comp("echo", "TASK_ECHO", input={"value": "${no.output.text}"}),
                "after-yes": comp(
                    "echo", "TASK_ECHO", input={"value": "${yes.output.text}"}, condition="${yes.output.text} == 'A'"
                ),
                "broken": comp("echo", "TASK_ECHO", condition="${variable.mode} < 3"),
            },
        },
        [{"mode": "long", "n": 2}],
    )
    assert statuses(result) == {
        "yes": "COMPLETED",
        "no": "SKIPPED",
        "after-no": "SKIPPED",
        "after-yes": "COMPLETED",
        "broken": "ERROR",
    }
    assert result.rows[0].components["broken"].error.startswith("condition failed: cannot compare")


async def test_files_flow_through_and_render_as_data_uris(registry: Registry) -> None:
    """A File variable reaches components by reference and outputs render it as a data URI."""
    result = await run(
        registry,
        {
            "variable": {"img": {"type": "image"}},
            "component": {"e": comp("echo", "TASK_ECHO", input={"value": "${variable.img}"})},
            "output": {"o": {"value": "${e.output.value}"}, "name": {"value": "${variable.img:content-type}"}},
        },
        [{"img": "data:image/png;base64,iVBORw0KGgo="}],
    )
    assert isinstance(result.rows[0].outputs["o"], File)
    assert result.outputs_json() == [{"o": "data:image/png;base64,iVBORw0KGgo=", "name": "image/png"}]


async def test_iterator_over_a_list(registry: Registry) -> None:
    """An iterator runs its nested components per element and collects output-elements."""
    result = await run(
        registry,
        {
            "variable": {"words": {"type": "array:string"}, "suffix": {"type": "string"}},
            "component": {
                "loop": {
                    "type": "iterator",
                    "input": "${variable.words}",
                    "component": {
                        "up": comp("text", "TASK_UPPER", input={"text": "${loop.element}${variable.suffix}"}),
                        "e": comp("echo", "TASK_ECHO", input={"value": "${i}:${up.output.text}"}),
                    },
                    "output-elements": {"upper": "${up.output.text}", "tagged": "${e.output.value}"},
                },
                "after": comp("echo", "TASK_ECHO", input={"value": "${loop.output.upper}"}),
            },
            "output": {"o": {"value": "${loop.output.tagged}"}, "n": {"value": "${loop.output.upper:length}"}},
        },
        [{"words": ["a", "b", "c"], "suffix": "!"}],
    )
    row = result.rows[0]
    assert row.outputs == {"o": ["0:A!", "1:B!", "2:C!"], "n": 3}
    assert row.components["after"].outputs["value"] == ["A!", "B!", "C!"]
    assert row.components["loop"].inputs == {"input": ["a", "b", "c"]}


async def test_iterator_over_a_range_with_references_runs_elements_concurrently(registry: Registry) -> None:
    """range: {start, stop, step} may use references; elements run concurrently."""
    start = time.perf_counter()
    result = await run(
        registry,
        {
            "variable": {"stop": {"type": "integer"}},
            "component": {
                "loop": {
                    "type": "iterator",
                    "range": {"start": 1, "stop": "${variable.stop}", "step": 2},
                    "index": "k",
                    "component": {"s": comp("sleep", "TASK_SLEEP", input={"seconds": 0.2, "value": "${k}"})},
                    "output-elements": {"v": "${s.output.value}"},
                }
            },
            "output": {"o": {"value": "${loop.output.v}"}},
        },
        [{"stop": 7}],
    )
    assert time.perf_counter() - start < 0.35
    assert result.rows[0].outputs == {"o": [1, 3, 5]}
    empty = await run(
        registry,
        {
            "component": {
                "loop": {
                    "type": "iterator",
                    "range": [0, 0],
                    "component": {"e": comp("echo", "TASK_ECHO")},
                    "output-elements": {"v": "${e.output.value}"},
                }
            }
        },
    )
    assert empty.rows[0].components["loop"].outputs == {"v": []}


async def test_iterator_element_failure_fails_the_iterator(registry: Registry) -> None:
    """A failing element fails the iterator with a message naming the component and element."""
    result = await run(
        registry,
        {
            "variable": {"xs": {"type": "array:string"}},
            "component": {
                "loop": {
                    "type": "iterator",
                    "input": "${variable.xs}",
                    "component": {
                        "f": comp(
                            "fail",
                            "TASK_FAIL",
                            input={"message": "bad ${loop.element}"},
                            condition="${loop.element} == 'b'",
                        )
                    },
                    "output-elements": {"v": "${f.output.x}"},
                },
                "after": comp("echo", "TASK_ECHO", input={"value": "${loop.output.v}"}),
            },
        },
        [{"xs": ["a", "b", "c"]}],
    )
    row = result.rows[0]
    assert row.components["loop"].status == "ERROR"
    assert row.components["loop"].error == 'component "f" failed at element 1: bad b'
    assert row.components["after"].status == "SKIPPED"


async def test_an_iterator_longer_than_max_iterations_fails_before_it_starts(registry: Registry) -> None:
    """An iterator over more elements than the limit (a list, a range, even a range too
    long to count) fails its component with a message naming PIPELINE_MAX_ITERATIONS;
    no element runs."""
    loop = {
        "component": {"e": comp("echo", "TASK_ECHO", input={"value": "${loop.element}"})},
        "output-elements": {"v": "${e.output.value}"},
    }
    for source, count in (
        ({"input": "${variable.xs}"}, "4"),
        ({"range": [0, 1_000_000]}, "1,000,000"),
        ({"range": [0, 10**30]}, "too many"),
    ):
        result = await run(
            registry,
            {
                "variable": {"xs": {"type": "array:number"}},
                "component": {"loop": {"type": "iterator", **source, **loop}},
            },
            [{"xs": [1, 2, 3, 4]}],
            max_iterations=3,
        )
        component = result.rows[0].components["loop"]
        assert component.status == "ERROR"
        assert (
            component.error == f"the iterator has {count} elements, more than the limit of 3 (PIPELINE_MAX_ITERATIONS)"
        )
    within = await run(
        registry, {"component": {"loop": {"type": "iterator", "range": [0, 3], **loop}}}, max_iterations=3
    )
    assert within.rows[0].outputs == {} and within.rows[0].components["loop"].outputs == {"v": [0, 1, 2]}


async def test_a_long_iterator_yields_to_the_event_loop(registry: Registry) -> None:
    """Elements made of inline components never suspend by themselves; the iterator
    lets the loop run other work as it goes instead of holding it to the end."""
    async with LoopTicks(0) as ticks:
        result = await run(
            registry,
            {
                "component": {
                    "loop": {
                        "type": "iterator",
                        "range": [0, 5000],
                        "component": {"e": comp("echo", "TASK_ECHO")},
                        "output-elements": {"v": "${e.output.value}"},
                    }
                }
            },
        )
    assert result.rows[0].components["loop"].status == "COMPLETED"
    assert ticks.count > 3


async def test_iterator_input_must_be_an_array(registry: Registry) -> None:
    """An iterator whose input renders to a non-array errors clearly."""
    result = await run(
        registry,
        {
            "variable": {"x": {"type": "string"}},
            "component": {
                "loop": {"type": "iterator", "input": "${variable.x}", "component": {"e": comp("echo", "TASK_ECHO")}}
            },
        },
        [{"x": "nope"}],
    )
    assert result.rows[0].components["loop"].error == 'iterator input must be an array, got string "nope"'


async def test_cancellation_stops_running_tasks(registry: Registry) -> None:
    """Setting `cancel` cancels running work and raises RunCancelled without hanging."""
    cancel = asyncio.Event()
    recipe = {
        "component": {
            "a": comp("sleep", "TASK_SLEEP", input={"seconds": 5}),
            "b": comp("block", "TASK_BLOCK", input={"seconds": 0.3}),
        }
    }

    async def trip() -> None:
        await asyncio.sleep(0.05)
        cancel.set()

    start = time.perf_counter()
    tripper = asyncio.ensure_future(trip())
    with pytest.raises(RunCancelled):
        await run(registry, recipe, cancel=cancel)
    await tripper
    assert time.perf_counter() - start < 0.3
    with pytest.raises(RunCancelled):
        await run(registry, recipe, cancel=cancel)  # already set: nothing starts


async def test_cancel_event_unset_runs_normally(registry: Registry) -> None:
    """An unset cancel event does not change the result."""
    result = await run(
        registry, {"component": {"a": comp("sleep", "TASK_SLEEP", input={"seconds": 0.01})}}, cancel=asyncio.Event()
    )
    assert statuses(result) == {"a": "COMPLETED"}


async def test_engine_overhead_of_a_one_component_run_is_small(registry: Registry) -> None:
    """A trigger of a one-component, non-blocking recipe costs well under 0.2 ms of engine time."""
    parsed = parse_recipe(
        {
            "variable": {"p": {"type": "string"}},
            "component": {"up": comp("text", "TASK_UPPER", input={"text": "${variable.p}"})},
            "output": {"o": {"value": "${up.output.text}"}},
        },
        registry=registry,
    )
    rows = parsed.bind_rows([{"p": "x"}])
    for _ in range(50):
        await execute(parsed, rows, registry=registry)
    n = 500
    start = time.perf_counter()
    for _ in range(n):
        await execute(parsed, rows, registry=registry)
    assert (time.perf_counter() - start) / n < 200e-6


async def test_outer_timeout_cancels_without_hanging(registry: Registry) -> None:
    """Cancelling execute() from outside (e.g. asyncio.timeout) stops running components."""
    recipe = {
        "component": {
            "a": comp("sleep", "TASK_SLEEP", input={"seconds": 5}),
            "b": comp("sleep", "TASK_SLEEP", input={"seconds": 5}),
            "loop": {
                "type": "iterator",
                "range": [0, 3],
                "component": {"s": comp("sleep", "TASK_SLEEP", input={"seconds": 5})},
            },
        }
    }
    start = time.perf_counter()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await run(registry, recipe)
    await asyncio.sleep(0)
    assert time.perf_counter() - start < 0.5
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    await asyncio.sleep(0.01)
    assert all(t.done() for t in leftovers)


async def test_status_references_let_a_recipe_react_to_errors(registry: Registry) -> None:
    """A condition on ${c.status.errored} runs after c fails instead of being skipped."""
    result = await run(
        registry,
        {
            "component": {
                "bad": comp("fail", "TASK_FAIL"),
                "fallback": comp("text", "TASK_UPPER", input={"text": "fallback"}, condition="${bad.status.errored}"),
                "happy": comp("text", "TASK_UPPER", input={"text": "x"}, condition="${bad.status.completed}"),
            },
            "output": {"o": {"value": "${fallback.output.text}"}, "e": {"value": "${bad.error.message}"}},
        },
    )
    assert statuses(result) == {"bad": "ERROR", "fallback": "COMPLETED", "happy": "SKIPPED"}
    assert result.rows[0].outputs == {"o": "FALLBACK", "e": "boom"}


async def test_an_output_nested_too_deep_fails_its_component() -> None:
    """A task may parse or build a value nested thousands of levels deep; everything
    downstream (rendering, recording, answering) recurses, so it fails that component."""
    from pipelines.components import default_registry
    from pipelines.engine.executor import MAX_OUTPUT_DEPTH

    recipe = parse_recipe(
        {
            "variable": {"s": {"type": "string"}},
            "component": {"parse": {"type": "json", "task": "TASK_UNMARSHAL", "input": {"string": "${variable.s}"}}},
            "output": {"v": {"value": "${parse.output.json}"}},
        },
        registry=default_registry(),
    )
    deep = "[" * 980 + "]" * 980
    result = await execute(recipe, recipe.bind_rows([{"s": deep}]))
    component = result.rows[0].components["parse"]
    assert component.error is not None and f"more than {MAX_OUTPUT_DEPTH} levels" in component.error
    fine = "[" * 50 + "]" * 50
    result = await execute(recipe, recipe.bind_rows([{"s": fine}]))
    assert result.rows[0].components["parse"].error is None


async def test_documents_written_into_strings_are_read_off_the_event_loop(
    registry: Registry, doc_string_form: list[str]
) -> None:
    """A file whose string form is slow (a document's text) is read in a worker thread, once per file,
    before the component's input renders; a failure fails that component with the reason."""
    import threading

    resume = File(b"ok", mime_type="application/x-doc", filename="cv.doc")
    recipe = {
        "variable": {"resume": {"type": "file"}, "bad": {"type": "file"}},
        "component": {
            "up": comp("text", "TASK_UPPER", input={"text": "Resume: ${variable.resume} / ${variable.resume}"}),
            "broken": comp("text", "TASK_UPPER", input={"text": "Bad: ${variable.bad}"}),
        },
        "output": {"a": {"value": "${up.output.text}"}},
    }
    bad = File(b"broken", mime_type="application/x-doc")
    result = await run(registry, recipe, [{"resume": resume, "bad": bad}])
    assert result.outputs_json() == [{"a": "RESUME: TEXT OF CV.DOC / TEXT OF CV.DOC"}]
    main = threading.main_thread().name
    assert doc_string_form.count(main) == 1  # only the broken file, read again to report it
    assert len([name for name in doc_string_form if name != main]) == 2  # resume once, bad once
    assert result.rows[0].components["broken"].error == "Couldn't read ${variable.bad} as text: the document is damaged"


async def test_text_attributes_are_read_off_the_event_loop(registry: Registry, doc_string_form: list[str]) -> None:
    """An attribute registered as reading a file's string form (the document component's `:text`) has
    its file read in a worker thread before the input renders, and the result is the string form's."""
    import threading

    from pipelines.engine import values

    values.register_attribute("as-text", values.file_text, reads_text=True)
    try:
        result = await run(
            registry,
            {
                "variable": {"resume": {"type": "file"}},
                "component": {"e": comp("echo", "TASK_ECHO", input={"value": "${variable.resume:as-text}"})},
                "output": {"o": {"value": "${e.output.value}"}},
            },
            [{"resume": File(b"ok", mime_type="application/x-doc", filename="cv.doc")}],
        )
    finally:
        values.ATTRIBUTES.pop("as-text")
        values.TEXT_ATTRIBUTES.discard("as-text")
    assert result.outputs_json() == [{"o": "text of cv.doc"}]
    assert doc_string_form == [name for name in doc_string_form if name != threading.main_thread().name]
    assert len(doc_string_form) == 1


async def test_documents_written_into_pipeline_outputs_are_read_off_the_event_loop(
    registry: Registry, doc_string_form: list[str]
) -> None:
    """An output that writes a document into a string (``"CV: ${variable.resume}"``) has
    it read in a worker thread too, not on the loop every other run and request shares
    (a long PDF, or LibreOffice for up to two minutes)."""
    import threading

    result = await run(
        registry,
        {
            "variable": {"resume": {"type": "file"}},
            "component": {"up": comp("text", "TASK_UPPER", input={"text": "x"})},
            "output": {"cv": {"value": "CV: ${variable.resume}"}, "up": {"value": "${up.output.text}"}},
        },
        [{"resume": File(b"ok", mime_type="application/x-doc", filename="cv.doc")}],
    )
    assert result.outputs_json() == [{"cv": "CV: text of cv.doc", "up": "X"}]
    assert doc_string_form and threading.main_thread().name not in doc_string_form
