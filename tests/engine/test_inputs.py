"""Binding trigger rows to variables: defaults, required, types, files."""

from __future__ import annotations

import base64

import pytest

from pipelines.engine import File, InputInvalid, Recipe, Registry, parse_recipe

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


@pytest.fixture
def recipe(registry: Registry) -> Recipe:
    return parse_recipe(
        {
            "variable": {
                "prompt": {"type": "string", "required": True},
                "count": {"type": "integer", "default": 2},
                "ratio": {"type": "number"},
                "flag": {"type": "boolean"},
                "meta": {"type": "json"},
                "tags": {"type": "array:string"},
                "nums": {"type": "array:number"},
                "img": {"type": "image"},
                "docs": {"type": "array:document"},
            }
        },
        registry=registry,
    )


def test_defaults_and_undeclared_keys(recipe: Recipe) -> None:
    """Undeclared keys are dropped; missing ones take their default or stay absent."""
    rows = recipe.bind_rows([{"prompt": "hi", "extra": 1}])
    assert rows == [{"prompt": "hi", "count": 2}]
    assert recipe.bind_rows([{"prompt": "hi", "count": None}])[0]["count"] == 2


def test_missing_required_variable(recipe: Recipe) -> None:
    """A missing required variable raises InputInvalid naming it; batches include the row index."""
    with pytest.raises(InputInvalid) as info:
        recipe.bind_rows([{}])
    assert info.value.field == "variable.prompt"
    assert str(info.value) == 'missing required variable "prompt"'
    with pytest.raises(InputInvalid) as info:
        recipe.bind_rows([{"prompt": "a"}, {"count": 1}])
    assert info.value.field == "data[1].variable.prompt"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("count", "abc", 'variable "count" must be an integer, got string "abc"'),
        ("count", 1.5, 'variable "count" must be an integer, got number 1.5'),
        ("count", True, 'variable "count" must be an integer, got boolean true'),
        ("ratio", "1", 'variable "ratio" must be a number, got string "1"'),
        ("ratio", False, 'variable "ratio" must be a number, got boolean false'),
        ("flag", "true", 'variable "flag" must be a boolean, got string "true"'),
        ("prompt", 5, 'variable "prompt" must be a string, got number 5'),
        ("tags", "a", 'variable "tags" must be an array of a string, got string "a"'),
        ("tags", ["a", 1], 'variable "tags" must be an array of a string (item 1 is not), got number 1'),
        (
            "img",
            "not a file!",
            'variable "img" must be an image (a data URI, base64 or an http(s) URL), got string "not a file!"',
        ),
        ("img", 3, 'variable "img" must be an image (a data URI, base64 or an http(s) URL), got number 3'),
    ],
)
def test_type_errors_name_variable_expected_and_received(
    recipe: Recipe, name: str, value: object, message: str
) -> None:
    """Wrong types raise InputInvalid with the variable, the expected type and what came."""
    with pytest.raises(InputInvalid) as info:
        recipe.bind_rows([{"prompt": "p", name: value}])
    assert str(info.value) == message
    assert info.value.field == f"variable.{name}"


def test_valid_values_of_every_type(recipe: Recipe) -> None:
    """Each declared type accepts its values; integral floats become integers."""
    row = recipe.bind_rows(
        [
            {
                "prompt": "p",
                "count": 3.0,
                "ratio": 1,
                "flag": False,
                "meta": {"a": [1]},
                "tags": ["x"],
                "nums": [1, 2.5],
            }
        ]
    )[0]
    assert row["count"] == 3 and type(row["count"]) is int
    assert row["ratio"] == 1 and row["flag"] is False and row["meta"] == {"a": [1]}
    assert row["tags"] == ["x"] and row["nums"] == [1, 2.5]


def test_file_of_the_wrong_kind_is_refused(recipe: Recipe) -> None:
    """A PDF sent to an image variable is refused, naming the variable and the type received."""
    pdf = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
    with pytest.raises(InputInvalid) as caught:
        recipe.bind_rows([{"prompt": "p", "img": pdf}])
    assert '"img"' in str(caught.value) and "application/pdf" in str(caught.value)


def test_file_values(recipe: Recipe) -> None:
    """Data URIs and raw base64 decode to File; URLs stay strings; Files pass through."""
    encoded = base64.b64encode(PNG).decode()
    pdf = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
    existing = File(b"%PDF-1.4", filename="x.pdf")
    row = recipe.bind_rows(
        [
            {
                "prompt": "p",
                "img": f"data:image/png;base64,{encoded}",
                "docs": [pdf, "https://example.com/a.pdf", existing],
            }
        ]
    )[0]
    assert isinstance(row["img"], File) and row["img"].read() == PNG and row["img"].mime_type == "image/png"
    first, url, same = row["docs"]
    assert isinstance(first, File) and first.mime_type == "application/pdf"
    assert url == "https://example.com/a.pdf"
    assert same is existing
