"""The Editor's graph data (``recipe_graph``): what the page and each validation send
for static/pipelines/graph.js to lay out and draw."""

from __future__ import annotations

import json
import re

import pytest

from pipelines.demo import CHUNK_AND_JQ

pytestmark = pytest.mark.django_db

NESTED = """\
variable:
  texts:
    type: array:string
  suffix:
    type: string
component:
  first:
    type: json
    task: TASK_JQ
    input:
      json-value: ${variable.texts}
      jq-filter: "."
  outer:
    type: iterator
    input: ${first.output.results}
    component:
      inner:
        type: iterator
        input: ${variable.texts}
        component:
          leaf:
            type: json
            task: TASK_JQ
            condition: ${variable.suffix} != ""
            input:
              json-value: ${inner.element}
              jq-filter: ${first.output.results[0]}
        output-elements:
          x: ${leaf.output.results}
      after:
        type: json
        task: TASK_JQ
        input:
          json-value: ${inner.output.x}
          jq-filter: "."
    output-elements:
      y: ${after.output.results}
output:
  all:
    title: All results
    value: ${outer.output.y}
  raw:
    value: ${variable.texts}
"""


def _graph(client, raw_recipe):
    answer = client.post("/alice/pipelines/p/editor/validate", {"rawRecipe": raw_recipe}).json()
    assert answer["valid"], answer["problems"]
    return answer["graph"]


def _edges(graph):
    return {(e["source"], e["target"], e["kind"]) for e in graph["edges"]}


def test_the_editor_page_carries_the_graph_of_its_recipe(alice, alice_client, make_pipeline):
    make_pipeline(alice, "p", raw_recipe=CHUNK_AND_JQ)
    page = alice_client.get("/alice/pipelines/p/editor").content.decode()
    data = json.loads(re.search(r'<script id="graph-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert data == _graph(alice_client, CHUNK_AND_JQ)
    assert 'aria-label="Recipe graph"' in page and 'tabindex="0"' in page
    for action in ("zoom-in", "zoom-out", "fit", "wide"):
        assert f'data-graph-action="{action}"' in page


def test_variables_components_iterators_with_their_inner_components_and_outputs_are_nodes(
    alice, alice_client, make_pipeline
):
    make_pipeline(alice, "p", raw_recipe=CHUNK_AND_JQ)
    nodes = {n["id"]: n for n in _graph(alice_client, CHUNK_AND_JQ)["nodes"]}
    assert set(nodes) == {
        "variable.text",
        "variable.chunk-size",
        "variable.mode",
        "component.split",
        "component.count",
        "component.count.words",
        "component.total",
        "output.chunks",
        "output.summary",
    }
    assert nodes["component.split"].items() >= {"kind": "component", "type": "text", "task": "TASK_CHUNK_TEXT"}.items()
    assert nodes["component.split"]["detail"] == "text · chunk text"
    assert nodes["component.count"]["kind"] == "iterator" and nodes["component.count"]["parent"] is None
    assert nodes["component.count.words"]["parent"] == "component.count"
    assert nodes["component.count.words"]["path"] == ["component", "count", "component", "words"]
    assert nodes["output.summary"].items() >= {"kind": "output", "label": "summary", "detail": "Summary"}.items()
    assert nodes["variable.text"]["path"] == ["variable", "text"] and nodes["variable.text"]["detail"] == "string"


def test_data_and_condition_references_are_edges(alice, alice_client, make_pipeline):
    make_pipeline(alice, "p", raw_recipe=CHUNK_AND_JQ)
    edges = _edges(_graph(alice_client, CHUNK_AND_JQ))
    assert edges == {
        ("variable.text", "component.split", "data"),
        ("variable.chunk-size", "component.split", "data"),
        ("component.split", "component.count", "data"),
        ("component.count", "component.total", "data"),
        ("variable.mode", "component.total", "condition"),
        ("component.count", "output.chunks", "data"),
        ("component.total", "output.summary", "data"),
    }  # ${count.element} inside the iterator is its box, not an edge


def test_nested_iterators_link_each_reference_to_the_nearest_component_of_that_name(alice, alice_client, make_pipeline):
    make_pipeline(alice, "p", raw_recipe=NESTED)
    graph = _graph(alice_client, NESTED)
    parents = {n["id"]: n["parent"] for n in graph["nodes"]}
    assert parents["component.outer.inner.leaf"] == "component.outer.inner"
    assert (
        parents["component.outer.inner"] == "component.outer" and parents["component.outer.after"] == "component.outer"
    )
    assert _edges(graph) == {
        ("variable.texts", "component.first", "data"),
        ("component.first", "component.outer", "data"),
        ("variable.texts", "component.outer.inner", "data"),
        ("component.first", "component.outer.inner.leaf", "data"),
        ("variable.suffix", "component.outer.inner.leaf", "condition"),
        ("component.outer.inner", "component.outer.after", "data"),
        ("component.outer", "output.all", "data"),
        ("variable.texts", "output.raw", "data"),
    }


def test_an_invalid_draft_sends_no_graph(alice, alice_client, make_pipeline):
    make_pipeline(alice, "p", raw_recipe=CHUNK_AND_JQ)
    answer = alice_client.post(
        "/alice/pipelines/p/editor/validate",
        {"rawRecipe": CHUNK_AND_JQ.replace("${variable.mode}", "${variable.nope}")},
    ).json()
    assert answer["valid"] is False and answer["graph"] is None
