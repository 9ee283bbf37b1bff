"""Outbound HTTP with a guard against requests into the server's own network (SSRF).

Every component that fetches a user-supplied URL (http, file URLs, openai's
``base-url``) goes through :func:`guarded_request`. By default it refuses
loopback, private (RFC 1918, ``fc00::/7``), link-local (``169.254/16`` including
cloud metadata, ``fe80::/10``), unspecified, multicast and reserved addresses.

The check happens where the socket is opened: a custom httpcore network backend
resolves the host, checks *every* address, and connects to a checked address, so
a DNS answer that changes between a check and the connect (DNS rebinding) cannot
sneak past. TLS SNI and the ``Host`` header keep the original hostname because
httpcore still sees the URL's host. Redirects are followed by hand (at most
:data:`MAX_REDIRECTS`) and each hop goes through the same backend.

Hosts listed in ``allowed_hosts`` bypass the guard: an exact hostname or IP (any
port), ``host:port`` (that port only, e.g. ``localhost:11434`` for a local model
server; IPv6 as ``[::1]:11434``), or ``*`` for all. Deployments fill it from
``PIPELINE_HTTP_ALLOWED_HOSTS``. A caller that names ``allowed_paths`` (the openai
component: its own API paths) narrows the bypass to URLs whose path ends in one of
them, with no query (unless the allowed path spells it), fragment or percent-encoding
— an allowed model server is not an open door to the rest of its API (``/api/pull``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import typing
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from pipelines.engine.components import ComponentError

if typing.TYPE_CHECKING:
    # httpx (with httpcore, h11, anyio, certifi: ~5 MB resident) is imported on the first
    # request, not when the http and openai components are registered at start-up.
    import httpx

__all__ = [
    "ALLOWED_SCHEMES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "MAX_REDIRECTS",
    "OutboundPolicy",
    "OutboundRefused",
    "OutboundResponse",
    "OutboundUnavailable",
    "address_problem",
    "check_url",
    "guarded_request",
    "guarded_stream",
    "read_capped",
    "resolve_checked",
]

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
MAX_REDIRECTS = 10
ALLOWED_SCHEMES = frozenset({"http", "https"})
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_HINT = "allow the host with PIPELINE_HTTP_ALLOWED_HOSTS"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(ComponentError):
    """The guard refused a destination; the message says which and why."""


class OutboundUnavailable(ComponentError):
    """The destination could not be reached or did not answer in time: transient,
    so a caller with a retry policy may try again."""


@dataclass(frozen=True)
class OutboundPolicy:
    """Which destinations bypass the guard: hosts (any port), ``host:port`` entries
    (normalised to ``host:port``, IPv6 in brackets), or ``*`` for all."""

    allowed_hosts: frozenset[str] = frozenset()
    #: Path endings a request to an allowed host must have (empty: any path).
    allowed_paths: tuple[str, ...] = ()

    @classmethod
    def from_hosts(cls, hosts: Iterable[str] | str | None, paths: Iterable[str] = ()) -> OutboundPolicy:
        if hosts is None:
            return cls(allowed_paths=tuple(paths))
        if isinstance(hosts, str):
            hosts = hosts.split(",")
        return cls(frozenset(_normalise_entry(h) for h in hosts if h and h.strip()), tuple(paths))

    def path_problem(self, url: httpx.URL) -> str | None:
        """Why ``url`` may not be requested from an allowed host (``None``: it may)."""
        if not self.allowed_paths:
            return None
        raw_path = url.raw_path.decode("ascii", "replace")
        if url.userinfo or url.fragment or "%" in raw_path or raw_path.count("?") > (1 if url.query else 0):
            return "a URL with credentials, a query, a fragment or percent-encoding"
        # A query only as an allowed path spells it (gemini's ":streamGenerateContent?alt=sse").
        spelled = tuple(path for path in self.allowed_paths if ("?" in path) == bool(url.query))
        if url.query and not raw_path.endswith(spelled):
            return "a URL with credentials, a query, a fragment or percent-encoding"
        paths = tuple(path.split("?", 1)[0] for path in spelled)
        if not url.path.endswith(paths) or "/../" in url.path or "/./" in url.path:
            return f"a path other than {' or '.join(self.allowed_paths)}"
        return None

    @property
    def allow_all(self) -> bool:
        return "*" in self.allowed_hosts

    def allows(self, host: str, port: int | None = None) -> bool:
        if self.allow_all:
            return True
        host = _normalise_host(host)
        return host in self.allowed_hosts or (port is not None and _host_port(host, port) in self.allowed_hosts)


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _normalise_entry(entry: str) -> str:
    entry = entry.strip()
    host, port = entry, ""
    if entry.startswith("["):  # [v6] or [v6]:port
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":")
    elif entry.count(":") == 1:  # a bare IPv6 address has more than one colon
        host, port = entry.split(":")
    if port.isdigit():
        return _host_port(_normalise_host(host), int(port))
    return _normalise_host(host)


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def address_problem(ip: IPAddress | str) -> str | None:
    """Why ``ip`` is not a public destination (``None`` when it is)."""
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return address_problem(mapped)
        if ip in _NAT64:
            return address_problem(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.is_unspecified:
        return "unspecified addresses"
    if ip.is_loopback:
        return "loopback addresses"
    if ip.is_link_local:
        return "link-local addresses"
    if ip.is_multicast:
        return "multicast addresses"
    if ip.is_reserved:
        return "reserved addresses"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "shared (carrier-grade NAT) addresses"
    if ip.is_private:
        return "private addresses"
    if not ip.is_global:
        return "reserved addresses"
    return None


_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def check_url(url: str, *, policy: OutboundPolicy | None = None) -> httpx.URL:
    """Parse ``url`` and refuse what can be refused without DNS.

    Refuses non-http(s) schemes, URLs without a host, and literal IP hosts that are
    not public (unless allowed). Hostnames are checked after resolution, at
    connect time, by :func:`guarded_request`.
    """
    policy = policy or OutboundPolicy()
    if not isinstance(url, str) or not url.strip():
        raise OutboundRefused("the endpoint URL is empty")
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}://" if scheme else "a URL without a scheme"
        raise OutboundRefused(f"request to {url!r} refused: {shown} is not allowed (only http and https)")
    import httpx

    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError) as exc:
        raise OutboundRefused(f"invalid URL {url!r}: {exc}") from None
    host = parsed.host
    if not host:
        raise OutboundRefused(f"invalid URL {url!r}: it has no host")
    if policy.allows(host, parsed.port or (443 if parsed.scheme == "https" else 80)):
        problem = policy.path_problem(parsed)
        if problem:
            raise OutboundRefused(f"request to {host} refused: {problem} is not allowed on an allowed host here")
        return parsed
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return parsed
    problem = address_problem(ip)
    if problem:
        raise OutboundRefused(f"request to {host} refused: {problem} are not allowed ({_HINT})")
    return parsed


async def resolve_checked(host: str, port: int, *, policy: OutboundPolicy) -> list[str]:
    """Resolve ``host`` and return its addresses if all of them are allowed.

    One bad address refuses the host: a name that resolves to both a public and
    an internal address is how rebinding attacks hedge their bets.
    """
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ComponentError(f"could not resolve host {host!r}: {exc.strerror or exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise ComponentError(f"could not resolve host {host!r}")
    if policy.allows(host, port):
        return addresses
    for address in addresses:
        problem = address_problem(address)
        if problem:
            via = "" if literal is not None else f" (it resolves to {address})"
            raise OutboundRefused(f"request to {host} refused{via}: {problem} are not allowed ({_HINT})")
    return addresses


@dataclass(frozen=True)
class OutboundResponse:
    """A fully read response (the body is capped)."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str

    @property
    def content_type(self) -> str:
        value: str = self.headers.get("content-type", "")
        return value

    def header_lists(self) -> dict[str, list[str]]:
        """Headers as Instill shows them: canonical name → list of values."""
        out: dict[str, list[str]] = {}
        for name, value in self.headers.multi_items():
            out.setdefault(_canonical_header(name), []).append(value)
        return out


def _canonical_header(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


async def guarded_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    content: bytes | None = None,
    allowed_hosts: Iterable[str] | str | None = (),
    timeout: float = DEFAULT_TIMEOUT,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    max_redirects: int = MAX_REDIRECTS,
) -> OutboundResponse:
    """Send one request through the outbound guard and read the response.

    Redirects are followed (up to ``max_redirects``), each target checked again;
    ``params`` (e.g. an API key) are merged into the first URL only, and ``Authorization``
    and ``Cookie`` headers are dropped when a redirect leaves the original host.
    Non-2xx answers are returned, not raised. Refusals raise :class:`OutboundRefused`;
    network failures, timeouts and oversized bodies raise :class:`ComponentError`.
    """
    import httpx

    policy = OutboundPolicy.from_hosts(allowed_hosts)
    method = method.upper()
    current = check_url(url, policy=policy)
    _check_header_values(headers)
    if params:
        current = current.copy_merge_params(dict(params))
    request_headers = httpx.Headers(headers or {})
    body = content
    try:
        async with asyncio.timeout(timeout), _client(policy, timeout) as client:
            for _hop in range(max_redirects + 1):
                request = client.build_request(
                    method,
                    current,
                    headers=request_headers,
                    content=body,
                )
                response = await client.send(request, stream=True)
                try:
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECT_CODES and location:
                        target = current.join(location)
                        check_url(str(target), policy=policy)
                        if target.host != current.host:
                            request_headers = _without_credentials(request_headers)
                        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                            method = "GET" if method != "HEAD" else "HEAD"
                            body = None
                            request_headers = _without_body_headers(request_headers)
                        current = target
                        continue
                    data = await read_capped(response, max_response_bytes)
                    return OutboundResponse(
                        status_code=response.status_code,
                        headers=response.headers,
                        content=data,
                        url=str(current),
                    )
                finally:
                    await response.aclose()
            raise ComponentError(f"request to {url} exceeded {max_redirects} redirects")
    except (TimeoutError, httpx.HTTPError) as exc:
        raise _failure(exc, current, timeout) from None


@contextlib.asynccontextmanager
async def guarded_stream(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    allowed_hosts: Iterable[str] | str | None = (),
    allowed_paths: Iterable[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
) -> AsyncIterator[httpx.Response]:
    """Send one request through the outbound guard and yield the response unread.

    For answers that arrive over time (server-sent events): ``timeout`` bounds the
    connect and each wait for more bytes, not the whole answer. Redirects are not
    followed — a 3xx is handed back like any other status. Refusals raise
    :class:`OutboundRefused`; network failures and timeouts, also while the caller
    reads the body, raise :class:`OutboundUnavailable`. ``allowed_paths``: see
    :class:`OutboundPolicy`.
    """
    import httpx

    policy = OutboundPolicy.from_hosts(allowed_hosts, allowed_paths)
    target = check_url(url, policy=policy)
    _check_header_values(headers)
    try:
        async with (
            _client(policy, timeout) as client,
            client.stream(method.upper(), target, headers=headers, content=content) as response,
        ):
            yield response
    except httpx.HTTPError as exc:
        raise _failure(exc, target, timeout) from None


def _check_header_values(headers: Mapping[str, str] | None) -> None:
    """Refuse a header value HTTP cannot carry (a key or token pasted with its line
    break, a non-ASCII character) by the header's name: httpx's own error quotes the
    value, the key in it, and is taken for a network failure and retried."""
    for name, value in (headers or {}).items():
        if isinstance(value, str) and (
            not value.isascii() or any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value)
        ):
            raise ComponentError(
                f"the {name} header holds a line break, a control or a non-ASCII character, which HTTP "
                "headers cannot carry (a key or token pasted with its line break?)"
            )


def _client(policy: OutboundPolicy, timeout: float) -> httpx.AsyncClient:
    import httpx

    from pipelines.components._outbound_transport import GuardedTransport

    return httpx.AsyncClient(
        transport=GuardedTransport(policy),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
    )


def _failure(exc: Exception, url: httpx.URL, timeout: float) -> ComponentError:
    import httpx

    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return OutboundUnavailable(f"request to {url} timed out after {timeout:g} s")
    if isinstance(exc, httpx.TransportError):
        return OutboundUnavailable(f"request to {url} failed: {_describe(exc)}")
    return ComponentError(f"request to {url} failed: {_describe(exc)}")


def _without_credentials(headers: httpx.Headers) -> httpx.Headers:
    # Like browsers and httpx: credentials meant for one host never follow a
    # redirect to another.
    import httpx

    out = httpx.Headers(headers)
    for name in ("authorization", "cookie", "proxy-authorization"):
        if name in out:
            del out[name]
    return out


def _without_body_headers(headers: httpx.Headers) -> httpx.Headers:
    import httpx

    out = httpx.Headers(headers)
    for name in ("content-type", "content-length", "transfer-encoding"):
        if name in out:
            del out[name]
    return out


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    """The body of a streamed response; :class:`ComponentError` past ``limit`` bytes."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ComponentError(f"response body is larger than the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ComponentError(f"response body is larger than the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(exc: Exception) -> str:
    text = str(exc)
    return text or type(exc).__name__
