"""The contract between the engine and component plugins.

A component type (``json``, ``text``, ``http`` ...) is a :class:`ComponentDefinition`
holding its tasks. Each :class:`Task` declares JSON-Schema input/output definitions
(the recipe parser checks inputs against them) and a ``run`` callable that takes the
resolved input and a :class:`TaskContext` and returns the output mapping.

``run`` may be
- an ``async def`` (I/O components: http, openai): awaited on the event loop;
- a plain function with ``blocking=True`` (CPU-bound or possibly endless work:
  jq, Pillow, pypdf, text chunking): run in a task process
  (:mod:`~pipelines.engine.processes`), off the loop and killed when its run is
  cancelled or over its time limit. It must be a module-level function, and its
  input, setup and output must pickle; it gets no ``emit_output`` nor ``cancelled``;
- a plain function with ``blocking=False`` (cheap work, linear in its input, which
  the request size bounds): called inline, which saves the hand-over on the hot path.

A blocking task may also give ``inline_when``: asked with the rendered input before
each call, a True answer runs that call inline, as if ``blocking=False``. It must be
cheap (it runs on the event loop for every call) and answer True only for a call that
provably ends soon: ``TASK_JQ`` answers True for a filter its cost analysis bounds by
the input's size, on an input small enough for that bound to be a few milliseconds.

Failures are reported by raising :class:`ComponentError` (its message becomes the
component's error as the user sees it); any other exception is also caught by the
engine and reported with its message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ComponentDefinition", "ComponentError", "Registry", "Task", "TaskContext"]

TaskRun = Callable[[dict[str, Any], "TaskContext"], "dict[str, Any] | Awaitable[dict[str, Any]]"]


class ComponentError(Exception):
    """A component failed; ``str(error)`` is shown to the user in traces and events."""


@dataclass(frozen=True)
class Task:
    """One task of a component type, e.g. ``TASK_JQ`` of ``json``."""

    name: str
    input_schema: Mapping[str, Any]
    output_schema: Mapping[str, Any]
    run: TaskRun
    blocking: bool = True
    #: For a blocking task: whether this call (its rendered input) may run inline.
    inline_when: Callable[[Mapping[str, Any]], bool] | None = None
    title: str = ""
    description: str = ""


@dataclass(frozen=True)
class ComponentDefinition:
    """A component type and its tasks.

    ``setup_schema`` describes the ``setup`` block (connection settings);
    ``credential_fields`` are setup keys (dotted paths for nested keys, e.g.
    ``authentication.token``) whose values must be ``${secret.*}`` references —
    a plaintext value there is a recipe error at save time. ``check_setup``, when
    given, returns ``(field, message)`` problems of a literal setup map beyond what
    its schema says (values holding references are the component's to check at run
    time); the recipe parser reports them at ``component.<id>.setup.<field>``.

    How the catalog (``/v1beta/component-definitions``) presents it, as Instill does:
    ``kind`` is Instill's component type (``ai``, ``data``, ``operator``,
    ``application`` or ``generic``), ``vendor`` the provider's name, ``version`` and
    ``release_stage`` (``alpha``, ``beta``, ``ga``) the definition's maturity.
    """

    type: str
    title: str
    tasks: Mapping[str, Task]
    description: str = ""
    kind: str = "operator"
    vendor: str = ""
    version: str = "0.1.0"
    release_stage: str = "alpha"
    setup_schema: Mapping[str, Any] = field(default_factory=dict)
    credential_fields: frozenset[str] = frozenset()
    check_setup: Callable[[Mapping[str, Any]], list[tuple[str, str]]] | None = None


@dataclass
class TaskContext:
    """What a running task may use besides its input.

    - ``setup``: the component's resolved ``setup`` block (secrets substituted);
    - ``config``: deployment options handed to ``execute`` by the caller (for
      instance ``http_allowed_hosts``, ``http_timeout``); the engine does not read
      settings itself;
    - ``emit_output``: awaitable that publishes a partial (cumulative) output while
      the task is still running — streaming components call it per chunk;
    - ``cancelled``: set when the run is being cancelled; long tasks should check it.
    """

    component_id: str
    task: str
    setup: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    emit_output: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    cancelled: asyncio.Event | None = None

    async def publish(self, partial_output: dict[str, Any]) -> None:
        if self.emit_output is not None:
            await self.emit_output(partial_output)


class Registry:
    """Component types by name. The app builds one from ``pipelines.components``."""

    def __init__(self, definitions: Iterable[ComponentDefinition] = ()) -> None:
        self._definitions: dict[str, ComponentDefinition] = {}
        for definition in definitions:
            self.register(definition)

    def register(self, definition: ComponentDefinition) -> None:
        if definition.type in self._definitions:
            raise ValueError(f"component type {definition.type!r} is registered twice")
        self._definitions[definition.type] = definition

    def get(self, type_: str) -> ComponentDefinition | None:
        return self._definitions.get(type_)

    def types(self) -> list[str]:
        return sorted(self._definitions)

    def __contains__(self, type_: object) -> bool:
        return type_ in self._definitions

    def __iter__(self) -> Iterator[ComponentDefinition]:
        return iter(self._definitions.values())
