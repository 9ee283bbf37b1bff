"""What ``execute()`` returns: per-row outputs and per-component results, plus
the Instill ``metadata.traces`` shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .values import File, to_json

__all__ = ["COMPLETED", "ERROR", "SKIPPED", "ComponentResult", "RowResult", "RunResult", "Status"]

Status = Literal["COMPLETED", "SKIPPED", "ERROR"]
COMPLETED: Status = "COMPLETED"
SKIPPED: Status = "SKIPPED"
ERROR: Status = "ERROR"


@dataclass(slots=True)
class ComponentResult:
    """One component's run in one row. ``inputs``/``outputs`` are None when it did not run."""

    component_id: str
    status: Status
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    error: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    compute_seconds: float = 0.0


@dataclass(slots=True)
class RowResult:
    """One row: rendered outputs (unresolved → None) and components in recipe order."""

    outputs: dict[str, Any]
    components: dict[str, ComponentResult]
    errored: bool = False


@dataclass(slots=True)
class RunResult:
    """All rows of one ``execute()`` call."""

    rows: list[RowResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(row.errored for row in self.rows)

    @property
    def error_message(self) -> str:
        """``component(ID: jq) run failed: <msg>`` for the first error, else ``""``."""
        for row in self.rows:
            for result in row.components.values():
                if result.status == ERROR:
                    return f"component(ID: {result.component_id}) run failed: {result.error or ''}"
        return ""

    def outputs_json(self, render_file: Callable[[File], Any] | None = None) -> list[dict[str, Any]]:
        """Per-row outputs as plain JSON (files as data URIs, or as ``render_file`` makes them)."""
        return [to_json(row.outputs, render_file) for row in self.rows]

    def traces(self, full: bool = False, render_file: Callable[[File], Any] | None = None) -> dict[str, Any]:
        """Instill's ``metadata.traces``: statuses per row; inputs/outputs only if ``full``."""
        if not self.rows:
            return {}
        traces: dict[str, Any] = {}
        for component_id in self.rows[0].components:
            statuses: list[str] = []
            inputs: list[Any] = []
            outputs: list[Any] = []
            message = ""
            seconds = 0.0
            for row in self.rows:
                result = row.components[component_id]
                statuses.append("STATUS_" + result.status)
                if full:
                    inputs.append(to_json(result.inputs, render_file) if result.inputs is not None else {})
                    outputs.append(to_json(result.outputs, render_file) if result.outputs is not None else {})
                if not message and result.error:
                    message = result.error
                seconds += result.compute_seconds
            traces[component_id] = {
                "statuses": statuses,
                "inputs": inputs,
                "outputs": outputs,
                "error": {"message": message},
                "computeTimeInSeconds": seconds,
            }
        return traces
