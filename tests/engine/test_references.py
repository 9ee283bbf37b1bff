"""Reference grammar, typed vs stringified rendering, attributes, unresolved refs."""

from __future__ import annotations

import pytest

from pipelines.engine.references import (
    MISSING,
    Attribute,
    Const,
    IndexVariable,
    Ref,
    ReferenceSyntaxError,
    ReferenceUnresolved,
    Template,
    compile_value,
    parse_reference,
    split_template,
    stringify,
)
from pipelines.engine.values import File

SCOPE = {
    "variable": {"n": 3, "f": 2.0, "x": 1.5, "ok": True, "obj": {"a": 1, "my key": "spaced"}, "list": ["p", "q"]},
    "split": {"output": {"text-chunks": ["one", "two"], "count": 2}},
    "i": 1,
}


def test_grammar_names_indexes_quoted_keys_and_attributes() -> None:
    """Segments .name, [0], ["quoted"], ['single'], [i] and :attr parse into a path."""
    ref = parse_reference(" split.output.text-chunks[0][\"a b\"]['c'][i]:length ")
    assert ref.root == "split"
    assert ref.path == ("output", "text-chunks", 0, "a b", "c", IndexVariable("i"), Attribute("length"))
    assert str(ref) == "${split.output.text-chunks[0][\"a b\"]['c'][i]:length}"


@pytest.mark.parametrize("text", ["", ".x", "a..b", "a[", 'a["x]', "a:", "a b", "a[x y]", "1abc"])
def test_grammar_errors(text: str) -> None:
    """Malformed references raise ReferenceSyntaxError."""
    with pytest.raises(ReferenceSyntaxError):
        parse_reference(text)


def test_unclosed_reference_in_template_is_a_syntax_error() -> None:
    """`${` without `}` is rejected, and braces inside quoted keys do not close it."""
    with pytest.raises(ReferenceSyntaxError):
        split_template("hello ${variable.x")
    parts = split_template('a ${variable.obj["}"]} b')
    assert parts[1].path == ("obj", "}")


def test_exact_reference_renders_the_typed_value() -> None:
    """A string that is exactly one reference yields the value with its type."""
    assert compile_value("${variable.n}").render(SCOPE, True) == 3
    assert compile_value("${variable.obj}").render(SCOPE, True) == {"a": 1, "my key": "spaced"}
    assert compile_value('${variable.obj["my key"]}').render(SCOPE, True) == "spaced"
    assert compile_value("${split.output.text-chunks[1]}").render(SCOPE, True) == "two"
    assert compile_value("${variable.list[i]}").render(SCOPE, True) == "q"
    assert compile_value("${i}").render(SCOPE, True) == 1
    assert isinstance(compile_value("${variable.n}"), Ref)


def test_templates_stringify_each_reference() -> None:
    """Mixed strings stringify: JSON for containers, true/false, integral floats without .0."""
    node = compile_value(
        "n=${variable.n} f=${variable.f} x=${variable.x} ok=${variable.ok} o=${variable.obj} l=${variable.list}"
    )
    assert isinstance(node, Template)
    assert node.render(SCOPE, True) == 'n=3 f=2 x=1.5 ok=true o={"a":1,"my key":"spaced"} l=["p","q"]'


def test_rendering_recurses_into_dicts_and_lists_and_keeps_literals_shared() -> None:
    """Dicts and lists render recursively; reference-free subtrees are one shared constant."""
    literal = {"strategy": {"setting": {"size": 512}}}
    node = compile_value({"text": "${split.output.text-chunks}", "cfg": literal, "xs": ["${variable.n}", 1]})
    out = node.render(SCOPE, True)
    assert out == {"text": ["one", "two"], "cfg": literal, "xs": [3, 1]}
    assert out["cfg"] is literal
    assert isinstance(compile_value(literal), Const)


def test_attributes_on_values() -> None:
    """:length on arrays and strings, file attributes on Files and data URIs."""
    scope = {"variable": {"img": File(b"\x89PNG\r\n\x1a\n....", filename="a.png"), "s": "abc"}}
    assert compile_value("${variable.s:length}").render(scope, True) == 3
    assert compile_value("${variable.img:filename}").render(scope, True) == "a.png"
    assert compile_value("${variable.img:content-type}").render(scope, True) == "image/png"
    assert compile_value("${variable.img:file-size}").render(scope, True) == 12
    assert compile_value("${variable.img:data-uri}").render(scope, True).startswith("data:image/png;")
    assert compile_value("size ${variable.img:file-size}").render(scope, True) == "size 12"


def test_unresolved_reference_raises_in_strict_mode_and_renders_none_otherwise() -> None:
    """Strict rendering (inputs) raises `Couldn't resolve reference X.`; lenient gives None."""
    for text in ("${variable.nope}", "x ${variable.nope}", "${split.output.text-chunks[5]}", "${variable.n:filename}"):
        node = compile_value(text)
        with pytest.raises(ReferenceUnresolved) as info:
            node.render(SCOPE, True)
        assert str(info.value).startswith("Couldn't resolve reference ${")
        assert str(info.value).endswith("}.")
        assert node.render(SCOPE, False) is None
    with pytest.raises(ReferenceUnresolved) as info:
        compile_value("${variable.nope}").render(SCOPE, True)
    assert str(info.value) == "Couldn't resolve reference ${variable.nope}."


def test_resolve_returns_missing_sentinel() -> None:
    """resolve() distinguishes a null value from a missing one."""
    scope = {"variable": {"z": None}}
    assert parse_reference("variable.z").resolve(scope) is None
    assert parse_reference("variable.y").resolve(scope) is MISSING
    assert parse_reference("variable.z.deeper").resolve(scope) is MISSING


def test_stringify_matches_go_conventions() -> None:
    """Numbers print like Go's JSON: 1 not 1.0; null; compact JSON without ASCII escaping."""
    assert stringify(1.0) == "1"
    assert stringify(0.25) == "0.25"
    assert stringify(None) == "null"
    assert stringify(False) == "false"
    assert stringify({"k": "é"}) == '{"k":"é"}'
