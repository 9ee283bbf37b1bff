"""Where the data components (``sql``, ``redis``) connect: their setup's host and port,
checked, and the address the outbound guard vetted for them.

The guard (:func:`~pipelines.components.outbound.resolve_checked`) resolves the host and
refuses loopback, private, link-local and other internal addresses unless the server's
allow list (``http_allowed_hosts``, from ``PIPELINE_HTTP_ALLOWED_HOSTS``) names the host
or ``host:port``. The driver then connects to the returned address, so a DNS answer that
changes after the check cannot redirect it; TLS keeps the host name to verify.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipelines.components import outbound
from pipelines.engine.components import ComponentError, Task

__all__ = ["TaskRow", "checked_address", "setup_host", "setup_port", "shown", "task_map"]

#: name, title, description, run, input schema, output schema
TaskRow = tuple[str, str, str, Any, Mapping[str, Any], Mapping[str, Any]]


def task_map(rows: Iterable[TaskRow], *, blocking: bool = True) -> dict[str, Task]:
    """A component's tasks from rows of Instill's task definitions."""
    return {
        name: Task(
            name=name,
            title=title,
            description=description,
            input_schema=input_schema,
            output_schema=output_schema,
            run=run,
            blocking=blocking,
        )
        for name, title, description, run, input_schema, output_schema in rows
    }


def setup_host(setup: Mapping[str, Any], default: str | None = None) -> str:
    """``setup.host`` as a bare host name or IP address (IPv6 without brackets)."""
    host = setup.get("host") or default
    if not isinstance(host, str) or not host.strip():
        raise ComponentError("setup.host is required")
    host = host.strip()
    if any(c.isspace() or c in "/?#@" for c in host):
        raise ComponentError(f"setup.host must be a host name or an IP address, not {host!r}")
    return host.removeprefix("[").removesuffix("]")


def setup_port(setup: Mapping[str, Any], default: int) -> int:
    """``setup.port``: a number, or digits (a port from a secret is a string)."""
    value = setup.get("port")
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ComponentError(f"setup.port must be a port number (1-65535), not {value!r}")
    return value


def shown(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def checked_address(host: str, port: int, config: Mapping[str, Any]) -> str:
    """The address to connect to for ``host``; a :class:`ComponentError` naming
    ``setup.host`` when the guard refuses it or it does not resolve."""
    policy = outbound.OutboundPolicy.from_hosts(config.get("http_allowed_hosts", ()))
    try:
        addresses = await outbound.resolve_checked(host, port, policy=policy)
    except ComponentError as exc:
        raise ComponentError(f"setup.host: {exc}") from None
    return addresses[0]
