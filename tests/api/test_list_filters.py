"""``filter`` on the lists kept in the database, through the REST API: pipelines of a
namespace and ``/v1beta/pipelines``, releases, runs, component runs, connections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines.models import Pipeline, PipelineRun
from pipelines.services import releases as release_services

NS = "/v1beta/namespaces/alice/pipelines"
ALL = "/v1beta/pipelines"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(p["id"] for p in response.json()["pipelines"])


@pytest.fixture
def three(alice, bob, make_pipeline):
    """alice's private "alpha" (old), public "beta-chat"; bob's public "bobs-chat"."""
    alpha = make_pipeline(alice, "alpha", description="first one")
    Pipeline.objects.filter(pk=alpha.pk).update(create_time=datetime(2001, 1, 1, tzinfo=UTC))
    make_pipeline(alice, "beta-chat", description="talks", public="ROLE_VIEWER")
    make_pipeline(bob, "bobs-chat", description="bob talks", public="ROLE_VIEWER")


def test_instills_create_time_filter_lists_the_namespaces_pipelines(api, three):
    """rest-pipeline-public.js:260 lists with createTime>timestamp(...), URL-encoded."""
    response = api.get(f"{NS}?filter=createTime>timestamp%28%222000-06-19T23:31:08.657Z%22%29")
    assert ids(response) == ["alpha", "beta-chat"]
    assert ids(api.get(NS, {"filter": 'createTime > timestamp("2010-01-01T00:00:00Z")'})) == ["beta-chat"]
    assert ids(api.get(NS, {"filter": 'create_time<"2010-01-01T00:00:00Z"'})) == ["alpha"]


def test_q_visibility_owner_and_boolean_logic(api, three):
    assert ids(api.get(ALL, {"filter": 'q="chat"'})) == ["beta-chat", "bobs-chat"]
    assert ids(api.get(ALL, {"filter": 'q="BOB"'})) == ["bobs-chat"]  # the owner's id, as Instill's q
    assert ids(api.get(ALL, {"filter": 'q="talks" AND visibility=VISIBILITY_PUBLIC'})) == ["beta-chat", "bobs-chat"]
    assert ids(api.get(ALL, {"filter": "visibility=VISIBILITY_PRIVATE"})) == ["alpha"]
    assert ids(api.get(ALL, {"visibility": "VISIBILITY_PUBLIC"})) == ["beta-chat", "bobs-chat"]
    assert ids(api.get(ALL, {"filter": 'owner="users/bob"'})) == ["bobs-chat"]
    assert ids(api.get(ALL, {"filter": 'id="alpha" OR owner="bob"'})) == ["alpha", "bobs-chat"]
    assert ids(api.get(ALL, {"filter": 'NOT q="chat"'})) == ["alpha"]
    assert ids(api.get(ALL, {"filter": 'id="b*" -owner="users/bob"'})) == ["beta-chat"]
    assert ids(api.get(ALL, {"filter": 'description:"TALK"'})) == ["beta-chat", "bobs-chat"]
    assert ids(api.get(ALL, {"filter": 'tag="featured"'})) == []  # no pipeline carries a tag here
    assert ids(api.get(ALL, {"filter": 'uid="not-a-uuid"'})) == []


def test_the_old_search_forms_still_work(api, three):
    """A bare word is AIP-160's global search (the list's ``q``), as the old filter was;
    the ``q`` query parameter is kept too."""
    assert ids(api.get(NS, {"filter": "alp"})) == ["alpha"]
    assert ids(api.get(NS, {"q": "talks"})) == ["beta-chat"]


def test_number_of_runs(api, three, alice):
    beta = Pipeline.objects.get(slug="beta-chat")
    PipelineRun.objects.create(pipeline=beta, requester=alice, status=PipelineRun.Status.COMPLETED)
    assert ids(api.get(NS, {"filter": "numberOfRuns>0"})) == ["beta-chat"]
    assert ids(api.get(NS, {"filter": "numberOfRuns=0"})) == ["alpha"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filter": 'q="x" AND'}, "filter cannot be parsed at column 10: it ends too early"),
        ({"filter": 'colour="red"'}, "filter cannot use 'colour' (column 1); the fields it can use: q, uid, id,"),
        ({"filter": "visibility=PUBLIC"}, "filter: visibility (column 12) takes one of VISIBILITY_PUBLIC"),
        ({"filter": 'createTime>timestamp("then")'}, "is not an RFC 3339 time"),
        ({"visibility": "EVERYONE"}, "visibility must be one of VISIBILITY_UNSPECIFIED"),
    ],
)
def test_a_bad_filter_is_a_400_in_the_error_shape(anon, three, params, message):
    for url in (NS, ALL):
        response = anon.get(url, params)
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == 3 and message in body["message"]
        if "filter" in params:  # the problem is also a field violation, as a recipe's are
            (violation,) = body["details"][0]["fieldViolations"]
            assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"
            assert violation == {"field": "filter", "description": body["message"]}


def test_filter_and_pages_together(api, alice, make_pipeline):
    for n in range(5):
        make_pipeline(alice, f"p{n}", description="even" if n % 2 == 0 else "odd")
    first = api.get(NS, {"filter": 'description="even"', "pageSize": 2}).json()
    assert first["totalSize"] == 3 and len(first["pipelines"]) == 2 and first["nextPageToken"]
    rest = api.get(NS, {"filter": 'description="even"', "pageSize": 2, "pageToken": first["nextPageToken"]}).json()
    assert len(rest["pipelines"]) == 1 and rest["nextPageToken"] == ""
    assert {p["id"] for p in first["pipelines"] + rest["pipelines"]} == {"p0", "p2", "p4"}


def test_releases_filter(api, hello):
    for version in ("v1.0.0", "v1.1.0", "v2.0.0"):
        release_services.release_create(pipeline=hello, release_id=version, description=f"release {version}")
    url = f"{NS}/hello/releases"
    listed = api.get(url, {"filter": 'id="v1*"'}).json()
    assert sorted(r["id"] for r in listed["releases"]) == ["v1.0.0", "v1.1.0"] and listed["totalSize"] == 2
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert api.get(url, {"filter": f'createTime>timestamp("{future}")'}).json()["totalSize"] == 0
    assert api.get(url, {"filter": 'q="2.0"'}).json()["totalSize"] == 1
    assert api.get(url, {"filter": "version=1"}).status_code == 400


def test_the_longest_filter_runs_in_the_database(api, three):
    """A hundred comparisons (the most a filter holds) are one flat SQL condition."""
    many = " OR ".join(f'id="x{n}"' for n in range(99)) + ' OR id="alpha"'
    assert ids(api.get(NS, {"filter": many})) == ["alpha"]
    nested = "(" * 20 + 'q="chat"' + ")" * 20
    assert ids(api.get(NS, {"filter": nested})) == ["beta-chat"]
    assert api.get(NS, {"filter": many + ' OR id="one more"'}).status_code == 400
