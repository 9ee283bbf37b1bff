"""What the Editor draws of a recipe: the graph's data, and the YAML line each
validation problem points at. Presentation only: whether a recipe is valid is the
parser's answer (``services.pipelines.recipe_check``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from pipelines.engine.recipe import Component, Recipe
from pipelines.engine.references import Node, Reference

_AT_LINE = re.compile(r"at line (\d+)")
_INDEX = re.compile(r"\[[^\]]*\]")


def recipe_graph(recipe: Recipe) -> dict[str, list[dict[str, Any]]]:
    """The recipe as graph data for the Editor's graph (``static/pipelines/graph.js``
    lays it out): variables, components (an iterator's inner components name it as
    their ``parent``) and outputs as nodes; a ``data`` edge for each reference in a
    component's input, setup or iterator source and in an output's value, a
    ``condition`` edge for each reference in a component's condition.

    A node's ``path`` is where its block sits in the YAML: the top-level section and
    its key, then ``component`` and the key for each iterator level."""
    nodes: list[dict[str, Any]] = []
    edges: dict[tuple[str, str, str], dict[str, str]] = {}
    for variable in recipe.variables:
        nodes.append(
            {
                "id": f"variable.{variable.id}",
                "kind": "variable",
                "label": variable.id,
                "detail": variable.type,
                "title": variable.title,
                "path": ["variable", variable.id],
                "parent": None,
            }
        )
    # The components visible from each iterator level: (enclosing iterator ids) → ids.
    levels: dict[tuple[str, ...], Mapping[str, Component]] = {}

    def add_components(components: Mapping[str, Component], parents: tuple[str, ...]) -> None:
        levels[parents] = components
        for cid, component in components.items():
            task = component.task.removeprefix("TASK_").lower().replace("_", " ")
            nodes.append(
                {
                    "id": _component_node(*parents, cid),
                    "kind": "iterator" if component.iterator is not None else "component",
                    "label": cid,
                    "detail": "iterator" if component.iterator is not None else f"{component.type} · {task}",
                    "title": component.description,
                    "type": component.type,
                    "task": component.task,
                    "path": ["component", *(p for parent in parents for p in (parent, "component")), cid],
                    "parent": _component_node(*parents) if parents else None,
                }
            )
            if component.iterator is not None:
                add_components(component.iterator.graph.components, (*parents, cid))

    def link(reference: Reference, target: str, kind: str, parents: tuple[str, ...]) -> None:
        source = _source_node(reference, parents, levels)
        if source is not None and source != target:
            edges.setdefault((source, target, kind), {"source": source, "target": target, "kind": kind})

    add_components(recipe.components, ())
    for parents, components in list(levels.items()):
        for cid, component in components.items():
            target = _component_node(*parents, cid)
            data: list[Node | None] = [component.input, component.setup]
            if component.iterator is not None:
                data += [component.iterator.source, *(component.iterator.range or ())]
            for node in (n for n in data if n is not None):
                for reference in node.references():
                    link(reference, target, "data", parents)
            for reference in component.condition.references() if component.condition is not None else ():
                link(reference, target, "condition", parents)
    for output in recipe.outputs.values():
        nodes.append(
            {
                "id": f"output.{output.id}",
                "kind": "output",
                "label": output.id,
                "detail": output.title if output.title != output.id else "",
                "title": output.description,
                "path": ["output", output.id],
                "parent": None,
            }
        )
        for reference in output.value.references():
            link(reference, f"output.{output.id}", "data", ())
    return {"nodes": nodes, "edges": list(edges.values())}


def _component_node(*path: str) -> str:
    return "component." + ".".join(path)


def _source_node(
    reference: Reference, parents: tuple[str, ...], levels: Mapping[tuple[str, ...], Mapping[str, Component]]
) -> str | None:
    """The node a reference made inside iterator level ``parents`` reads from: a
    variable, or the nearest component of that name from this level outwards. None
    for secrets, an enclosing iterator's element and its index (the iterator's box
    already holds the component)."""
    root = reference.root
    if root == "variable":
        return f"variable.{reference.field}" if reference.field else None
    if root in parents:
        return None
    for depth in range(len(parents), -1, -1):
        if root in levels.get(parents[:depth], {}):
            return _component_node(*parents[:depth], root)
    return None


def problem_line(raw_recipe: str, location: str, error: str) -> int:
    """The 1-based line of the YAML text that a problem's ``location`` names
    (``component.split.input.text``); the nearest existing parent when the key is
    missing, line 1 when nothing matches."""
    found = _AT_LINE.search(error)
    if location == "recipe" and found:
        return int(found.group(1))
    try:
        node = yaml.compose(raw_recipe)
    except yaml.YAMLError:
        return 1
    line = 1
    for segment in _INDEX.sub("", location).split("."):
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == segment), None)
        if match is None:
            break
        line, node = match[0].start_mark.line + 1, match[1]
    return line
