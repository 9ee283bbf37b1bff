"""What the Editor draws of a recipe: the graph preview, and the YAML line each
validation problem points at. Presentation only: whether a recipe is valid is the
parser's answer (``services.pipelines.recipe_check``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from pipelines.engine.recipe import Recipe

NODE_W, NODE_H, COL_GAP, ROW_GAP, PAD = 168, 40, 64, 16, 8
_AT_LINE = re.compile(r"at line (\d+)")
_INDEX = re.compile(r"\[[^\]]*\]")


@dataclass
class GraphNode:
    id: str
    kind: str  # variable | component | output
    label: str
    detail: str
    col: int = 0
    row: int = 0

    @property
    def x(self) -> int:
        return PAD + self.col * (NODE_W + COL_GAP)

    @property
    def y(self) -> int:
        return PAD + self.row * (NODE_H + ROW_GAP)


@dataclass
class Graph:
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[tuple[GraphNode, GraphNode]] = field(default_factory=list)

    @property
    def width(self) -> int:
        return max((n.x for n in self.nodes), default=0) + NODE_W + PAD

    @property
    def height(self) -> int:
        return max((n.y for n in self.nodes), default=0) + NODE_H + PAD

    def paths(self) -> list[dict]:
        """Edges as SVG cubic curves from the right of a node to the left of the next."""
        out = []
        for source, target in self.edges:
            x1, y1 = source.x + NODE_W, source.y + NODE_H // 2
            x2, y2 = target.x, target.y + NODE_H // 2
            bend = max(24, (x2 - x1) // 2)
            out.append(
                {
                    "d": f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}",
                    "source": source.id,
                    "target": target.id,
                }
            )
        return out


def recipe_graph(recipe: Recipe) -> Graph:
    """Variables → components (by depth of their dependencies) → outputs."""
    graph = Graph()
    nodes: dict[str, GraphNode] = {}
    for variable in recipe.variables:
        nodes[f"variable.{variable.id}"] = GraphNode(f"variable.{variable.id}", "variable", variable.id, variable.type)
    depth: dict[str, int] = {}

    def depth_of(cid: str, seen: frozenset = frozenset()) -> int:
        if cid not in depth:
            component = recipe.components[cid]
            deps = [d for d in component.hard_deps | component.soft_deps if d in recipe.components and d not in seen]
            depth[cid] = 1 + max((depth_of(d, seen | {cid}) for d in deps), default=0)
        return depth[cid]

    edges: list[tuple[str, str]] = []
    for cid, component in recipe.components.items():
        detail = (
            component.type
            if component.type == "iterator"
            else f"{component.type} · {component.task.removeprefix('TASK_').lower()}"
        )
        nodes[f"component.{cid}"] = GraphNode(f"component.{cid}", "component", cid, detail, col=depth_of(cid))
        for dep in sorted(component.hard_deps | component.soft_deps):
            edges.append((f"component.{dep}", f"component.{cid}"))
        sources = [component.input, component.setup, component.iterator.source if component.iterator else None]
        for reference in (r for n in sources if n is not None for r in n.references()):
            if reference.root == "variable" and reference.field:
                edges.append((f"variable.{reference.field}", f"component.{cid}"))
    last = 1 + max(depth.values(), default=0)
    for output in recipe.outputs.values():
        nodes[f"output.{output.id}"] = GraphNode(f"output.{output.id}", "output", output.id, output.title, col=last)
        for reference in output.value.references():
            source = f"variable.{reference.field}" if reference.root == "variable" else f"component.{reference.root}"
            edges.append((source, f"output.{output.id}"))
    rows: dict[int, int] = {}
    for node in nodes.values():
        node.row = rows.get(node.col, 0)
        rows[node.col] = node.row + 1
    graph.nodes = list(nodes.values())
    seen: set[tuple[str, str]] = set()
    for source, target in edges:
        if source in nodes and target in nodes and (source, target) not in seen:
            seen.add((source, target))
            graph.edges.append((nodes[source], nodes[target]))
    return graph


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
