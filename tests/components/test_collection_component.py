"""The collection component: append, assign, concat, split and set operations."""

from __future__ import annotations

import pytest

from pipelines.components.collection import COMPONENT
from pipelines.engine.components import ComponentError


async def _data(run, task, **input):
    return (await run(COMPONENT, task, input))["data"]


async def test_append_to_array_object_and_primitive(run):
    """APPEND extends arrays, merges objects, and turns primitives into arrays."""
    assert await _data(run, "TASK_APPEND", data=[1, 2], value=3) == [1, 2, 3]
    assert await _data(run, "TASK_APPEND", data=[1], value=[2]) == [1, [2]]
    assert await _data(run, "TASK_APPEND", data={"a": 1}, value={"b": 2}) == {"a": 1, "b": 2}
    assert await _data(run, "TASK_APPEND", data={"a": 1}, value=5) == [{"a": 1}, 5]
    assert await _data(run, "TASK_APPEND", data="hello", value="world") == ["hello", "world"]


async def test_append_does_not_mutate_its_input(run):
    """The input array (possibly another component's output) is left untouched."""
    source = [1, 2]
    await _data(run, "TASK_APPEND", data=source, value=3)
    assert source == [1, 2]


async def test_assign_sets_nested_paths(run):
    """ASSIGN writes at dotted paths with [n] indices, creating what is missing."""
    data = {"users": [{"name": "a"}]}
    assert await _data(run, "TASK_ASSIGN", data=data, path="users.[0].name", value="b") == {"users": [{"name": "b"}]}
    assert data == {"users": [{"name": "a"}]}
    assert await _data(run, "TASK_ASSIGN", data={}, path="metadata.tags.[0]", value="x") == {
        "metadata": {"tags": ["x"]}
    }
    assert await _data(run, "TASK_ASSIGN", data=[{"key": 1}], path=".[0].key", value=2) == [{"key": 2}]
    assert await _data(run, "TASK_ASSIGN", data=[1], path="[1]", value=2) == [1, 2]
    assert await _data(run, "TASK_ASSIGN", data={"a": 1}, path="", value=7) == 7


async def test_assign_rejects_bad_paths(run):
    """Out-of-bounds or negative indices and keys on non-objects are component errors."""
    with pytest.raises(ComponentError, match="out of bounds"):
        await _data(run, "TASK_ASSIGN", data=[1], path="[5]", value=2)
    with pytest.raises(ComponentError, match="Negative"):
        await _data(run, "TASK_ASSIGN", data=[1], path="[-1]", value=2)
    with pytest.raises(ComponentError, match="non-object"):
        await _data(run, "TASK_ASSIGN", data={"a": 1}, path="a.b", value=2)


async def test_concat_arrays_and_objects(run):
    """CONCAT joins arrays and merges objects (later values win)."""
    assert await _data(run, "TASK_CONCAT", data=[[1, 2], [3, 4]]) == [1, 2, 3, 4]
    assert await _data(run, "TASK_CONCAT", data=[{"a": 1, "b": 1}, {"b": 2}]) == {"a": 1, "b": 2}
    assert await _data(run, "TASK_CONCAT", data=[]) == []


async def test_mixed_types_are_rejected(run):
    """Set operations need all inputs of one kind, arrays or objects."""
    with pytest.raises(ComponentError, match="same type"):
        await _data(run, "TASK_CONCAT", data=[[1], {"a": 1}])
    with pytest.raises(ComponentError, match="must be either array or object"):
        await _data(run, "TASK_UNION", data=[1, 2])


async def test_split_arrays_and_objects(run):
    """SPLIT groups an array by size, and an object by size with sorted keys."""
    assert await _data(run, "TASK_SPLIT", data=[1, 2, 3, 4, 5], size=2) == [[1, 2], [3, 4], [5]]
    assert await _data(run, "TASK_SPLIT", data={"c": 3, "a": 1, "b": 2}, size=2) == [{"a": 1, "b": 2}, {"c": 3}]
    assert await _data(run, "TASK_SPLIT", data=[], size=3) == []
    with pytest.raises(ComponentError, match="greater than 0"):
        await _data(run, "TASK_SPLIT", data=[1], size=0)
    with pytest.raises(ComponentError, match="Unsupported type"):
        await _data(run, "TASK_SPLIT", data="abc", size=1)


async def test_union_keeps_first_seen_order_and_compares_deeply(run):
    """UNION de-duplicates by deep JSON equality (1 == 1.0, key order ignored) in first-seen order."""
    data = [[3, {"a": 1, "b": [1, 2]}, 1], [{"b": [1, 2], "a": 1}, 1.0, 2, True]]
    assert await _data(run, "TASK_UNION", data=data) == [3, {"a": 1, "b": [1, 2]}, 1, 2, True]
    assert await _data(run, "TASK_UNION", data=[{"a": 1, "b": 2}, {"b": 3, "c": 3}]) == {"a": 1, "b": 3, "c": 3}


async def test_intersection(run):
    """INTERSECTION keeps elements (or equal key-value pairs) present in every input."""
    assert await _data(run, "TASK_INTERSECTION", data=[[1, 2, 3, 2], [2, 3, 4], [3, 2]]) == [2, 3]
    assert await _data(run, "TASK_INTERSECTION", data=[[{"x": [1]}], [{"x": [1]}, 1]]) == [{"x": [1]}]
    assert await _data(run, "TASK_INTERSECTION", data=[{"a": 1, "b": 2}, {"b": 2, "c": 3}]) == {"b": 2}
    assert await _data(run, "TASK_INTERSECTION", data=[[1, True], [True]]) == [True]


async def test_difference(run):
    """DIFFERENCE keeps what the first input has and none of the others do."""
    assert await _data(run, "TASK_DIFFERENCE", data=[[1, 2, 3], [2, 3, 4], [3, 4, 5]]) == [1]
    assert await _data(run, "TASK_DIFFERENCE", data=[[1, 1, 2], [2]]) == [1, 1]
    assert await _data(run, "TASK_DIFFERENCE", data=[{"a": 1, "b": 2}, {"b": 2, "c": 3}]) == {"a": 1}
    assert await _data(run, "TASK_DIFFERENCE", data=[{"a": 1, "b": 2}, {"b": 5}]) == {"a": 1, "b": 2}


async def test_symmetric_difference(run):
    """SYMMETRIC_DIFFERENCE keeps what occurs in exactly one input, in first-seen order."""
    assert await _data(run, "TASK_SYMMETRIC_DIFFERENCE", data=[[1, 2], [2, 3]]) == [1, 3]
    assert await _data(run, "TASK_SYMMETRIC_DIFFERENCE", data=[[3, 1, 1], [2, 4], [4, 5]]) == [3, 1, 2, 5]
    assert await _data(run, "TASK_SYMMETRIC_DIFFERENCE", data=[{"a": 1, "b": 2}, {"b": 2, "c": 3}]) == {"a": 1, "c": 3}
    assert await _data(run, "TASK_SYMMETRIC_DIFFERENCE", data=[[1, 2]]) == [1, 2]


async def test_a_chain_of_doubling_concats_runs_off_the_loop_and_stops_at_the_limit():
    """Thirty concats, each doubling the last one's array, would take minutes and
    gigabytes: they run in task processes, so the loop keeps serving and the run's time
    limit stops them."""
    import asyncio

    from pipelines.components import default_registry
    from pipelines.engine import execute, parse_recipe

    components = {"c0": {"type": "collection", "task": "TASK_CONCAT", "input": {"data": [["a"], ["b"]]}}}
    for i in range(1, 30):
        previous = f"${{c{i - 1}.output.data}}"
        components[f"c{i}"] = {"type": "collection", "task": "TASK_CONCAT", "input": {"data": [previous, previous]}}
    recipe = parse_recipe(
        {"component": components, "output": {"n": {"value": "${c1.output.data}"}}}, registry=default_registry()
    )
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.ensure_future(tick())
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(execute(recipe, recipe.bind_rows([{}])), 2)
    finally:
        ticking.cancel()
    assert ticks > 20  # the loop went on (100 would be perfectly on time)
