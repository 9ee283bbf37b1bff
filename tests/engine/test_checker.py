"""The checker catches what Instill's would, with help: unknown keys at every level
(with a did-you-mean), YAML errors at the line they start on and all of them, and
references checked against the type they resolve to, in short messages."""

from __future__ import annotations

import pytest

from pipelines.components import default_registry
from pipelines.engine import Problem, RecipeInvalid, parse_recipe, validate_recipe
from pipelines.engine.checks import VALUE_CAP

REGISTRY = default_registry()

# A recipe as Instill documents them: no version.
CHAT = """\
variable:
  prompt:
    type: string
component:
  ask:
    type: openai
    task: TASK_TEXT_GENERATION
    setup:
      api-key: ${secret.openai}
    input:
      model: gpt-4o-mini
      prompt: ${variable.prompt}
      temperature: 0.2
output:
  answer:
    value: ${ask.output.texts}
"""

CHUNK = """\
version: v1beta
variable:
  text:
    type: string
  chunk-strategy:
    type: {strategy_type}
component:
  split:
    type: text
    task: TASK_CHUNK_TEXT
    input:
      text: ${{variable.text}}
      strategy:
        setting:
          chunk-method: ${{variable.chunk-strategy}}
          chunk-size: 200
output:
  chunks:
    value: ${{split.output.text-chunks}}
"""


def problems(text: str) -> list[Problem]:
    return validate_recipe(text, registry=REGISTRY)


def errors(text: str) -> list[Problem]:
    return [p for p in problems(text) if p.severity == "error"]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_recipe_without_version_is_valid_without_warnings():
    recipe = parse_recipe(CHAT, registry=REGISTRY)
    assert recipe.version is None
    assert recipe.warnings == ()
    assert problems(CHAT) == []


def test_an_unknown_top_level_key_is_a_warning_with_a_suggestion():
    text = CHAT.replace("output:", "outptu:\n  x:\n    value: 1\noutput:")
    found = problems(text)
    assert [(p.location, p.severity, p.line) for p in found] == [("outptu", "warning", line_of(text, "outptu"))]
    assert "did you mean `output`?" in found[0].error
    # A warning does not stop the recipe: it parses, and says what it ignored.
    recipe = parse_recipe(text, registry=REGISTRY)
    assert [p.location for p in recipe.warnings] == ["outptu"]


def test_an_unknown_top_level_key_without_a_close_name_lists_the_known_ones():
    found = problems("colour: blue\n" + CHAT)
    assert [(p.location, p.severity, p.line) for p in found] == [("colour", "warning", 1)]
    assert "`colour`" in found[0].error and "`variable`" in found[0].error and "`component`" in found[0].error


def test_a_misspelled_input_is_an_error_at_its_line_with_a_suggestion():
    text = CHAT.replace("temperature: 0.2", "tempurature: 0.2")
    found = problems(text)
    assert len(found) == 1
    (problem,) = found
    assert problem.severity == "error"
    assert problem.location == "component.ask.input.tempurature"
    assert problem.line == line_of(text, "tempurature")
    assert problem.error.endswith("did you mean `temperature`?")
    with pytest.raises(RecipeInvalid):
        parse_recipe(text, registry=REGISTRY)


def test_an_input_with_no_close_name_lists_the_task_inputs_briefly():
    (problem,) = errors(CHAT.replace("temperature: 0.2", "zzzzz: 1"))
    assert "TASK_TEXT_GENERATION has no input `zzzzz`" in problem.error
    assert "`prompt`" in problem.error and "more" in problem.error  # capped, not all 13


def test_unknown_keys_are_found_in_nested_inputs_and_in_setup():
    text = CHUNK.format(strategy_type="string").replace("chunk-size: 200", "chunk-sise: 200")
    (nested,) = problems(text)
    assert nested.location == "component.split.input.strategy.setting.chunk-sise"
    assert nested.severity == "error" and nested.line == line_of(text, "chunk-sise")
    assert "did you mean `chunk-size`?" in nested.error and "`strategy.setting`" in nested.error
    text = CHAT.replace("api-key: ${secret.openai}", "api-key: ${secret.openai}\n      base_url: http://x")
    (setup,) = problems(text)
    assert setup.location == "component.ask.setup.base_url" and setup.severity == "error"
    assert "openai setup has no field `base_url`; did you mean `base-url`?" in setup.error


def test_unknown_keys_of_variables_components_and_outputs_are_warnings():
    text = (
        CHAT.replace("    type: string\n", "    type: string\n    titel: Prompt\n")
        .replace("    task: TASK_TEXT_GENERATION\n", "    task: TASK_TEXT_GENERATION\n    conditon: true\n")
        .replace("    value: ${ask.output.texts}", "    value: ${ask.output.texts}\n    descripton: x")
    )
    found = {p.location: p for p in problems(text)}
    assert set(found) == {"variable.prompt.titel", "component.ask.conditon", "output.answer.descripton"}
    assert all(p.severity == "warning" for p in found.values())
    assert "did you mean `title`?" in found["variable.prompt.titel"].error
    assert "did you mean `condition`?" in found["component.ask.conditon"].error
    assert "did you mean `description`?" in found["output.answer.descripton"].error


def test_free_form_inputs_take_any_key():
    text = """\
component:
  call:
    type: http
    task: TASK_POST
    input:
      endpoint-url: https://example.com
      header:
        X-Anything: "1"
      body:
        whatever: [1, 2]
"""
    assert problems(text) == []


def test_an_unclosed_quote_is_reported_at_the_line_of_the_quote():
    text = CHAT.replace("model: gpt-4o-mini", 'model: "gpt-4o-mini')
    found = errors(text)
    assert found[0].location == "recipe"
    assert found[0].line == line_of(text, '"gpt-4o-mini')
    assert f"line {found[0].line}, column" in found[0].error
    assert "never closed" in found[0].error
    assert "end of stream" not in found[0].error.split("(")[0]


def test_errors_on_different_lines_are_all_reported():
    text = CHAT.replace("model: gpt-4o-mini", 'model: "gpt-4o-mini').replace(
        "temperature: 0.2", "tempurature: 0.2\n      stop: [a"
    )
    found = errors(text)
    lines = {p.line for p in found}
    assert line_of(text, '"gpt-4o-mini') in lines  # the unclosed quote
    assert line_of(text, "stop: [a") in lines  # the unclosed list
    assert line_of(text, "tempurature") in lines  # the misspelled input, read past the syntax errors
    tempurature = next(p for p in found if p.location == "component.ask.input.tempurature")
    assert "did you mean `temperature`?" in tempurature.error


def test_a_repaired_line_does_not_cause_made_up_problems():
    # The broken line holds a required input: its absence is an effect of the repair.
    text = CHAT.replace("prompt: ${variable.prompt}", 'prompt: "${variable.prompt}')
    found = errors(text)
    assert [p.location for p in found] == ["recipe"]


def test_a_one_of_input_holding_a_reference_of_the_right_type_is_accepted():
    text = CHUNK.format(strategy_type="string")
    assert problems(text) == []
    parse_recipe(text, registry=REGISTRY)


def test_a_one_of_input_holding_a_reference_of_the_wrong_type_is_refused_briefly():
    text = CHUNK.format(strategy_type="number")
    (problem,) = problems(text)
    assert problem.location == "component.split.input.strategy.setting.chunk-method"
    assert problem.line == line_of(text, "chunk-method")
    assert "${variable.chunk-strategy}" in problem.error and "number" in problem.error and "string" in problem.error
    assert len(problem.error) < 200


def test_a_reference_to_a_variable_of_another_type_is_refused():
    text = CHAT.replace("temperature: 0.2", "temperature: ${variable.prompt}")
    (problem,) = problems(text)
    assert problem.location == "component.ask.input.temperature"
    assert "resolves to a string" in problem.error and "takes a number" in problem.error


def test_an_integer_variable_fits_a_number_input_and_a_template_is_a_string():
    text = CHAT.replace("  prompt:\n    type: string\n", "  prompt:\n    type: string\n  n:\n    type: integer\n")
    text = text.replace("temperature: 0.2", "temperature: ${variable.n}\n      model: gpt-${variable.n}")
    text = text.replace("      model: gpt-4o-mini\n", "")
    assert problems(text) == []


@pytest.mark.parametrize(
    "value",
    [
        # A map that fits none of the chunking settings.
        "strategy: {setting: {chunk-method: Nope, chunk-size: 1}}",
        "strategy: {setting: 5}",
        "strategy: " + "x" * 500,
    ],
)
def test_no_message_ends_in_the_middle_of_a_dumped_schema(value):
    text = CHUNK.format(strategy_type="string").replace(
        "      strategy:\n        setting:\n          chunk-method: ${variable.chunk-strategy}\n          chunk-size: 200\n",
        f"      {value}\n",
    )
    found = errors(text)
    assert found
    for problem in found:
        assert "'properties'" not in problem.error and "{'" not in problem.error
        assert len(problem.error) < 300
        assert not problem.error.endswith("...")
    long_values = [p for p in found if "xxxxx" in p.error]
    assert all(len(p.error) < VALUE_CAP + 100 for p in long_values)


def test_problems_carry_severity_and_line_in_their_dict():
    text = "colour: blue\n" + CHAT
    (problem,) = problems(text)
    assert problem.as_dict() == {"location": "colour", "error": problem.error, "severity": "warning", "line": 1}
    # A recipe given as JSON has no lines.
    (as_json,) = validate_recipe({"colour": "blue"}, registry=REGISTRY)
    assert "line" not in as_json.as_dict()


def test_a_misspelled_required_input_is_reported_once_as_the_misspelling():
    text = CHAT.replace("prompt: ${variable.prompt}", "promt: ${variable.prompt}")
    (problem,) = problems(text)
    assert problem.location == "component.ask.input.promt" and problem.error.endswith("did you mean `prompt`?")


def test_nested_setup_keys_are_checked_in_the_form_chosen():
    text = """\
component:
  call:
    type: http
    task: TASK_GET
    setup:
      authentication:
        auth-type: BEARER_TOKEN
        tokn: ${secret.token}
    input:
      endpoint-url: https://example.com
"""
    (problem,) = problems(text)
    assert problem.location == "component.call.setup.authentication.tokn" and problem.severity == "error"
    assert problem.line == line_of(text, "tokn")
    assert problem.error == "the http setup has no field `tokn`; did you mean `token`?"


def test_components_inside_an_iterator_are_checked_too():
    text = """\
variable:
  texts:
    type: array:string
component:
  loop:
    type: iterator
    input: ${variable.texts}
    component:
      ask:
        type: openai
        task: TASK_TEXT_GENERATION
        input:
          model: m
          prompt: ${loop.element}
          max-token: 5
    output-elements:
      answers: ${ask.output.texts}
"""
    (problem,) = problems(text)
    assert problem.location == "component.loop.component.ask.input.max-token"
    assert problem.line == line_of(text, "max-token") and problem.error.endswith("did you mean `max-tokens`?")


@pytest.mark.parametrize(
    ("before", "after", "location", "hint"),
    [
        ("${variable.prompt}", "${variable.promt}", "component.ask.input.prompt", "prompt"),
        ("${ask.output.texts}", "${ask.output.text}", "output.answer.value", "texts"),
        ("${ask.output.texts}", "${aks.output.texts}", "output.answer.value", "ask"),
        ("task: TASK_TEXT_GENERATION", "task: TASK_TEXT_GENERATON", "component.ask.task", "TASK_TEXT_GENERATION"),
        ("type: openai", "type: opeani", "component.ask.type", "openai"),
    ],
)
def test_unknown_names_in_values_get_a_did_you_mean_too(before, after, location, hint):
    found = errors(CHAT.replace(before, after))
    assert [p.location for p in found] == [location]
    assert found[0].error.endswith(f"; did you mean `{hint}`?")


def test_an_optional_input_set_to_null_is_left_out_and_a_required_one_is_reported() -> None:
    """Instill's own recipes say `cc: null` (proto-JSON's unset field): accepted; a
    required input set to null is still missing."""
    optional_null = CHAT.replace("      temperature: 0.2\n", "      temperature: null\n      system-message: null\n")
    assert problems(optional_null) == []
    recipe = parse_recipe(optional_null, registry=REGISTRY)
    assert [key for key, _ in recipe.components["ask"].input.items] == ["model", "prompt"]
    required_null = CHAT.replace("      model: gpt-4o-mini\n", "      model: null\n")
    assert [p.location for p in problems(required_null)] == ["component.ask.input.model"]
