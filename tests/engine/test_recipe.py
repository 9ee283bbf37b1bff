"""Recipe parsing and validation: every problem is reported with its location."""

from __future__ import annotations

import re

import pytest

from pipelines.engine import Problem, RecipeInvalid, Registry, parse_recipe, validate_recipe
from pipelines.engine.references import Ref

GOOD = """
version: v1beta
on:
  slack: {}
variable:
  prompt:
    title: Prompt
    description: The question
    type: string
    required: true
    instill-ui-order: 1
  count:
    format: integer
    default: 2
    instill-ui-order: 0
  pics:
    instill-format: array:image/*
  doc:
    type: "*/*"
  meta:
    type: semi-structured/json
component:
  up:
    type: text
    task: TASK_UPPER
    input:
      text: ${variable.prompt}
  say:
    type: echo
    task: TASK_ECHO
    input:
      value: "${up.output.text} x${variable.count}"
    setup:
      api-key: ${secret.my-key}
    condition: ${variable.count} > 1
output:
  answer:
    title: Answer
    value: ${say.output.value}
  upper:
    value: ${up.output.text}
    instill-ui-order: 0
"""


def locations(problems: list[Problem]) -> dict[str, str]:
    return {p.location: p.error for p in problems}


def test_parse_yaml_recipe(registry: Registry) -> None:
    """A valid YAML recipe compiles: variables ordered, types normalised, graph computed."""
    recipe = parse_recipe(GOOD, registry=registry)
    assert recipe.version == "v1beta"
    assert [v.id for v in recipe.variables] == ["count", "prompt", "pics", "doc", "meta"]
    types = {v.id: v.type for v in recipe.variables}
    assert types == {"count": "integer", "prompt": "string", "pics": "array:image", "doc": "file", "meta": "json"}
    count = recipe.variable("count")
    assert count is not None and count.has_default and count.default == 2 and not count.required
    assert list(recipe.components) == ["up", "say"]
    assert recipe.components["say"].hard_deps == frozenset({"up"})
    assert recipe.graph.initial == ("up",)
    assert isinstance(recipe.outputs["answer"].value, Ref)
    # YAML 1.2 scalars: `on` stays a string key, so raw is JSON-able.
    assert "on" in recipe.raw and recipe.raw["component"]["up"]["input"]["text"] == "${variable.prompt}"


def test_parse_dict_recipe(registry: Registry) -> None:
    """A dict is accepted as well as YAML text."""
    recipe = parse_recipe(
        {"variable": {"a": {"type": "string"}}, "output": {"o": {"value": "${variable.a}"}}}, registry=registry
    )
    assert recipe.version is None and [v.id for v in recipe.variables] == ["a"]
    assert validate_recipe({"component": {}}, registry=registry) == []


def test_data_specification(registry: Registry) -> None:
    """The data specification is a JSON Schema of variables and outputs."""
    spec = parse_recipe(GOOD, registry=registry).data_specification()
    inp = spec["input"]
    assert inp["type"] == "object" and inp["required"] == ["prompt"]
    assert inp["properties"]["prompt"] == {
        "type": "string",
        "instillFormat": "string",
        "title": "Prompt",
        "description": "The question",
        "instillUiOrder": 1,
    }
    assert inp["properties"]["count"]["default"] == 2
    assert inp["properties"]["pics"]["type"] == "array"
    assert inp["properties"]["pics"]["items"]["instillFormat"] == "image"
    assert "type" not in inp["properties"]["meta"]
    assert list(inp["properties"]) == ["count", "prompt", "pics", "doc", "meta"]
    assert spec["output"]["properties"]["answer"]["title"] == "Answer"
    assert spec["output"]["properties"]["upper"]["instillUiOrder"] == 0


def test_yaml_syntax_error_reports_the_line(registry: Registry) -> None:
    """Broken YAML is one problem at `recipe` naming the line."""
    problems = validate_recipe("variable:\n  a: [1, 2\ncomponent: {}\n", registry=registry)
    assert len(problems) == 1
    assert problems[0].location == "recipe" and "line" in problems[0].error
    with pytest.raises(RecipeInvalid) as info:
        parse_recipe("a: b: c", registry=registry)
    assert info.value.problems[0].as_dict()["location"] == "recipe"


def test_top_level_shape(registry: Registry) -> None:
    """version must be a string; variable, component and output must be maps."""
    problems = locations(
        validate_recipe({"version": 1, "variable": [], "component": "x", "output": 3}, registry=registry)
    )
    assert set(problems) == {"version", "variable", "component", "output"}
    assert validate_recipe("- a\n- b\n", registry=registry)[0].location == "recipe"


def test_all_problems_are_collected(registry: Registry) -> None:
    """Validation reports every problem, each at its location, not just the first."""
    recipe = {
        "variable": {
            "ok": {"type": "string"},
            "9bad": {"type": "string"},
            "untyped": {"title": "x"},
            "weird": {"type": "matrix"},
            "flag": {"type": "boolean", "required": "yes", "default": "nope"},
        },
        "component": {
            "variable": {"type": "echo", "task": "TASK_ECHO"},
            "bad id!": {"type": "echo", "task": "TASK_ECHO"},
            "nope": {"type": "teleport", "task": "X"},
            "notask": {"type": "text", "task": "TASK_FLY"},
            "count": {
                "type": "text",
                "task": "TASK_COUNT",
                "input": {"size": "big", "mode": "c", "text": "${variable.missing}"},
            },
            "count2": {"type": "text", "task": "TASK_COUNT", "input": {"size": 0}},
            "up": {"type": "text", "task": "TASK_UPPER", "input": {"text": "${ghost.output.text}"}},
            "up2": {"type": "text", "task": "TASK_UPPER", "input": {"text": "${up.output.nothing}"}},
            "up3": {
                "type": "text",
                "task": "TASK_UPPER",
                "input": {"text": "${up.result}"},
                "condition": "${up.output.text} ==",
            },
            "up4": {"type": "text", "task": "TASK_UPPER", "input": {"text": "x ${up.output.text"}},
        },
        "output": {"o": {"value": "${missing.output.x}"}, "p": {"title": "no value"}},
    }
    problems = locations(validate_recipe(recipe, registry=registry))
    expected = {
        "variable.9bad",
        "variable.untyped.type",
        "variable.weird.type",
        "variable.flag.required",
        "variable.flag.default",
        "component.variable",
        "component.bad id!",
        "component.nope.type",
        "component.notask.task",
        "component.count.input.size",
        "component.count.input.mode",
        "component.count.input.text",
        "component.count2.input.text",
        "component.count2.input.size",
        "component.up.input.text",
        "component.up2.input.text",
        "component.up3.input.text",
        "component.up3.condition",
        "component.up4.input.text",
        "output.o.value",
        "output.p.value",
    }
    assert expected <= set(problems), sorted(expected - set(problems))
    assert problems["component.nope.type"].endswith(
        "the known types are block, echo, fail, sleep, stream, text and iterator"
    )
    assert "TASK_UPPER, TASK_COUNT" in problems["component.notask.task"]
    assert problems["component.count.input.text"] == '${variable.missing} references an unknown variable "missing"'
    assert problems["component.count2.input.text"] == 'missing required field "text"'
    assert 'has no output "nothing"' in problems["component.up2.input.text"]
    assert "unknown component" in problems["component.up.input.text"]
    assert "reserved" in problems["component.variable"]
    assert "invalid condition" in problems["component.up3.condition"]
    assert "unclosed reference" in problems["component.up4.input.text"]
    assert "must be a boolean" in problems["variable.flag.default"]


def test_a_broken_component_is_one_problem_not_one_per_reference(registry: Registry) -> None:
    """A component with an unknown type or task is reported once, at its type or task;
    references to it (from siblings, an iterator's inside, the outputs) are not reported
    again as "unknown component"."""
    recipe = {
        "variable": {"text": {"type": "string"}},
        "component": {
            "typo": {"type": "text", "task": "TASK_UPPERCASE", "input": {"text": "${variable.text}"}},
            "alien": {"type": "teleport", "task": "TASK_BEAM"},
            "notask": {"type": "text"},
            "after": {
                "type": "text",
                "task": "TASK_UPPER",
                "input": {"text": "${typo.output.text} ${alien.output.x} ${notask.output.y}"},
            },
            "each": {
                "type": "iterator",
                "input": "${typo.output.texts}",
                "component": {
                    "inner": {"type": "text", "task": "TASK_SHOUT", "input": {"text": "${each.element}"}},
                    "inner2": {"type": "text", "task": "TASK_UPPER", "input": {"text": "${inner.output.text}"}},
                },
                "output-elements": {"r": "${inner.output.text}"},
            },
        },
        "output": {"o": {"value": "${typo.output.text}"}, "p": {"value": "${each.output.r} ${alien.output.x}"}},
    }
    problems = validate_recipe(recipe, registry=registry)
    assert [p.location for p in problems] == [
        "component.typo.task",
        "component.alien.type",
        "component.notask.task",
        "component.each.component.inner.task",
    ], problems
    assert problems[0].error.startswith('unknown task "TASK_UPPERCASE" for component type "text"; known tasks: ')


def test_the_summary_counts_the_problems_left_out(registry: Registry) -> None:
    """RecipeInvalid's message shows five problems and says how many more *problems*
    there are: after a list of known types, "and 1 more" would read as one more type."""
    recipe = {"component": {f"c{i}": {"type": "teleport"} for i in range(6)}}
    with pytest.raises(RecipeInvalid) as info:
        parse_recipe(recipe, registry=registry)
    message = str(info.value)
    assert message.count("the known types are ") == 5
    assert message.endswith("(and 1 more problem)"), message
    recipe["component"]["c6"] = {"type": "teleport"}
    with pytest.raises(RecipeInvalid) as info:
        parse_recipe(recipe, registry=registry)
    assert str(info.value).endswith("(and 2 more problems)")


def test_references_are_accepted_for_any_schema_type(registry: Registry) -> None:
    """A `${...}` string fits wherever the schema wants an integer, enum, object..."""
    recipe = {
        "variable": {"n": {"type": "integer"}, "m": {"type": "string"}},
        "component": {
            "c": {
                "type": "text",
                "task": "TASK_COUNT",
                "input": {"text": "t", "size": "${variable.n}", "mode": "${variable.m}"},
            }
        },
    }
    assert validate_recipe(recipe, registry=registry) == []


def test_plaintext_credentials_are_forbidden(registry: Registry) -> None:
    """Credential setup fields (dotted paths too) must be exactly a ${secret.*} reference."""
    recipe = {
        "component": {
            "a": {
                "type": "echo",
                "task": "TASK_ECHO",
                "setup": {"api-key": "sk-123", "auth": {"token": "${secret.t} x"}},
            },
            "b": {
                "type": "echo",
                "task": "TASK_ECHO",
                "setup": {"api-key": "${secret.k}", "auth": {"token": "${variable.x}"}},
            },
            "c": {"type": "echo", "task": "TASK_ECHO", "setup": {"api-key": "${secret.k}"}},
        },
    }
    problems = locations(validate_recipe(recipe, registry=registry))
    message = (
        "Plaintext values are forbidden in credential fields. "
        "You can create a secret and reference it with the syntax ${secret.my-secret}."
    )
    assert problems["component.a.setup.api-key"] == message
    assert problems["component.a.setup.auth.token"] == message
    assert problems["component.b.setup.auth.token"] == message
    assert not any(loc.startswith("component.c") for loc in problems)


def test_cycles_name_the_components(registry: Registry) -> None:
    """A reference cycle is reported with the components on it."""
    recipe = {
        "component": {
            "a": {"type": "text", "task": "TASK_UPPER", "input": {"text": "${c.output.text}"}},
            "b": {"type": "text", "task": "TASK_UPPER", "input": {"text": "${a.output.text}"}},
            "c": {"type": "text", "task": "TASK_UPPER", "input": {"text": "${b.output.text}"}},
            "self": {"type": "text", "task": "TASK_UPPER", "input": {"text": "${self.output.text}"}},
        }
    }
    problems = validate_recipe(recipe, registry=registry)
    cycle = [p for p in problems if "cycle" in p.error]
    assert len(cycle) == 2
    message = next(p.error for p in cycle if "form a cycle" in p.error)
    assert all(name in message for name in ("a", "b", "c"))
    assert any(p.location == "component.self" for p in cycle)


def test_reference_roots_and_component_fields(registry: Registry) -> None:
    """Component references need .input/.output/.setup/.status.<x>/.error.message; roots must exist."""
    recipe = {
        "variable": {"v": {"type": "string"}},
        "component": {
            "a": {"type": "text", "task": "TASK_UPPER", "input": {"text": "${variable.v}"}},
            "b": {
                "type": "echo",
                "task": "TASK_ECHO",
                "input": {
                    "value": {
                        "s": "${a.status.done}",
                        "e": "${a.error.text}",
                        "ok1": "${a.status.errored}",
                        "ok2": "${a.error.message}",
                        "ok3": "${a.input.text}",
                        "ok4": "${secret.k}",
                        "r": "${wat.x}",
                        "v": "${variable}",
                        "conn": "${connection.c}",
                    }
                },
            },
        },
    }
    problems = locations(validate_recipe(recipe, registry=registry))
    assert set(problems) == {
        "component.b.input.value.s",
        "component.b.input.value.e",
        "component.b.input.value.r",
        "component.b.input.value.v",
        "component.b.input.value.conn",
    }
    parsed = parse_recipe(
        {
            **recipe,
            "component": {
                **recipe["component"],
                "b": {"type": "echo", "task": "TASK_ECHO", "input": {"value": "${a.status.errored}"}},
            },
        },
        registry=registry,
    )
    # status/error references wait for `a` without inheriting its failure.
    assert parsed.components["b"].soft_deps == {"a"} and not parsed.components["b"].hard_deps


def test_iterator_structure(registry: Registry) -> None:
    """Iterator problems are located inside the iterator, e.g. component.loop.component.inner.task."""
    recipe = {
        "variable": {"xs": {"type": "array:string"}},
        "component": {
            "loop": {
                "type": "iterator",
                "input": "${variable.xs}",
                "component": {
                    "inner": {"type": "text", "task": "TASK_NOPE"},
                    "bad": {"type": "text", "task": "TASK_UPPER", "input": {"text": "${loop.output.x}"}},
                },
                "output-elements": {"r": "${ghost.output.text}"},
            },
            "both": {"type": "iterator", "input": "${variable.xs}", "range": [0, 2], "component": {}},
            "none": {"type": "iterator", "component": {"x": {"type": "echo", "task": "TASK_ECHO"}}},
            "badrange": {
                "type": "iterator",
                "range": [0, "x", 0],
                "component": {"x2": {"type": "echo", "task": "TASK_ECHO"}},
            },
        },
    }
    problems = locations(validate_recipe(recipe, registry=registry))
    assert "component.loop.component.inner.task" in problems
    assert "component.loop.component.bad.input.text" in problems
    assert "component.loop.output-elements.r" in problems
    assert "component.both" in problems and "component.both.component" in problems
    assert "component.none.input" in problems
    assert "component.badrange.range[1]" in problems and "component.badrange.range[2]" in problems


def test_valid_iterator_dependencies(registry: Registry) -> None:
    """An iterator depends on what its input and its nested components reference outside it."""
    recipe = parse_recipe(
        {
            "variable": {"doc": {"type": "string"}},
            "component": {
                "up": {"type": "text", "task": "TASK_UPPER", "input": {"text": "${variable.doc}"}},
                "other": {"type": "text", "task": "TASK_UPPER", "input": {"text": "${variable.doc}"}},
                "loop": {
                    "type": "iterator",
                    "range": {"start": 0, "stop": "${up.output.text:length}"},
                    "index": "k",
                    "component": {
                        "e": {
                            "type": "echo",
                            "task": "TASK_ECHO",
                            "input": {"value": "${other.output.text} ${k} ${loop.element}"},
                        },
                    },
                    "output-elements": {"vals": "${e.output.value}"},
                },
            },
            "output": {"o": {"value": "${loop.output.vals}"}},
        },
        registry=registry,
    )
    loop = recipe.components["loop"]
    assert loop.hard_deps == {"up", "other"}
    assert loop.iterator is not None and loop.iterator.index == "k"
    assert list(loop.iterator.graph.components) == ["e"]
    problems = validate_recipe({**recipe.raw, "output": {"o": {"value": "${loop.output.nope}"}}}, registry=registry)
    assert [p.location for p in problems] == ["output.o.value"]


def test_outputs_cannot_return_secrets(registry: Registry) -> None:
    """``${secret.*}`` in an output, or an output reading a component's input or setup
    that holds one (directly, embedded, through another component or an iterator), is a
    recipe error at the output's place."""
    recipe = {
        "variable": {"v": {"type": "string"}, "xs": {"type": "array:string"}},
        "component": {
            "call": {
                "type": "echo",
                "task": "TASK_ECHO",
                "input": {"value": {"headers": {"Authorization": "Bearer ${secret.api-key}"}, "url": "${variable.v}"}},
                "setup": {"api-key": "${secret.api-key}"},
            },
            "copy": {"type": "echo", "task": "TASK_ECHO", "input": {"value": "${call.input.value.headers}"}},
            "loop": {
                "type": "iterator",
                "input": "${variable.xs}",
                "component": {
                    "inner": {"type": "echo", "task": "TASK_ECHO", "input": {"value": "${secret.k} ${loop.element}"}}
                },
                "output-elements": {"leak": "${inner.input.value}", "fine": "${inner.output.value}"},
            },
        },
        "output": {
            "direct": {"value": "${secret.api-key}"},
            "embedded": {"value": {"nested": ["token: ${secret.api-key}"]}},
            "headers": {"value": "${call.input.value.headers}"},
            "whole": {"value": "${call.input}"},
            "setup": {"value": "${call.setup.api-key}"},
            "chained": {"value": "${copy.input.value}"},
            "iterated": {"value": "${loop.output.leak}"},
            "url": {"value": "${call.input.value.url}"},
            "result": {"value": "${call.output.value}"},
            "fine": {"value": "${loop.output.fine}"},
        },
    }
    problems = locations(validate_recipe(recipe, registry=registry))
    assert set(problems) == {
        "output.direct.value",
        "output.embedded.value.nested[0]",
        "output.headers.value",
        "output.whole.value",
        "output.setup.value",
        "output.chained.value",
        "output.iterated.value",
    }
    assert all("outputs cannot expose secrets" in error for error in problems.values())
    assert "${secret.api-key}" in problems["output.chained.value"]
    with pytest.raises(RecipeInvalid, match=re.escape("output.direct.value")):
        parse_recipe(recipe, registry=registry)
