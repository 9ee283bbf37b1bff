"""Secret values never leave the engine: the masker, and everything ``execute()`` hands out."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from pipelines.engine import Event, File, Registry, execute, parse_recipe
from pipelines.engine.masking import MASK, Masker, masker_for

KEY = "sk-live-4f9a/b+c&d"


def test_masks_every_occurrence_inside_strings_at_any_depth() -> None:
    """``Bearer <key>`` becomes ``Bearer ***``; dicts, lists, tuples and keys are walked."""
    masker = Masker([KEY])
    value = {
        "headers": {"Authorization": f"Bearer {KEY}"},
        "urls": [f"https://api.example/v1?key={KEY}&x={KEY}", ("plain", f"{KEY}")],
        KEY: 1,
        "n": 3,
        "none": None,
    }
    assert masker(value) == {
        "headers": {"Authorization": "Bearer ***"},
        "urls": ["https://api.example/v1?key=***&x=***", ["plain", "***"]],
        MASK: 1,
        "n": 3,
        "none": None,
    }


def test_masks_the_encodings_a_value_travels_in() -> None:
    """URL-quoted, form-encoded, JSON-escaped and HTML-escaped forms are masked too."""
    tricky = 'p@ss "word"/é+&<x>'
    masker = Masker([tricky])
    for form in (
        urllib.parse.quote(tricky, safe=""),
        urllib.parse.quote(tricky),
        urllib.parse.quote_plus(tricky),
        json.dumps(tricky)[1:-1],
        json.dumps(tricky, ensure_ascii=False)[1:-1],
    ):
        assert masker(f"before {form} after") == "before *** after", form
    body = json.dumps({"token": tricky})
    assert tricky not in masker(body) and json.dumps(tricky)[1:-1] not in masker(body)
    assert (
        masker(
            f"<b>{tricky.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace(chr(34), '&quot;')}</b>"
        )
        == "<b>***</b>"
    )


def test_short_values_are_masked_only_as_whole_strings() -> None:
    """A 1–3 character value would mangle (and reveal itself in) other text: only a
    string equal to it is masked."""
    masker = Masker(["ab", "xy1"])
    assert masker({"a": "ab", "b": "xy1", "c": "abc xy1z"}) == {"a": MASK, "b": MASK, "c": "abc xy1z"}


def test_longest_value_wins_and_nothing_is_copied_without_secrets() -> None:
    """A value containing another is masked whole; untouched values come back as the same objects."""
    masker = Masker(["secret-token", "secret-token-extended"])
    assert masker("x secret-token-extended y") == "x *** y"
    clean = {"a": [1, {"b": "hello"}], "f": File(b"secret-token", mime_type="text/plain")}
    assert masker(clean) is clean
    original = {"a": ["secret-token"]}
    masked = masker(original)
    assert masked == {"a": [MASK]} and original == {"a": ["secret-token"]}


def test_no_secrets_means_no_masker() -> None:
    """A row without secrets gets no masker at all, so it does no masking work."""
    assert masker_for({}) is None
    assert masker_for({"empty": ""}) is None
    assert masker_for({"k": "value"}) is not None


async def _run(
    registry: Registry, recipe: dict[str, Any], rows: list[dict[str, Any]], secrets: Any
) -> tuple[Any, list[Event]]:
    parsed = parse_recipe(recipe, registry=registry)
    events: list[Event] = []
    result = await execute(parsed, parsed.bind_rows(rows), secrets=secrets, on_event=events.append)
    return result, events


def _everything(result: Any, events: list[Event]) -> str:
    """All the engine hands out, as the text surfaces are made of."""
    parts = [
        json.dumps(result.outputs_json()),
        json.dumps(result.traces(full=True)),
        result.error_message,
        *(json.dumps(event.payload()) for event in events),
        *(repr(component) for row in result.rows for component in row.components.values()),
    ]
    return "\n".join(parts)


async def test_events_results_and_outputs_carry_no_secret_value(registry: Registry) -> None:
    """Input, output and status events, traces, component results and row outputs show
    ``***`` where a secret was; the next component still receives the real value."""
    recipe = {
        "component": {
            "call": {
                "type": "echo",
                "task": "TASK_ECHO",
                "input": {
                    "value": {"Authorization": "Bearer ${secret.api-key}", "url": "https://x/?k=${secret.api-key}"}
                },
                "setup": {"api-key": "${secret.api-key}"},
            },
            "next": {
                "type": "echo",
                "task": "TASK_ECHO",
                "input": {"value": "${call.output.value.Authorization}"},
                "condition": f'${{call.output.value.Authorization}} == "Bearer {KEY}"',
            },
        },
        "output": {"auth": {"value": "${next.output.value}"}, "raw": {"value": "${call.output.setup}"}},
    }
    result, events = await _run(registry, recipe, [{}], {"api-key": KEY})
    assert KEY not in _everything(result, events)
    call = result.rows[0].components["call"]
    assert call.inputs == {"value": {"Authorization": "Bearer ***", "url": "https://x/?k=***"}}
    assert call.outputs["setup"] == {"api-key": "***"}
    # The condition compared the real header: the next component ran.
    assert result.rows[0].components["next"].status == "COMPLETED"
    assert result.outputs_json() == [{"auth": "Bearer ***", "raw": {"api-key": "***"}}]
    inputs = [event.payload()["input"] for event in events if event.name == "COMPONENT_INPUT_UPDATED"]
    assert inputs[0] == {"value": {"Authorization": "Bearer ***", "url": "https://x/?k=***"}}


async def test_error_messages_are_masked(registry: Registry) -> None:
    """A component error quoting the secret (e.g. ``request to '<url>' refused``) is masked
    in the error event, the trace, the result and the run's error message."""
    recipe = {
        "component": {
            "bad": {
                "type": "fail",
                "task": "TASK_FAIL",
                "input": {"message": "request to 'https://h/?k=${secret.k}' refused"},
            }
        }
    }
    result, events = await _run(registry, recipe, [{}], {"k": KEY})
    assert result.rows[0].components["bad"].error == "request to 'https://h/?k=***' refused"
    assert result.error_message.endswith("request to 'https://h/?k=***' refused")
    assert KEY not in _everything(result, events)
    errors = [event.payload() for event in events if event.name == "COMPONENT_ERROR_UPDATED"]
    assert errors and errors[0]["error"]["message"] == "request to 'https://h/?k=***' refused"


async def test_per_row_secrets_mask_their_own_row(registry: Registry) -> None:
    """Per-row secret overrides (``data[].secret``) are masked in their row."""
    recipe = {
        "component": {"e": {"type": "echo", "task": "TASK_ECHO", "input": {"value": "token=${secret.k}"}}},
        "output": {"v": {"value": "${e.output.value}"}},
    }
    result, events = await _run(registry, recipe, [{}, {}], [{"k": "row-zero-key"}, {"k": "row-one-key"}])
    assert result.outputs_json() == [{"v": "token=***"}, {"v": "token=***"}]
    text = _everything(result, events)
    assert "row-zero-key" not in text and "row-one-key" not in text


async def test_streamed_partial_outputs_are_masked(registry: Registry) -> None:
    """Partial outputs a streaming task publishes are masked like final ones."""
    recipe = {
        "component": {"s": {"type": "stream", "task": "TASK_STREAM", "input": {"words": ["a ", "${secret.k}", " b"]}}},
        "output": {"t": {"value": "${s.output.text}"}},
    }
    result, events = await _run(registry, recipe, [{}], {"k": KEY})
    partials = [event.payload()["output"] for event in events if event.name == "COMPONENT_OUTPUT_UPDATED"]
    assert len(partials) >= 3 and all(KEY not in json.dumps(p) for p in partials)
    assert result.outputs_json() == [{"t": "a *** b"}]


async def test_a_secret_streamed_piece_by_piece_never_shows_in_a_partial_output(registry: Registry) -> None:
    """A streamed answer that spells a secret out token by token: no snapshot shows it,
    not even all but its last characters (each snapshot ends inside the secret)."""
    words = ["echo ", *KEY, " done"]
    recipe = {
        "component": {"s": {"type": "stream", "task": "TASK_STREAM", "input": {"words": words}}},
        "output": {"t": {"value": "${s.output.text}"}},
    }
    result, events = await _run(registry, recipe, [{}], {"k": KEY})
    snapshots = [json.dumps(event.payload()) for event in events if "output" in event.payload()]
    assert len(snapshots) > len(KEY)
    for snapshot in snapshots:
        for size in range(4, len(KEY) + 1):
            assert KEY[:size] not in snapshot, (size, snapshot)
    assert result.outputs_json() == [{"t": "echo *** done"}]


def test_partial_masking_hides_a_secret_cut_off_at_the_end() -> None:
    """Only the end of a growing snapshot is checked for a secret's beginning, and only
    from four characters on (shorter beginnings would blank every answer ending in 's')."""
    masker = Masker([KEY])
    assert masker.partial(f"token {KEY[:10]}") == "token ***"
    assert masker.partial(f"token {KEY[:3]}") == f"token {KEY[:3]}"
    assert masker.partial(f"{KEY[:10]} and more") == f"{KEY[:10]} and more"
    assert masker(f"token {KEY[:10]}") == f"token {KEY[:10]}"  # final values: whole secrets only
