"""Running a compiled recipe over a batch of rows.

Rows run concurrently. Within a row a component starts as soon as every
component it references has finished (topological readiness, not levels);
independent components overlap, bounded by one semaphore per ``execute()`` call.

Hot-path choices (a one-component trigger must cost well under 0.2 ms):
- cheap sync tasks (``blocking=False``) run inline, and a component that is the
  only thing left to do is awaited directly: no ``asyncio.Task`` per component
  unless there is real concurrency to exploit;
- nothing is copied: rendered inputs, outputs and files are shared by reference;
- events are only built when someone listens (``on_event``);
- secret values are masked (:mod:`.masking`) only in rows that have secrets.

Everything handed out — events, component results, row outputs — has the row's
secret values masked; the scope that later components render from keeps the real
values, so a component still receives the real key.

Platform keys (:mod:`.platform`): a component whose type the server holds a key for
gets the server's setup when it has none (or one naming neither ``api-key`` nor
``base-url``: Instill's components use their platform key whenever the setup gives
none), and ``${secret.INSTILL_SECRET}`` in its setup resolves to that key; the key joins the masked values of every row of a recipe
that uses it, and the server's base URL for that type is an allowed model host for
that type's components only.

Safety: tasks that may run away (``blocking=True``: jq, documents, images, chunking)
run in killable task processes (:mod:`.processes`), never on the loop, unless the
task's ``inline_when`` says this call provably ends soon (a jq filter whose cost the
json component bounds, on a small input); an iterator
is bounded (``max_iterations``) and yields to the loop as it goes, so a long one does
not stall everything else the loop serves.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from .components import ComponentError, Registry, TaskContext
from .conditions import ConditionError
from .connections import split as split_connections
from .events import (
    ComponentErrorUpdated,
    ComponentInputUpdated,
    ComponentOutputUpdated,
    ComponentStatusUpdated,
    Event,
    PipelineOutputUpdated,
    PipelineStatusUpdated,
)
from .inputs import describe
from .limits import deeper_than
from .masking import Masker
from .platform import API_KEY, BASE_URL, PLATFORM_SECRET, PlatformSetup, allowed_host
from .processes import TaskProcesses, shared
from .recipe import Component, Graph, Recipe
from .references import Const, DictNode, Node, ReferenceUnresolved, files_to_read, read_files
from .results import COMPLETED, ERROR, SKIPPED, ComponentResult, RowResult, RunResult

__all__ = ["DEFAULT_MAX_ITERATIONS", "EventHandler", "RunCancelled", "execute"]

#: Elements an iterator may have unless ``execute(max_iterations=...)`` says otherwise.
DEFAULT_MAX_ITERATIONS = 10_000
# How long an iterator runs elements before it lets the rest of the event loop run:
# elements made of inline components never suspend by themselves.
_ITERATOR_SLICE_SECONDS = 0.005

EventHandler = Callable[[Event], "Awaitable[None] | None"]

# Component state as references see it (``${c.status.completed}``); shared, read-only.
_STATUS_COMPLETED = MappingProxyType({"started": True, "skipped": False, "errored": False, "completed": True})
_STATUS_ERRORED = MappingProxyType({"started": True, "skipped": False, "errored": True, "completed": False})
_STATUS_SKIPPED = MappingProxyType({"started": False, "skipped": True, "errored": False, "completed": False})
_STATE_SKIPPED = MappingProxyType({"status": _STATUS_SKIPPED})
_EMPTY: Mapping[str, Any] = MappingProxyType({})


#: How deeply a task's output may nest lists and objects (a JSON text parsed by a task,
#: or built by jq, can nest as deep as it likes; everything downstream recurses).
MAX_OUTPUT_DEPTH = 256


class RunCancelled(Exception):
    """``execute()`` stopped because its ``cancel`` event was set."""


def _now() -> datetime:
    return datetime.now(UTC)


def _error_message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def execute(
    recipe: Recipe,
    rows: Sequence[Mapping[str, Any]],
    *,
    registry: Registry | None = None,
    secrets: Mapping[str, str] | Sequence[Mapping[str, str]] = _EMPTY,
    on_event: EventHandler | None = None,
    config: Mapping[str, Any] | None = None,
    cancel: asyncio.Event | None = None,
    max_concurrency: int = 16,
    processes: TaskProcesses | None = None,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> RunResult:
    """Run ``recipe`` once per row of bound variables (see ``Recipe.bind_rows``).

    - ``secrets``: one mapping for every row, or one mapping per row;
    - ``on_event``: called (and awaited if it returns an awaitable) with every
      :mod:`~pipelines.engine.events` event, in order, ``seq`` from 1;
    - ``config``: deployment options handed to tasks as ``TaskContext.config``;
    - ``cancel``: when set, running tasks are cancelled and :class:`RunCancelled`
      is raised; a task running in a task process is killed with its process (as
      when the caller cancels ``execute()`` itself, e.g. at a time limit);
    - ``max_concurrency``: components (and iterator elements) running at once;
    - ``processes``: where blocking tasks run (default: this process's shared pool,
      :func:`.processes.shared`);
    - ``max_iterations``: the most elements an iterator may have; a longer one fails
      its component (named after the server's ``PIPELINE_MAX_ITERATIONS`` setting).

    Component failures do not raise: they are in the result (``RunResult.failed``).
    ``registry`` is accepted for symmetry with ``parse_recipe``; the recipe already
    holds its component definitions.
    """
    del registry  # compiled into the recipe at parse time
    if isinstance(secrets, Mapping):
        row_secrets: Sequence[Mapping[str, str]] = [secrets] * len(rows)
    else:
        if len(secrets) != len(rows):
            raise ValueError("secrets must be one mapping, or one mapping per row")
        row_secrets = secrets
    run = _Run(recipe, on_event, config or _EMPTY, cancel, max_concurrency, processes, max_iterations)

    if cancel is None:
        return RunResult(await run.run_rows(rows, row_secrets))
    if cancel.is_set():
        raise RunCancelled("the run was cancelled")
    main = asyncio.ensure_future(run.run_rows(rows, row_secrets))
    watcher = asyncio.ensure_future(cancel.wait())
    try:
        await asyncio.wait({main, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not main.done():
            main.cancel()
    if main.cancelled() or not main.done():
        try:
            await main
        except asyncio.CancelledError:
            pass
        raise RunCancelled("the run was cancelled")
    return RunResult(main.result())


class _Run:
    """State shared by the rows of one ``execute()`` call."""

    def __init__(
        self,
        recipe: Recipe,
        on_event: EventHandler | None,
        config: Mapping[str, Any],
        cancel: asyncio.Event | None,
        max_concurrency: int,
        processes: TaskProcesses | None,
        max_iterations: int,
    ) -> None:
        self.recipe = recipe
        self.on_event = on_event
        self.config = config
        self.cancel = cancel
        self.max_concurrency = max(1, max_concurrency)
        self.semaphore = asyncio.Semaphore(self.max_concurrency)
        self.processes = processes
        self.max_iterations = max_iterations
        self.seq = 0
        self.maskers: list[Masker | None] = []  # per row; None where the row has no secrets
        # Platform keys: what each component of the recipe takes from the server.
        setups: Mapping[str, PlatformSetup] = config.get(_PLATFORM_SETUPS) or _EMPTY
        self.platform: dict[int, tuple[PlatformSetup, bool]] = {}
        self.platform_keys: set[str] = set()
        for component in _all_components(recipe.graph):
            uses_secret = component.setup is not None and any(
                ref.root == "secret" and ref.path[:1] == (PLATFORM_SECRET,) for ref in component.setup.references()
            )
            platform = setups.get(component.type)
            if uses_secret and platform is None:  # no setting at all: the error names it
                platform = PlatformSetup(component.type)
            keyless = _names_neither(component.setup, (API_KEY, platform.field if platform else BASE_URL))
            if (
                platform is not None
                and component.iterator is None
                and (component.setup is None or uses_secret or keyless)
            ):
                self.platform[id(component)] = (platform, uses_secret)
                if platform.api_key:
                    self.platform_keys.add(platform.api_key)
        self.platform_masker = Masker(self.platform_keys) if self.platform_keys else None
        # Tasks see the deployment options, not the keys; a type whose server base URL
        # is set may reach that host as a model host.
        task_config = {key: value for key, value in config.items() if key != _PLATFORM_SETUPS}
        self.task_config: Mapping[str, Any] = task_config
        self.type_configs: dict[str, Mapping[str, Any]] = {}
        for type_, platform in setups.items():
            host = allowed_host(platform.base_url) if platform.base_url else None
            if host is not None:
                hosts = tuple(task_config.get("llm_allowed_hosts", task_config.get("http_allowed_hosts", ())))
                # "platform_host" alone: for the components that are no model clients (slack, github).
                self.type_configs[type_] = {**task_config, "llm_allowed_hosts": (*hosts, host), "platform_host": host}

    # events -------------------------------------------------------------------

    async def emit(self, cls: type[Event], batch_index: int, *, growing: bool = False, **data: Any) -> None:
        """Announce an event; ``growing``: its output is a snapshot of a task's output
        still being streamed, which may stop in the middle of a secret."""
        assert self.on_event is not None
        masker = self.maskers[batch_index]
        if masker is not None:
            data = {key: masker(value, growing) if key in _MASKED_FIELDS else value for key, value in data.items()}
        self.seq += 1
        result = self.on_event(cls(batch_index=batch_index, seq=self.seq, update_time=_now(), **data))
        if result is not None and inspect.isawaitable(result):
            await result

    def render_outputs(self, scope: Mapping[str, Any]) -> dict[str, Any]:
        return {oid: output.value.render(scope, False) for oid, output in self.recipe.outputs.items()}

    async def outputs_now(self, scope: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`render_outputs`, the documents they write into strings read first, off
        the event loop (as for a component's input)."""
        await _read_off_loop([output.value for output in self.recipe.outputs.values()], scope)
        return self.render_outputs(scope)

    # rows ---------------------------------------------------------------------

    async def run_rows(
        self, rows: Sequence[Mapping[str, Any]], secrets: Sequence[Mapping[str, str]]
    ) -> list[RowResult]:
        self.maskers = _row_maskers(secrets, tuple(sorted(self.platform_keys)))
        if len(rows) == 1:
            return [await self.run_row(0, rows[0], secrets[0])]
        return list(await asyncio.gather(*(self.run_row(i, row, secrets[i]) for i, row in enumerate(rows))))

    async def run_row(self, index: int, variables: Mapping[str, Any], secrets: Mapping[str, str]) -> RowResult:
        events = self.on_event is not None
        if events:
            await self.emit(PipelineStatusUpdated, index, started=True)
        plain, connections = split_connections(secrets)
        scope: dict[str, Any] = {"variable": variables, "secret": plain, "connection": connections}
        results: dict[str, ComponentResult] = {}
        graph = self.recipe.graph
        await self.run_graph(graph, scope, index, results, events)
        components = {cid: results.get(cid) or ComponentResult(cid, SKIPPED) for cid in graph.components}
        errored = any(result.status == ERROR for result in components.values())
        outputs = await self.outputs_now(scope)
        masker = self.maskers[index]
        if masker is not None:
            outputs = masker(outputs)
        if events:
            await self.emit(PipelineOutputUpdated, index, output=outputs)
            await self.emit(PipelineStatusUpdated, index, started=True, errored=errored, completed=True)
        return RowResult(outputs=outputs, components=components, errored=errored)

    async def run_graph(
        self,
        graph: Graph,
        scope: dict[str, Any],
        index: int,
        results: dict[str, ComponentResult],
        events: bool,
    ) -> None:
        """Run every component of ``graph``, each as soon as its dependencies are done."""
        components = graph.components
        dependants = graph.dependants
        waits = dict(graph.wait_counts)
        ready = deque(graph.initial)
        running: dict[asyncio.Future[ComponentResult], str] = {}

        def finished(cid: str, result: ComponentResult) -> None:
            results[cid] = result
            for dependant in dependants[cid]:
                waits[dependant] -= 1
                if waits[dependant] == 0:
                    ready.append(dependant)

        try:
            while True:
                while ready:
                    cid = ready.popleft()
                    component = components[cid]
                    run = self.run_component(component, scope, index, results, events)
                    if component.mode == "inline" or (not ready and not running):
                        # Nothing to overlap with: awaiting directly saves a Task.
                        finished(cid, await run)
                    else:
                        running[asyncio.ensure_future(run)] = cid
                if not running:
                    return
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                # Recipe order among simultaneous finishers keeps event order stable.
                for task in sorted(done, key=lambda t: list(components).index(running[t])):
                    finished(running.pop(task), task.result())
        finally:
            for task in running:
                task.cancel()

    # one component --------------------------------------------------------------

    async def run_component(
        self,
        component: Component,
        scope: dict[str, Any],
        index: int,
        results: Mapping[str, ComponentResult],
        events: bool,
    ) -> ComponentResult:
        """Run (or skip) one component; never raises except on cancellation."""
        cid = component.id
        for dep in component.hard_deps:
            if results[dep].status != COMPLETED:
                return await self.skipped(cid, scope, index, events)
        started_at = _now()
        if component.condition is not None:
            try:
                go = component.condition.evaluate(scope)
            except ConditionError as exc:
                return await self.failed(
                    cid, scope, index, events, f"condition failed: {exc}", None, None, started_at, 0.0, True
                )
            if not go:
                return await self.skipped(cid, scope, index, events)

        if events:
            await self.emit(ComponentStatusUpdated, index, component_id=cid, started=True)
        inputs: dict[str, Any] | None = None
        setup: Any = None
        clock = time.perf_counter()
        try:
            # Documents written into strings are read off the event loop.
            await _read_off_loop([component.input], scope)
            rendered = component.input.render(scope, True)
            # Always a fresh top-level dict: literal inputs are shared between runs.
            inputs = dict(rendered) if isinstance(rendered, Mapping) else {"input": rendered}
            setup = self.render_setup(component, scope)
            if events:
                await self.emit(ComponentInputUpdated, index, component_id=cid, input=inputs)
            clock = time.perf_counter()
            if component.iterator is not None:
                inputs, output = await self.run_iterator(component, scope, index, inputs)
            else:
                output = await self.call_task(component, inputs, setup, scope, index, events)
                if deeper_than(output, MAX_OUTPUT_DEPTH):
                    # Rendering, recording and answering walk values recursively.
                    raise ComponentError(f"the output nests lists and objects more than {MAX_OUTPUT_DEPTH} levels deep")
            seconds = time.perf_counter() - clock
        except (ComponentError, ReferenceUnresolved) as exc:
            return await self.failed(
                cid, scope, index, events, str(exc), inputs, setup, started_at, time.perf_counter() - clock, False
            )
        except Exception as exc:  # noqa: BLE001 - any task bug is that component's error
            return await self.failed(
                cid,
                scope,
                index,
                events,
                _error_message(exc),
                inputs,
                setup,
                started_at,
                time.perf_counter() - clock,
                False,
            )

        if self.platform_masker is not None and id(component) in self.platform:
            # Another component may read this setup, never the server's key in it.
            setup = self.platform_masker(setup)
        scope[cid] = {"input": inputs, "output": output, "setup": setup, "status": _STATUS_COMPLETED}
        if events:
            await self.emit(ComponentOutputUpdated, index, component_id=cid, output=output)
            if self.recipe.graph.components.get(cid) is component:
                await self.emit(PipelineOutputUpdated, index, output=await self.outputs_now(scope))
            await self.emit(ComponentStatusUpdated, index, component_id=cid, started=True, completed=True)
        masker = self.maskers[index]
        if masker is not None:  # after the scope took the real values
            inputs, output = masker(inputs), masker(output)
        return ComponentResult(cid, COMPLETED, inputs, output, None, started_at, _now(), seconds)

    def render_setup(self, component: Component, scope: Mapping[str, Any]) -> Any:
        """The component's setup with its references resolved; with the platform's
        key and base URL for a component that takes them (see :mod:`.platform`)."""
        planned = self.platform.get(id(component))
        if planned is None:
            return component.setup.render(scope, True) if component.setup is not None else _EMPTY
        platform, uses_secret = planned
        if component.setup is None:
            return platform.default_setup()
        if not uses_secret:  # a setup naming neither key nor base URL: the platform's fill them in
            rendered = component.setup.render(scope, True)
            return {**platform.default_setup(), **rendered} if isinstance(rendered, Mapping) else rendered
        if not platform.api_key:
            raise platform.missing_key()
        # Only this component's setup sees the name; the recipe's own secrets stay as they are.
        secrets = {**scope.get("secret", _EMPTY), PLATFORM_SECRET: platform.api_key}
        rendered = component.setup.render({**scope, "secret": secrets}, True)
        if not isinstance(rendered, Mapping):
            raise ComponentError(f"setup must be a map when it uses ${{secret.{PLATFORM_SECRET}}}")
        return platform.check_base_url(rendered)

    async def call_task(
        self,
        component: Component,
        inputs: dict[str, Any],
        setup: Any,
        scope: dict[str, Any],
        index: int,
        events: bool,
    ) -> dict[str, Any]:
        task = component.task_spec
        assert task is not None
        cid = component.id
        emit_output = None
        if events:

            async def emit_output(partial_output: dict[str, Any]) -> None:
                # A shallow copy: streaming tasks often keep appending to one dict.
                snapshot = dict(partial_output)
                scope[cid] = {"input": inputs, "output": snapshot, "status": _STATUS_COMPLETED}
                await self.emit(ComponentOutputUpdated, index, growing=True, component_id=cid, output=snapshot)
                await self.emit(PipelineOutputUpdated, index, growing=True, output=await self.outputs_now(scope))

        context = TaskContext(
            component_id=cid,
            task=component.task,
            setup=setup,
            config=self.type_configs.get(component.type, self.task_config),
            emit_output=emit_output,
            cancelled=self.cancel,
        )
        mode = component.mode
        if mode == "inline" or (mode == "process" and task.inline_when is not None and task.inline_when(inputs)):
            result: Any = task.run(inputs, context)
            if inspect.isawaitable(result):
                result = await result
        else:
            async with self.semaphore:
                if mode == "async":
                    result = await task.run(inputs, context)  # type: ignore[misc]
                else:
                    result = await (self.processes or shared()).run(task.run, inputs, context)
        if not isinstance(result, Mapping):
            raise ComponentError(f"the task returned {describe(result)} instead of an object")
        return result if isinstance(result, dict) else dict(result)

    async def skipped(self, cid: str, scope: dict[str, Any], index: int, events: bool) -> ComponentResult:
        scope[cid] = _STATE_SKIPPED
        if events:
            await self.emit(ComponentStatusUpdated, index, component_id=cid, skipped=True)
        return ComponentResult(cid, SKIPPED)

    async def failed(
        self,
        cid: str,
        scope: dict[str, Any],
        index: int,
        events: bool,
        message: str,
        inputs: dict[str, Any] | None,
        setup: Any,
        started_at: datetime,
        seconds: float,
        announce_start: bool,
    ) -> ComponentResult:
        state: dict[str, Any] = {"status": _STATUS_ERRORED, "error": {"message": message}}
        if inputs is not None:
            state["input"] = inputs
        scope[cid] = state
        if events:
            if announce_start:
                await self.emit(ComponentStatusUpdated, index, component_id=cid, started=True)
            await self.emit(ComponentErrorUpdated, index, component_id=cid, message=message)
            await self.emit(ComponentStatusUpdated, index, component_id=cid, started=True, errored=True)
        masker = self.maskers[index]
        if masker is not None:  # after the scope took the real values
            inputs, message = masker(inputs), masker.text(message)
        return ComponentResult(cid, ERROR, inputs, None, message, started_at, _now(), seconds)

    # iterators ------------------------------------------------------------------

    async def run_iterator(
        self, component: Component, scope: dict[str, Any], index: int, inputs: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run the nested graph per element; returns (trace input, output)."""
        spec = component.iterator
        assert spec is not None
        if spec.source is not None:
            items = spec.source.render(scope, True)
            if not isinstance(items, (list, tuple)):
                raise ComponentError(f"iterator input must be an array, got {describe(items)}")
            self.check_iterations(len(items))
            elements: Sequence[Any] = items
            indexes: Sequence[int] = range(len(items))
            trace_input: dict[str, Any] = {"input": list(items)}
        else:
            assert spec.range is not None
            bounds = [
                _as_int(node.render(scope, True), name)
                for node, name in zip(spec.range, ("start", "stop", "step"), strict=True)
            ]
            if bounds[2] == 0:
                raise ComponentError("iterator range step cannot be 0")
            elements = indexes = range(*bounds)
            try:
                self.check_iterations(len(elements))
            except OverflowError:  # more elements than sys.maxsize
                self.check_iterations(None)
            trace_input = {"range": bounds}

        names = [name for name, _ in spec.output_elements]
        collected: list[list[Any] | None] = [None] * len(elements)

        async def run_element(position: int) -> None:
            inner = dict(scope)
            inner[component.id] = {"element": elements[position]}
            inner[spec.index] = indexes[position]
            results: dict[str, ComponentResult] = {}
            await self.run_graph(spec.graph, inner, index, results, False)
            for inner_id in spec.graph.components:
                result = results.get(inner_id)
                if result is not None and result.status == ERROR:
                    raise _ElementFailed(
                        position, f'component "{inner_id}" failed at element {position}: {result.error}'
                    )
            await _read_off_loop([node for _, node in spec.output_elements], inner)
            collected[position] = [node.render(inner, False) for _, node in spec.output_elements]

        if len(elements) == 1:
            await run_element(0)
        elif elements:
            positions = iter(range(len(elements)))
            clock = asyncio.get_running_loop().time
            slice_end = clock() + _ITERATOR_SLICE_SECONDS

            async def worker() -> None:
                nonlocal slice_end
                for position in positions:  # workers share one iterator: a work queue
                    await run_element(position)
                    if clock() >= slice_end:
                        # Every worker that sees the slice over yields in this pass of
                        # the loop; the first to resume opens the next slice.
                        await asyncio.sleep(0)
                        if clock() >= slice_end:
                            slice_end = clock() + _ITERATOR_SLICE_SECONDS

            workers = [asyncio.ensure_future(worker()) for _ in range(min(self.max_concurrency, len(elements)))]
            try:
                done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
                failures = [t.exception() for t in done if not t.cancelled() and t.exception() is not None]
                if failures:
                    first = min(failures, key=lambda e: e.position if isinstance(e, _ElementFailed) else -1)
                    raise first  # type: ignore[misc]
            finally:
                for task in workers:
                    task.cancel()

        output = {name: [row[i] if row is not None else None for row in collected] for i, name in enumerate(names)}
        return trace_input, output

    def check_iterations(self, count: int | None) -> None:
        """Refuse an iterator longer than ``max_iterations`` before it starts
        (``None``: too many to count)."""
        if count is None or count > self.max_iterations:
            many = f"{count:,}" if count is not None else "too many"
            raise ComponentError(
                f"the iterator has {many} elements, more than the limit of {self.max_iterations:,} "
                "(PIPELINE_MAX_ITERATIONS)"
            )


# Event fields that carry run values (the rest are ids, flags and counters).
_MASKED_FIELDS = frozenset({"input", "output", "message"})


async def _read_off_loop(nodes: Sequence[Node], scope: Mapping[str, Any]) -> None:
    """Read the files that rendering ``nodes`` writes into strings (a document's text,
    which may take seconds) in a worker thread, so rendering finds them read."""
    files = [file for node in nodes for file in files_to_read(node, scope)]
    if files:
        await asyncio.to_thread(read_files, files)


# The engine option that carries the platform setups (type → PlatformSetup).
_PLATFORM_SETUPS = "platform_setups"


def _names_neither(setup: Node | None, fields: tuple[str, ...]) -> bool:
    """Whether ``setup`` is a literal map with none of ``fields`` among its keys."""
    if isinstance(setup, DictNode):
        keys = {key for key, _ in setup.items}
    elif isinstance(setup, Const) and isinstance(setup.value, Mapping):
        keys = set(setup.value)
    else:
        return False
    return not keys & set(fields)


def _all_components(graph: Graph) -> list[Component]:
    """The components of ``graph`` and of the iterators nested in it."""
    out: list[Component] = []
    for component in graph.components.values():
        out.append(component)
        if component.iterator is not None:
            out.extend(_all_components(component.iterator.graph))
    return out


def _row_maskers(secrets: Sequence[Mapping[str, str]], platform_keys: Sequence[str] = ()) -> list[Masker | None]:
    """One masker per row — its secrets' values and the platform keys the recipe
    uses; rows sharing one secrets mapping share its masker."""
    built: dict[int, Masker | None] = {}
    maskers: list[Masker | None] = []
    for mapping in secrets:
        key = id(mapping)
        if key not in built:
            values = [value for value in mapping.values() if isinstance(value, str) and value]
            values += platform_keys
            built[key] = Masker(values) if values else None
        maskers.append(built[key])
    return maskers


class _ElementFailed(ComponentError):
    def __init__(self, position: int, message: str) -> None:
        super().__init__(message)
        self.position = position


def _as_int(value: Any, name: str) -> int:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise ComponentError(f"iterator range {name} must be an integer, got {describe(value)}")
