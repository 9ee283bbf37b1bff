"""The json component: marshal, unmarshal, jq and rename fields."""

from __future__ import annotations

import asyncio
import json

import jsonschema
import pytest

from pipelines.components.json import COMPONENT
from pipelines.engine.components import ComponentError


async def test_marshal_turns_any_value_into_a_json_string(run):
    """TASK_MARSHAL serialises objects, arrays and scalars to JSON text."""
    for value in ({"a": "27", "b": 27}, [False, True, "dos", 3], "dos", None, "ünï"):
        out = await run(COMPONENT, "TASK_MARSHAL", {"json": value})
        assert json.loads(out["string"]) == value


async def test_marshal_without_json_fails(run):
    """TASK_MARSHAL without its input is a component error."""
    with pytest.raises(ComponentError, match="Couldn't convert"):
        await run(COMPONENT, "TASK_MARSHAL", {})


async def test_unmarshal_parses_a_json_string(run):
    """TASK_UNMARSHAL parses objects, arrays and strings."""
    assert (await run(COMPONENT, "TASK_UNMARSHAL", {"string": '{"a": "27", "b": 27}'}))["json"] == {"a": "27", "b": 27}
    assert (await run(COMPONENT, "TASK_UNMARSHAL", {"string": '[false, "dos", 3]'}))["json"] == [False, "dos", 3]
    assert (await run(COMPONENT, "TASK_UNMARSHAL", {"string": '"foo"'}))["json"] == "foo"


async def test_unmarshal_invalid_json_fails(run):
    """TASK_UNMARSHAL reports a syntax error as a component error."""
    with pytest.raises(ComponentError, match="Couldn't parse the JSON string"):
        await run(COMPONENT, "TASK_UNMARSHAL", {"string": "{"})


async def test_jq_returns_every_result(run):
    """TASK_JQ collects all outputs of a jq program into `results`."""
    out = await run(COMPONENT, "TASK_JQ", {"json-value": [{"id": 1}, {"id": 2}, {"id": 3}], "jq-filter": ".[] | .id"})
    assert out == {"results": [1, 2, 3]}


@pytest.mark.parametrize(
    ("value", "program", "expected"),
    [
        ({"foo": 128}, ".foo", [128]),
        ({"a": {"b": 42}}, ".a.b", [42]),
        ({"id": "sample", "10": {"b": 42}}, '{(.id): .["10"].b}', [{"sample": 42}]),
        ({"a": 1, "b": 2}, ".a += 1 | .b *= 2", [{"a": 2, "b": 4}]),
        ([{"key-a": "value1"}, {"key-a": "value2"}], '.[] | ."key-a"', ["value1", "value2"]),
        ("foo", '. + "bar"', ["foobar"]),
        ([2, 3, 23], ".[2]", [23]),
        ([3, 1, 2], "sort | map(. * 10)", [[10, 20, 30]]),
        ({"a": 1}, "empty", []),
        ({"xs": [1, 2, 3, 4]}, "[.xs[] | select(. % 2 == 0)]", [[2, 4]]),
        (None, "[range(3)]", [[0, 1, 2]]),
    ],
)
async def test_jq_has_real_jq_semantics(run, value, program, expected):
    """TASK_JQ behaves like jq for paths, construction, updates, select, empty and builtins."""
    out = await run(COMPONENT, "TASK_JQ", {"json-value": value, "jq-filter": program})
    assert out["results"] == expected


async def test_jq_reads_the_deprecated_json_string(run):
    """Without json-value, TASK_JQ parses json-string (backwards compatibility)."""
    out = await run(COMPONENT, "TASK_JQ", {"json-string": '{"a": {"b": 42}}', "jq-filter": ".a | .[]"})
    assert out == {"results": [42]}


async def test_jq_invalid_json_string_fails(run):
    """An unparsable json-string is a component error."""
    with pytest.raises(ComponentError, match="Couldn't parse the JSON input"):
        await run(COMPONENT, "TASK_JQ", {"json-string": "{", "jq-filter": "."})


async def test_jq_syntax_error_carries_jq_message(run):
    """A filter that does not compile fails with jq's own message."""
    with pytest.raises(ComponentError, match=r"Couldn't parse the jq filter: .*syntax error"):
        await run(COMPONENT, "TASK_JQ", {"json-value": {}, "jq-filter": ".foo & .bar"})


async def test_jq_runtime_error_carries_jq_message(run):
    """A runtime jq error (indexing a number, error()) fails with jq's message."""
    with pytest.raises(ComponentError, match=r"Couldn't apply the jq filter: Cannot index number"):
        await run(COMPONENT, "TASK_JQ", {"json-value": 5, "jq-filter": ".a"})
    with pytest.raises(ComponentError, match="boom"):
        await run(COMPONENT, "TASK_JQ", {"json-value": 5, "jq-filter": 'error("boom")'})


async def test_a_jq_filter_that_never_ends_stops_at_the_run_time_limit() -> None:
    """`def f: f; f` never returns and libjq cannot be interrupted: TASK_JQ runs in a task
    process, so the event loop keeps running meanwhile and a time limit around the run
    kills it; the next jq runs normally."""
    from pipelines.components import default_registry
    from pipelines.engine import execute, parse_recipe
    from pipelines.engine.processes import TaskProcesses

    assert COMPONENT.tasks["TASK_JQ"].blocking is True
    registry = default_registry()

    def recipe(jq_filter: str):
        return parse_recipe(
            {
                "component": {
                    "j": {"type": "json", "task": "TASK_JQ", "input": {"json-value": {"a": 1}, "jq-filter": jq_filter}}
                }
            },
            registry=registry,
        )

    from tests.process_tasks import LoopTicks

    pool = TaskProcesses(1)
    try:
        async with LoopTicks() as ticks:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await execute(recipe("def f: f; f"), [{}], processes=pool)
        assert ticks.count > 5
        done = await execute(recipe(".a"), [{}], processes=pool)
        assert done.rows[0].components["j"].outputs == {"results": [1]}
    finally:
        pool.shutdown()


async def test_rename_fields_overwrites_by_default(run):
    """TASK_RENAME_FIELDS renames a key; an existing target is overwritten by default."""
    out = await run(
        COMPONENT,
        "TASK_RENAME_FIELDS",
        {
            "json": {"oldField": "value1", "newField": "x", "other": 2},
            "fields": [{"from": "oldField", "to": "newField"}],
        },
    )
    assert out == {"json": {"newField": "value1", "other": 2}}


async def test_rename_fields_skip_keeps_existing_value(run):
    """With conflict-resolution skip, the existing target wins and the source is dropped."""
    out = await run(
        COMPONENT,
        "TASK_RENAME_FIELDS",
        {
            "json": {"oldField": "value1", "newField": "value2"},
            "fields": [{"from": "oldField", "to": "newField"}],
            "conflict-resolution": "skip",
        },
    )
    assert out == {"json": {"newField": "value2"}}


async def test_rename_fields_error_on_conflict(run):
    """With conflict-resolution error, an existing target fails the component."""
    with pytest.raises(ComponentError, match="Field conflict"):
        await run(
            COMPONENT,
            "TASK_RENAME_FIELDS",
            {
                "json": {"oldField": "value1", "newField": "value2"},
                "fields": [{"from": "oldField", "to": "newField"}],
                "conflict-resolution": "error",
            },
        )


async def test_rename_fields_dotted_paths(run):
    """Dotted paths address nested fields, and missing intermediate objects are created for the target."""
    document = {"user": {"name": "Ada", "age": 36}, "meta": 1}
    out = await run(
        COMPONENT,
        "TASK_RENAME_FIELDS",
        {
            "json": document,
            "fields": [
                {"from": "user.name", "to": "user.full-name"},
                {"from": "user.age", "to": "profile.age"},
                {"from": "missing.x", "to": "y"},
            ],
        },
    )
    assert out == {"json": {"user": {"full-name": "Ada"}, "meta": 1, "profile": {"age": 36}}}
    assert document == {"user": {"name": "Ada", "age": 36}, "meta": 1}, "the input is not mutated"


async def test_rename_fields_literal_dotted_key_wins(run):
    """A top-level key containing a dot is renamed as-is, as in Instill."""
    out = await run(COMPONENT, "TASK_RENAME_FIELDS", {"json": {"a.b": 1}, "fields": [{"from": "a.b", "to": "c"}]})
    assert out == {"json": {"c": 1}}


async def test_rename_fields_validates_its_input(run):
    """Missing fields, a non-object json or an unknown strategy are component errors."""
    with pytest.raises(ComponentError, match="JSON and fields are required"):
        await run(COMPONENT, "TASK_RENAME_FIELDS", {"json": {"a": 1}, "fields": []})
    with pytest.raises(ComponentError, match="must be an object"):
        await run(COMPONENT, "TASK_RENAME_FIELDS", {"json": [1], "fields": [{"from": "a", "to": "b"}]})
    with pytest.raises(ComponentError, match="Conflict resolution strategy is invalid"):
        await run(
            COMPONENT,
            "TASK_RENAME_FIELDS",
            {"json": {"a": 1}, "fields": [{"from": "a", "to": "b"}], "conflict-resolution": "merge"},
        )


def test_input_schemas_accept_instill_inputs():
    """Instill-style inputs validate against the declared schemas."""
    jsonschema.validate({"json-value": {"a": 1}, "jq-filter": ".a"}, COMPONENT.tasks["TASK_JQ"].input_schema)
    jsonschema.validate({"json-string": "{}", "jq-filter": "."}, COMPONENT.tasks["TASK_JQ"].input_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"json-value": 1}, COMPONENT.tasks["TASK_JQ"].input_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"json": {}, "fields": [{"from": "a"}]}, COMPONENT.tasks["TASK_RENAME_FIELDS"].input_schema)
