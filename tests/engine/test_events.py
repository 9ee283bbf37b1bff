"""Streaming events: exact order and payload shapes, batch indexes, sequence numbers."""

from __future__ import annotations

import re
from typing import Any

from pipelines.engine import (
    ComponentOutputUpdated,
    Event,
    PipelineOutputUpdated,
    Registry,
    execute,
    parse_recipe,
)

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def collect(
    registry: Registry, recipe: dict[str, Any], rows: list[dict[str, Any]], *, async_handler: bool = False
) -> list[Event]:
    parsed = parse_recipe(recipe, registry=registry)
    events: list[Event] = []
    if async_handler:

        async def handler(event: Event) -> None:
            events.append(event)

        await execute(parsed, parsed.bind_rows(rows), registry=registry, on_event=handler)
    else:
        await execute(parsed, parsed.bind_rows(rows), registry=registry, on_event=events.append)
    return events


def strip_time(payload: dict[str, Any]) -> dict[str, Any]:
    assert TIME.match(payload.pop("updateTime"))
    return payload


TWO = {
    "variable": {"p": {"type": "string"}},
    "component": {
        "up": {"type": "text", "task": "TASK_UPPER", "input": {"text": "${variable.p}"}},
        "say": {"type": "echo", "task": "TASK_ECHO", "input": {"value": "${up.output.text}!"}},
    },
    "output": {"a": {"value": "${say.output.value}"}},
}


async def test_two_component_recipe_event_order_and_payloads(registry: Registry) -> None:
    """Events follow Instill's order, with Instill's exact JSON payloads."""
    events = await collect(registry, TWO, [{"p": "hi"}], async_handler=True)
    started = {"started": True, "errored": False, "completed": False}
    c_started = {"started": True, "skipped": False, "errored": False, "completed": False}
    c_done = {"started": True, "skipped": False, "errored": False, "completed": True}
    expected = [
        ("PIPELINE_STATUS_UPDATED", {"batchIndex": 0, "status": started}),
        ("COMPONENT_STATUS_UPDATED", {"componentID": "up", "batchIndex": 0, "status": c_started}),
        ("COMPONENT_INPUT_UPDATED", {"componentID": "up", "batchIndex": 0, "input": {"text": "hi"}}),
        ("COMPONENT_OUTPUT_UPDATED", {"componentID": "up", "batchIndex": 0, "output": {"text": "HI"}}),
        ("PIPELINE_OUTPUT_UPDATED", {"batchIndex": 0, "status": started, "output": {"a": None}}),
        ("COMPONENT_STATUS_UPDATED", {"componentID": "up", "batchIndex": 0, "status": c_done}),
        ("COMPONENT_STATUS_UPDATED", {"componentID": "say", "batchIndex": 0, "status": c_started}),
        ("COMPONENT_INPUT_UPDATED", {"componentID": "say", "batchIndex": 0, "input": {"value": "HI!"}}),
        ("COMPONENT_OUTPUT_UPDATED", {"componentID": "say", "batchIndex": 0, "output": {"value": "HI!", "setup": {}}}),
        ("PIPELINE_OUTPUT_UPDATED", {"batchIndex": 0, "status": started, "output": {"a": "HI!"}}),
        ("COMPONENT_STATUS_UPDATED", {"componentID": "say", "batchIndex": 0, "status": c_done}),
        ("PIPELINE_OUTPUT_UPDATED", {"batchIndex": 0, "status": started, "output": {"a": "HI!"}}),
        (
            "PIPELINE_STATUS_UPDATED",
            {"batchIndex": 0, "status": {"started": True, "errored": False, "completed": True}},
        ),
    ]
    assert [(e.name, strip_time(e.payload())) for e in events] == expected
    assert [e.seq for e in events] == list(range(1, len(expected) + 1))
    assert all(e.update_time.tzinfo is not None for e in events)


async def test_streaming_component_outputs_are_each_followed_by_pipeline_output(registry: Registry) -> None:
    """Each published partial output is a COMPONENT_OUTPUT_UPDATED then a re-rendered PIPELINE_OUTPUT_UPDATED."""
    events = await collect(
        registry,
        {
            "component": {"s": {"type": "stream", "task": "TASK_STREAM", "input": {"words": ["a", "b", "c"]}}},
            "output": {"o": {"value": "${s.output.text}"}},
        },
        [{}],
    )
    names = [e.name for e in events]
    first_output = names.index("COMPONENT_OUTPUT_UPDATED")
    tail = events[first_output:]
    pairs = [(tail[i], tail[i + 1]) for i in range(0, 8, 2)]
    for component_event, pipeline_event in pairs:
        assert isinstance(component_event, ComponentOutputUpdated) and isinstance(pipeline_event, PipelineOutputUpdated)
        assert pipeline_event.payload()["output"]["o"] == component_event.payload()["output"]["text"]
    # three partials, then the final output (cumulative)
    assert [c.payload()["output"]["text"] for c, _ in pairs] == ["a", "ab", "abc", "abc"]
    assert names[-3:] == ["COMPONENT_STATUS_UPDATED", "PIPELINE_OUTPUT_UPDATED", "PIPELINE_STATUS_UPDATED"]


async def test_batch_rows_carry_their_index_and_share_one_sequence(registry: Registry) -> None:
    """With 2 rows, each row's events carry its batchIndex; seq is strictly increasing across rows."""
    events = await collect(registry, TWO, [{"p": "a"}, {"p": "b"}])
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    per_row = {0: [e for e in events if e.batch_index == 0], 1: [e for e in events if e.batch_index == 1]}
    assert len(per_row[0]) == len(per_row[1]) == 13
    for index, row_events in per_row.items():
        assert all(e.payload()["batchIndex"] == index for e in row_events)
        assert row_events[0].name == "PIPELINE_STATUS_UPDATED" and row_events[-1].payload()["status"]["completed"]
    finals = [[e for e in per_row[i] if e.name == "PIPELINE_OUTPUT_UPDATED"][-1] for i in (0, 1)]
    assert [e.payload()["output"]["a"] for e in finals] == ["A!", "B!"]


async def test_error_and_skip_events(registry: Registry) -> None:
    """Errored: error event then status errored; skipped: one status event; the row reports errored."""
    events = await collect(
        registry,
        {
            "component": {
                "bad": {"type": "fail", "task": "TASK_FAIL", "input": {"message": "nope"}},
                "child": {"type": "echo", "task": "TASK_ECHO", "input": {"value": "${bad.output.x}"}},
            },
        },
        [{}],
    )
    shapes = [(e.name, strip_time(e.payload())) for e in events]
    assert shapes[1:] == [
        (
            "COMPONENT_STATUS_UPDATED",
            {
                "componentID": "bad",
                "batchIndex": 0,
                "status": {"started": True, "skipped": False, "errored": False, "completed": False},
            },
        ),
        ("COMPONENT_INPUT_UPDATED", {"componentID": "bad", "batchIndex": 0, "input": {"message": "nope"}}),
        ("COMPONENT_ERROR_UPDATED", {"componentID": "bad", "batchIndex": 0, "error": {"message": "nope"}}),
        (
            "COMPONENT_STATUS_UPDATED",
            {
                "componentID": "bad",
                "batchIndex": 0,
                "status": {"started": True, "skipped": False, "errored": True, "completed": False},
            },
        ),
        (
            "COMPONENT_STATUS_UPDATED",
            {
                "componentID": "child",
                "batchIndex": 0,
                "status": {"started": False, "skipped": True, "errored": False, "completed": False},
            },
        ),
        (
            "PIPELINE_OUTPUT_UPDATED",
            {"batchIndex": 0, "status": {"started": True, "errored": False, "completed": False}, "output": {}},
        ),
        ("PIPELINE_STATUS_UPDATED", {"batchIndex": 0, "status": {"started": True, "errored": True, "completed": True}}),
    ]


async def test_file_outputs_render_as_data_uris_in_payloads(registry: Registry) -> None:
    """Event payloads are plain JSON: Files become data URIs."""
    events = await collect(
        registry,
        {
            "variable": {"f": {"type": "file"}},
            "component": {"e": {"type": "echo", "task": "TASK_ECHO", "input": {"value": "${variable.f}"}}},
            "output": {"o": {"value": "${variable.f}"}},
        },
        [{"f": "data:text/plain;base64,aGk="}],
    )
    inputs = next(e for e in events if e.name == "COMPONENT_INPUT_UPDATED")
    assert inputs.payload()["input"] == {"value": "data:text/plain;base64,aGk="}
    assert events[-2].payload()["output"] == {"o": "data:text/plain;base64,aGk="}
