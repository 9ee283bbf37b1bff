"""The httpx transport behind :mod:`pipelines.components.outbound`: it connects only to
addresses that passed the outbound guard.

A module of its own so that httpx and httpcore are imported by the first outbound
request, not by every process that registers the components.
"""

from __future__ import annotations

import functools
import ssl
import typing

import httpcore
import httpx

from pipelines.components.outbound import OutboundPolicy, OutboundRefused, resolve_checked

__all__ = ["GuardedNetworkBackend", "GuardedTransport"]


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses that passed :func:`resolve_checked`."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_checked(host, port, policy=self._policy)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(self, *args: typing.Any, **kwargs: typing.Any) -> typing.NoReturn:
        raise OutboundRefused("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process, shared by every request (an SSLContext
    is safe to share): loading the CA bundle costs ~20 ms of CPU, which each request
    used to pay twice."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: OutboundPolicy) -> None:
        context = _ssl_context()
        super().__init__(verify=context, trust_env=False)
        # httpx builds its pool without a way to pass a network backend; swap the
        # pool for an equivalent one that connects through the guard.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            network_backend=GuardedNetworkBackend(policy),
        )
