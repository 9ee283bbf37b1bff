"""Connections in a run: ``setup: ${connection.<id>}`` resolves to the setup of the
namespace's connection of that id.

A run receives its connections in the same mapping as its secrets (decrypted only in
memory, handed to run workers and queued runs the same way): the key
``connection:<id>`` holds the setup as JSON, and ``connection:<id>#<n>`` each value of
its secret fields, so the row's masker hides them in every event, output and error
as it hides secret values. A secret id cannot contain ``:``, so the keys never clash
with a secret; :func:`split` takes them out of the ``${secret.*}`` scope.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .recipe import Graph, Recipe

PREFIX = "connection:"
_EMPTY: Mapping[str, Any] = {}


def packed(connection_id: str, setup: Mapping[str, Any], secret_values: Iterable[str]) -> dict[str, str]:
    """The entries of the run's secrets mapping that carry one connection."""
    entries = {f"{PREFIX}{connection_id}": json.dumps(setup)}
    for n, value in enumerate(v for v in secret_values if isinstance(v, str) and v):
        entries[f"{PREFIX}{connection_id}#{n}"] = value
    return entries


def split(secrets: Mapping[str, str]) -> tuple[Mapping[str, str], Mapping[str, Any]]:
    """(the ``${secret.*}`` scope, the ``${connection.*}`` scope) of a run's mapping."""
    if not any(key.startswith(PREFIX) for key in secrets):
        return secrets, _EMPTY
    plain: dict[str, str] = {}
    found: dict[str, Any] = {}
    for key, value in secrets.items():
        if not key.startswith(PREFIX):
            plain[key] = value
        elif "#" not in key:
            found[key.removeprefix(PREFIX)] = json.loads(value)
    return plain, found


def referenced(recipe: Recipe) -> set[str]:
    """The ids of the connections the recipe's components reference."""
    ids: set[str] = set()
    _collect(recipe.graph, ids)
    return ids


def _collect(graph: Graph, ids: set[str]) -> None:
    for component in graph.components.values():
        for node in (component.setup, component.input):
            if node is None:
                continue
            for reference in node.references():
                if reference.root == "connection" and reference.field is not None:
                    ids.add(str(reference.field))
        if component.iterator is not None:
            _collect(component.iterator.graph, ids)
