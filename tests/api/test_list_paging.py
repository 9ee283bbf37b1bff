"""Every list pages the same two ways: by ``pageToken`` (the ``nextPageToken`` of the
page before) and by ``page`` number; ``pageSize`` is 10 by default and 100 at most,
and every answer says ``totalSize`` and ``nextPageToken``. Also the runs' and
component runs' ``filter``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines.models import ComponentRun, PipelineRun
from pipelines.services import releases as release_services
from pipelines.services.connections import connection_create
from pipelines.services.secrets import secret_create
from pipelines.services.tokens import token_create

NS = "/v1beta/namespaces/alice"
PIPE = f"{NS}/pipelines/hello"
N = 12


@pytest.fixture
def lots(alice, hello, make_pipeline):
    """N of everything alice can list; the first run has N component runs."""
    for n in range(N - 1):
        make_pipeline(alice, f"p{n:02}", raw_recipe=hello.raw_recipe.replace("hello", f"hello{n}"))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(N):
        release_services.release_create(pipeline=hello, release_id=f"v1.{n}.0")
        secret_create(namespace=alice.namespace, secret_id=f"s{n:02}", value="x")
        token_create(user=alice, token_id=f"t{n:02}")
        connection_create(
            namespace=alice.namespace,
            data={
                "id": f"c{n:02}",
                "integrationId": "openai",
                "method": "METHOD_DICTIONARY",
                "setup": {"api-key": "k"},
            },
        )
        PipelineRun.objects.create(
            pipeline=hello,
            requester=alice,
            create_time=start + timedelta(days=n),
            start_time=start + timedelta(days=n),
            status=PipelineRun.Status.FAILED if n % 3 == 0 else PipelineRun.Status.COMPLETED,
            source=PipelineRun.Source.CONSOLE if n % 2 else PipelineRun.Source.API,
        )
    run = PipelineRun.objects.order_by("create_time").first()
    for n in range(N):
        ComponentRun.objects.create(
            run=run,
            component_id=f"comp{n:02}",
            status=ComponentRun.Status.SKIPPED if n % 4 == 0 else ComponentRun.Status.COMPLETED,
        )
    return run


# (url, key of the items, how an item is named)
LISTS = [
    (f"{NS}/pipelines", "pipelines", "id"),
    ("/v1beta/pipelines", "pipelines", "id"),
    (f"{PIPE}/releases", "releases", "id"),
    (f"{PIPE}/runs", "pipelineRuns", "pipelineRunUid"),
    (f"{NS}/secrets", "secrets", "id"),
    ("/v1beta/tokens", "tokens", "id"),
    (f"{NS}/connections", "connections", "id"),
]


def _walk_by_token(api, url, key, name, size):
    seen, token, pages = [], "", 0
    while True:
        params = {"pageSize": size, **({"pageToken": token} if token else {})}
        body = api.get(url, params).json()
        seen += [item[name] for item in body[key]]
        pages += 1
        token = body["nextPageToken"]
        if not token:
            return seen, body["totalSize"], pages


def _walk_by_number(api, url, key, name, size, pages):
    return [item[name] for page in range(pages) for item in api.get(url, {"pageSize": size, "page": page}).json()[key]]


@pytest.mark.parametrize(("url", "key", "name"), LISTS)
def test_token_and_page_number_walk_the_same_list(api, lots, url, key, name):
    first = api.get(url).json()
    assert len(first[key]) == 10 and first["nextPageToken"]  # the default size
    everything = api.get(url, {"pageSize": 100}).json()
    total = everything["totalSize"]
    assert total >= N and len(everything[key]) == total and everything["nextPageToken"] == ""
    by_token, total_again, pages = _walk_by_token(api, url, key, name, 5)
    assert total_again == total and pages == -(-total // 5)
    assert by_token == [item[name] for item in everything[key]]
    assert _walk_by_number(api, url, key, name, 5, pages) == by_token
    assert api.get(url, {"pageSize": 1000}).json()[key] == everything[key]  # clamped to 100
    assert api.get(url, {"page_size": 3}).json()[key] == everything[key][:3]  # proto-JSON's name


def test_component_runs_page_both_ways_on_both_paths(api, lots):
    for url in (
        f"/v1beta/pipeline-runs/{lots.uid}/component-runs",
        f"{PIPE}/runs/{lots.uid}/component-runs",
    ):
        by_token, total, pages = _walk_by_token(api, url, "componentRuns", "componentId", 5)
        assert total == N and pages == 3 and by_token == [f"comp{n:02}" for n in range(N)]
        assert _walk_by_number(api, url, "componentRuns", "componentId", 5, 3) == by_token
        last = api.get(url, {"pageSize": 5, "page": 2}).json()
        assert (last["page"], last["pageSize"], last["nextPageToken"]) == (2, 5, "")


def test_the_runs_answer_keeps_page_and_page_size(api, lots):
    body = api.get(f"{PIPE}/runs", {"pageSize": 4, "page": 1}).json()
    assert (body["page"], body["pageSize"], body["totalSize"], len(body["pipelineRuns"])) == (1, 4, N, 4)
    by_token = api.get(f"{PIPE}/runs", {"pageSize": 4, "pageToken": body["nextPageToken"]}).json()
    assert by_token["page"] == 2


def test_runs_filter(api, lots):
    def uids(**params):
        response = api.get(f"{PIPE}/runs", {"pageSize": 100, **params})
        assert response.status_code == 200, response.content
        return len(response.json()["pipelineRuns"])

    assert uids(filter='status="RUN_STATUS_FAILED"') == 4
    assert uids(filter="status=RUN_STATUS_FAILED OR source=RUN_SOURCE_CONSOLE") == 8
    assert uids(filter='startTime>=timestamp("2024-01-07T00:00:00Z")') == 6
    assert uids(filter='NOT status=RUN_STATUS_FAILED startTime<"2024-01-05T00:00:00Z"') == 2
    assert uids(status="RUN_STATUS_FAILED") == 4  # the old parameter still works
    assert uids(filter=f'pipelineTriggerUID="{lots.uid}"') == 1
    bad = api.get(f"{PIPE}/runs", {"filter": "status=DONE"})
    assert bad.status_code == 400 and "status (column 8) takes one of RUN_STATUS_QUEUED" in bad.json()["message"]


def test_component_runs_filter(api, lots):
    url = f"/v1beta/pipeline-runs/{lots.uid}/component-runs"
    skipped = api.get(url, {"filter": "status=RUN_STATUS_SKIPPED"}).json()
    assert [c["componentId"] for c in skipped["componentRuns"]] == ["comp00", "comp04", "comp08"]
    assert api.get(url, {"filter": 'componentID="comp1*"'}).json()["totalSize"] == 2
    assert api.get(url, {"filter": "colour=1"}).status_code == 400


def test_connections_and_referenced_pipelines_take_expressions(api, lots, alice):
    url = f"{NS}/connections"
    connection_create(
        namespace=alice.namespace,
        data={"id": "mine", "integrationId": "universal-ai", "method": "METHOD_DICTIONARY", "setup": {"model": "m"}},
    )
    by_vendor = api.get(url, {"filter": 'qConnection="INSTILL"'}).json()  # Universal AI's vendor
    assert [c["id"] for c in by_vendor["connections"]] == ["mine"]
    assert api.get(url, {"filter": 'q="universal ai"'}).json()["totalSize"] == 1  # its title
    assert api.get(url, {"filter": 'integrationId="openai"'}).json()["totalSize"] == 12
    assert api.get(url, {"filter": "qConnection=\"c0\" AND integrationId='openai'"}).json()["totalSize"] == 10
    assert api.get(url, {"filter": 'id="c01" OR id="c11"'}).json()["totalSize"] == 2
    assert api.get(url, {"filter": "c1"}).json()["totalSize"] == 2  # a bare word searches qConnection
    assert api.get(f"{url}/c01/referenced-pipelines", {"filter": 'q="x" OR'}).status_code == 400


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"pageToken": "not-ours"}, "pageToken is not a token this server gave out"),
        ({"pageSize": "-1"}, "pageSize must not be negative"),
        ({"pageSize": "ten"}, "pageSize must be a whole number"),
        ({"page": "-1"}, "page must not be negative"),
        ({"page": "99999999999"}, "page must be at most 2147483647"),
    ],
)
def test_bad_paging_is_a_400(api, hello, params, message):
    for url in (f"{NS}/pipelines", f"{PIPE}/runs"):
        response = api.get(url, params)
        assert response.status_code == 400 and message in response.json()["message"]
