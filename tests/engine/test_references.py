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
    """Mixed strings stringify like Instill: containers as its `String()`, true/false, integral floats without .0."""
    node = compile_value(
        "n=${variable.n} f=${variable.f} x=${variable.x} ok=${variable.ok} o=${variable.obj} l=${variable.list}"
    )
    assert isinstance(node, Template)
    assert node.render(SCOPE, True) == 'n=3 f=2 x=1.5 ok=true o={"a": 1, "my key": "spaced"} l=["p", "q"]'


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
    """Numbers print like Go's JSON: 1 not 1.0; null; objects as Instill's `Map.String()`, no escaping."""
    assert stringify(1.0) == "1"
    assert stringify(0.25) == "0.25"
    assert stringify(None) == "null"
    assert stringify(False) == "false"
    assert stringify({"k": "é"}) == '{"k": "é"}'


# --- arrays, objects and files inside strings (Instill's pkg/data String() methods) ---


def test_arrays_in_strings_are_written_as_instill_writes_them() -> None:
    """pkg/data/array.go `Array.String()`: `[` items `]` joined by ", ", strings quoted and not escaped."""
    scope = {
        "variable": {
            "tags": ["red", 'say "hi"', "two\nlines"],
            "mixed": [1, 2.5, True, None, ["x"], {"k": "v"}],
            "empty": [],
        }
    }
    node = compile_value("Tags: ${variable.tags}; mixed: ${variable.mixed}; empty: ${variable.empty}")
    assert node.render(scope, True) == (
        'Tags: ["red", "say "hi"", "two\nlines"]; mixed: [1, 2.5, true, null, ["x"], {"k": "v"}]; empty: []'
    )


def test_objects_in_strings_are_written_as_instill_writes_them() -> None:
    """pkg/data/map.go `Map.String()`: `{"key": value}` joined by ", ", string values quoted, in key order."""
    scope = {"variable": {"person": {"name": "Ada", "age": 36, "langs": ["en", "fr"], "boss": None}}}
    assert compile_value("Who: ${variable.person}").render(scope, True) == (
        'Who: {"name": "Ada", "age": 36, "langs": ["en", "fr"], "boss": null}'
    )


def test_files_in_strings_read_as_text_or_data_uri() -> None:
    """pkg/data/file.go `fileData.String()`: text files read as their text, other files as a data URI."""
    text = File("héllo".encode(), mime_type="text/plain", filename="a.txt")
    json_file = File(b'{"a": 1}', mime_type="application/json")
    png = File(b"\x89PNG\r\n\x1a\n\x00\x00\xff", mime_type="image/png", filename="p.png")
    scope = {"variable": {"text": text, "json": json_file, "png": png, "files": [text, png]}}
    assert compile_value("Note: ${variable.text}").render(scope, True) == "Note: héllo"
    assert compile_value("Data: ${variable.json}").render(scope, True) == 'Data: {"a": 1}'
    assert compile_value("Image: ${variable.png}").render(scope, True) == "Image: " + png.data_uri()
    assert compile_value("All: ${variable.files}").render(scope, True) == f"All: [héllo, {png.data_uri()}]"


def test_registered_string_forms_decide_how_a_file_reads(doc_string_form: list[str]) -> None:
    """A component registers how its MIME types read (documents give their text); a failure is a clear error."""
    good = File(b"ok", mime_type="application/x-doc; charset=binary", filename="cv.doc")
    bad = File(b"broken", mime_type="application/x-doc")
    scope = {"variable": {"good": good, "bad": bad}}
    assert compile_value("Resume: ${variable.good}").render(scope, True) == "Resume: text of cv.doc"
    with pytest.raises(ReferenceUnresolved, match=r"Couldn't read \$\{variable.bad\} as text: the document is damaged"):
        compile_value("Resume: ${variable.bad}").render(scope, True)
    assert compile_value("Resume: ${variable.bad}").render(scope, False) is None
    # A reference that is the whole string keeps the file itself.
    assert compile_value("${variable.good}").render(scope, True) is good
    # The text is kept on the file: read once however often it is written.
    compile_value("${variable.good} ${variable.good}").render(scope, True)
    assert len(doc_string_form) == 3  # good once, bad twice (failures are not kept)
