"""The http component against a real local server, and the outbound guard."""

from __future__ import annotations

import base64
import re

import pytest

from pipelines.components import outbound
from pipelines.components.http import COMPONENT
from pipelines.engine.components import ComponentError

LOCAL = {"http_allowed_hosts": ["127.0.0.1"]}


async def test_get_json_body_is_decoded(run, http_server):
    """A JSON response body is decoded; status code and headers (as lists) are returned."""
    out = await run(COMPONENT, "TASK_GET", {"endpoint-url": http_server.url("/json")}, **LOCAL)
    assert out["status-code"] == 200
    assert out["body"] == {"hello": "world", "n": [1, 2, 3]}
    assert out["header"]["Content-Type"] == ["application/json"]
    assert out["header"]["X-Multi"] == ["a"]


async def test_get_text_body_is_a_string(run, http_server):
    """A non-JSON response body is returned as text, decoded with its charset."""
    out = await run(COMPONENT, "TASK_GET", {"endpoint-url": http_server.url("/text")}, **LOCAL)
    assert out["body"] == "plain text ✓"


@pytest.mark.parametrize("task", ["TASK_POST", "TASK_PUT", "TASK_PATCH", "TASK_DELETE", "TASK_OPTIONS"])
async def test_methods_with_json_body(run, http_server, task):
    """Tasks with a body send it as JSON with the task's method and the given headers."""
    out = await run(
        COMPONENT,
        task,
        {"endpoint-url": http_server.url("/echo"), "body": {"x": [1, 2]}, "header": {"X-Things": ["a", "b"]}},
        **LOCAL,
    )
    echo = out["body"]
    assert echo["method"] == task.removeprefix("TASK_")
    assert echo["headers"]["content-type"] == "application/json"
    assert echo["headers"]["x-things"] == "a,b"
    assert echo["body"] == '{"x": [1, 2]}'


async def test_string_body_is_sent_as_text(run, http_server):
    """A string body is sent verbatim as text/plain unless a Content-Type header says otherwise."""
    out = await run(COMPONENT, "TASK_POST", {"endpoint-url": http_server.url("/echo"), "body": "raw text"}, **LOCAL)
    assert out["body"]["body"] == "raw text"
    assert out["body"]["headers"]["content-type"].startswith("text/plain")
    out = await run(
        COMPONENT,
        "TASK_POST",
        {
            "endpoint-url": http_server.url("/echo"),
            "body": "a=1",
            "header": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        **LOCAL,
    )
    assert out["body"]["headers"]["content-type"] == "application/x-www-form-urlencoded"


async def test_head_has_empty_body(run, http_server):
    """HEAD returns the status and headers with an empty body."""
    out = await run(COMPONENT, "TASK_HEAD", {"endpoint-url": http_server.url("/json")}, **LOCAL)
    assert out["status-code"] == 200
    assert out["body"] == ""


async def test_non_2xx_is_an_output_not_an_error(run, http_server):
    """A 404 or 500 answer is reported in status-code, the component succeeds."""
    out = await run(COMPONENT, "TASK_GET", {"endpoint-url": http_server.url("/status?code=503")}, **LOCAL)
    assert out["status-code"] == 503
    assert out["body"] == {"status": 503}


@pytest.mark.parametrize(
    ("authentication", "header", "expected"),
    [
        ({"auth-type": "NO_AUTH"}, "authorization", None),
        (
            {"auth-type": "BASIC_AUTH", "username": "ada", "password": "s3cret"},
            "authorization",
            "Basic " + base64.b64encode(b"ada:s3cret").decode(),
        ),
        ({"auth-type": "BEARER_TOKEN", "token": "tok"}, "authorization", "Bearer tok"),
        ({"auth-type": "API_KEY", "key": "X-Key", "value": "v", "auth-location": "header"}, "x-key", "v"),
    ],
)
async def test_authentication_headers(run, http_server, authentication, header, expected):
    """Each auth-type puts its credentials where Instill does."""
    out = await run(
        COMPONENT,
        "TASK_GET",
        {"endpoint-url": http_server.url("/echo")},
        setup={"authentication": authentication},
        **LOCAL,
    )
    assert out["body"]["headers"].get(header) == expected


async def test_api_key_in_query(run, http_server):
    """API_KEY with auth-location query adds the key to the query string."""
    out = await run(
        COMPONENT,
        "TASK_GET",
        {"endpoint-url": http_server.url("/echo?a=1")},
        setup={"authentication": {"auth-type": "API_KEY", "key": "api_key", "value": "v", "auth-location": "query"}},
        **LOCAL,
    )
    assert out["body"]["query"] == {"a": "1", "api_key": "v"}


async def test_incomplete_authentication_fails(run, http_server):
    """Empty credentials and unknown auth types are component errors."""
    with pytest.raises(ComponentError, match="Bearer Token Auth error"):
        await run(
            COMPONENT,
            "TASK_GET",
            {"endpoint-url": http_server.url("/json")},
            setup={"authentication": {"auth-type": "BEARER_TOKEN", "token": ""}},
            **LOCAL,
        )
    with pytest.raises(ComponentError, match="Invalid authentication type"):
        await run(
            COMPONENT,
            "TASK_GET",
            {"endpoint-url": http_server.url("/json")},
            setup={"authentication": {"auth-type": "OAUTH"}},
            **LOCAL,
        )


async def test_redirects_are_followed(run, http_server):
    """A redirect to an allowed URL is followed; a 303 after POST becomes a GET."""
    out = await run(COMPONENT, "TASK_GET", {"endpoint-url": http_server.url("/redirect?to=/text")}, **LOCAL)
    assert out["body"] == "plain text ✓"
    out = await run(
        COMPONENT,
        "TASK_POST",
        {"endpoint-url": http_server.url("/redirect?code=303&to=/echo"), "body": {"a": 1}},
        **LOCAL,
    )
    assert out["body"]["method"] == "GET"
    assert out["body"]["body"] == ""
    out = await run(
        COMPONENT,
        "TASK_PUT",
        {"endpoint-url": http_server.url("/redirect?code=307&to=/echo"), "body": {"a": 1}},
        **LOCAL,
    )
    assert out["body"]["method"] == "PUT"
    assert out["body"]["body"] == '{"a": 1}'


async def test_redirect_loop_is_cut(run, http_server):
    """More than 10 redirects is a component error."""
    with pytest.raises(ComponentError, match="exceeded 10 redirects"):
        await run(COMPONENT, "TASK_GET", {"endpoint-url": http_server.url("/redirect-loop")}, **LOCAL)


async def test_timeout_is_a_component_error(run, http_server):
    """A response slower than http_timeout fails with a timeout message."""
    with pytest.raises(ComponentError, match=re.escape("timed out after 0.3 s")):
        await run(
            COMPONENT, "TASK_GET", {"endpoint-url": http_server.url("/slow?seconds=2")}, http_timeout=0.3, **LOCAL
        )


async def test_response_size_is_capped(run, http_server):
    """A body larger than http_max_response_bytes fails instead of filling memory."""
    out = await run(
        COMPONENT,
        "TASK_GET",
        {"endpoint-url": http_server.url("/big?bytes=1000")},
        http_max_response_bytes=1000,
        **LOCAL,
    )
    assert len(out["body"]) == 1000
    with pytest.raises(ComponentError, match="larger than the 1000-byte limit"):
        await run(
            COMPONENT,
            "TASK_GET",
            {"endpoint-url": http_server.url("/big?bytes=1001")},
            http_max_response_bytes=1000,
            **LOCAL,
        )


async def test_connection_refused_is_a_component_error(run):
    """A closed port is reported as a failed request."""
    with pytest.raises(ComponentError, match=re.escape("request to http://127.0.0.1:9/ failed")):
        await run(COMPONENT, "TASK_GET", {"endpoint-url": "http://127.0.0.1:9/"}, **LOCAL)


# --- the outbound guard --------------------------------------------------------------


async def test_loopback_is_refused_without_allow_list(run, http_server):
    """Without an allow-list, a loopback URL is refused with a hint on how to allow it."""
    with pytest.raises(outbound.OutboundRefused) as refused:
        await run(COMPONENT, "TASK_GET", {"endpoint-url": http_server.url("/json")})
    assert str(refused.value) == (
        "request to 127.0.0.1 refused: loopback addresses are not allowed "
        "(allow the host with PIPELINE_HTTP_ALLOWED_HOSTS)"
    )


async def test_allow_all_hosts(run, http_server):
    """`*` in the allow-list turns the guard off."""
    out = await run(COMPONENT, "TASK_GET", {"endpoint-url": http_server.url("/json")}, http_allowed_hosts=["*"])
    assert out["status-code"] == 200


async def test_hostname_resolving_to_loopback_is_refused(run, http_server):
    """The check happens after DNS: `localhost` resolves to loopback and is refused."""
    with pytest.raises(outbound.OutboundRefused, match=r"request to localhost refused \(it resolves to"):
        await run(COMPONENT, "TASK_GET", {"endpoint-url": f"http://localhost:{http_server.port}/json"})


async def test_allowing_an_ip_does_not_allow_other_loopback_names(run, http_server):
    """Allowing 127.0.0.1 still refuses ::1 (exact match only)."""
    with pytest.raises(outbound.OutboundRefused, match="::1 refused"):
        await run(COMPONENT, "TASK_GET", {"endpoint-url": f"http://[::1]:{http_server.port}/"}, **LOCAL)


async def test_redirect_to_a_disallowed_address_is_refused(run, http_server):
    """An allowed host redirecting to a private or metadata address is refused at the redirect."""
    with pytest.raises(outbound.OutboundRefused, match=re.escape("169.254.169.254 refused: link-local")):
        await run(
            COMPONENT,
            "TASK_GET",
            {"endpoint-url": http_server.url("/redirect?to=http://169.254.169.254/latest/meta-data/")},
            **LOCAL,
        )
    with pytest.raises(outbound.OutboundRefused, match="localhost refused"):
        await run(
            COMPONENT,
            "TASK_GET",
            {"endpoint-url": http_server.url(f"/redirect?to=http://localhost:{http_server.port}/json")},
            **LOCAL,
        )


async def test_redirect_to_another_scheme_is_refused(run, http_server):
    """A redirect to file:// is refused."""
    with pytest.raises(outbound.OutboundRefused, match="file:// is not allowed"):
        await run(COMPONENT, "TASK_GET", {"endpoint-url": http_server.url("/redirect?to=file:///etc/passwd")}, **LOCAL)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/", "link-local"),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://100.64.0.1/", "shared"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fd00::1]/", "private"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://2130706433/", "loopback"),
    ],
)
async def test_internal_addresses_are_refused(run, url, reason):
    """Metadata, private, link-local, unspecified, multicast and reserved addresses are refused."""
    with pytest.raises(outbound.OutboundRefused, match=reason):
        await run(COMPONENT, "TASK_GET", {"endpoint-url": url})


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/", "example.com/path"])
async def test_non_http_schemes_are_refused(run, url):
    """Only http and https URLs are fetched."""
    with pytest.raises(outbound.OutboundRefused, match="is not allowed"):
        await run(COMPONENT, "TASK_GET", {"endpoint-url": url})


def test_address_problem_accepts_public_addresses():
    """Public addresses pass the address check."""
    assert outbound.address_problem("93.184.216.34") is None
    assert outbound.address_problem("2606:4700:4700::1111") is None
    assert outbound.address_problem("127.0.0.1") == "loopback addresses"


async def test_resolve_checked_refuses_when_any_address_is_internal():
    """resolve_checked returns the addresses when allowed and refuses loopback names otherwise."""
    policy = outbound.OutboundPolicy.from_hosts(["localhost"])
    assert "127.0.0.1" in await outbound.resolve_checked("localhost", 80, policy=policy)
    with pytest.raises(outbound.OutboundRefused):
        await outbound.resolve_checked("localhost", 80, policy=outbound.OutboundPolicy())


def test_policy_from_comma_separated_string():
    """The allow-list can come straight from an environment variable value."""
    policy = outbound.OutboundPolicy.from_hosts("Example.com, 10.0.0.5 ,[::1]")
    assert policy.allows("example.com") and policy.allows("10.0.0.5") and policy.allows("::1")
    assert not policy.allows("other.com")


async def test_host_port_entries_allow_that_port_only(run, http_server):
    """``host:port`` (``[v6]:port`` for IPv6) allows one port of an internal host, not the others."""
    policy = outbound.OutboundPolicy.from_hosts("LocalHost:11434, [::1]:8000, 10.0.0.5")
    assert policy.allows("localhost", 11434) and policy.allows("::1", 8000) and policy.allows("10.0.0.5", 1)
    assert not policy.allows("localhost", 80) and not policy.allows("localhost") and not policy.allows("::1", 8001)
    url = http_server.url("/json")
    out = await run(COMPONENT, "TASK_GET", {"endpoint-url": url}, http_allowed_hosts=[f"127.0.0.1:{http_server.port}"])
    assert out["status-code"] == 200
    with pytest.raises(outbound.OutboundRefused):
        await run(
            COMPONENT, "TASK_GET", {"endpoint-url": url}, http_allowed_hosts=[f"127.0.0.1:{http_server.port + 1}"]
        )


async def test_allowed_hostname_connects_to_a_resolved_address(run, http_server):
    """An allowed hostname is resolved and connected by address (trying each, since localhost may be ::1 first)."""
    out = await run(
        COMPONENT,
        "TASK_GET",
        {"endpoint-url": f"http://localhost:{http_server.port}/echo"},
        http_allowed_hosts="localhost",
    )
    assert out["status-code"] == 200
    assert out["body"]["headers"]["host"] == f"localhost:{http_server.port}", "the Host header keeps the name"


async def test_guarded_request_public_api(http_server):
    """guarded_request returns a read response; params merge into the query of the first URL only."""
    response = await outbound.guarded_request(
        "GET", http_server.url("/echo?a=1"), params={"b": "2"}, headers={"X-A": "1"}, allowed_hosts=["127.0.0.1"]
    )
    assert response.status_code == 200
    assert b'"query": {"a": "1", "b": "2"}' in response.content
    assert response.header_lists()["Content-Type"] == ["application/json"]


async def test_credentials_do_not_follow_a_redirect_to_another_host(http_server):
    """Authorization is dropped when a redirect leaves the original host."""
    target = f"http://localhost:{http_server.port}/echo"
    response = await outbound.guarded_request(
        "GET",
        http_server.url(f"/redirect?to={target}"),
        headers={"Authorization": "Bearer secret"},
        allowed_hosts=["127.0.0.1", "localhost"],
    )
    assert b"secret" not in response.content
