"""The github component against a real local server speaking GitHub's REST API
(tests/components/fake_github.py): every task Instill's github v0 defines, GitHub's
errors, pagination, and PIPELINE_GITHUB_BASE_URL (GitHub Enterprise) and connections in
recipes."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.github import COMPONENT
from pipelines.engine import execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.connections import packed
from pipelines.engine.platform import PlatformSetup
from tests.api.test_application_components_catalog import INSTILL
from tests.components import fake_vendor
from tests.components.fake_github import REPO, SHA, SHA2, TOKEN, running
from tests.components.test_platform_keys import everything_handed_out

FAST = {"http_allowed_hosts": ["127.0.0.1"], "openai_backoff_seconds": 0.01}
HELLO = {"owner": "octocat", "repository": "Hello-World"}

vendor_server, fake = fake_vendor.fixtures(running)


async def run_task(fake, task: str, input: dict[str, Any], **setup: Any) -> dict[str, Any]:
    setup = {"token": TOKEN, "base-url": fake.base_url, **setup}
    return await fake_vendor.run_task(COMPONENT, task, input, setup, FAST, None)


def test_definition_matches_instill():
    """Type, tasks and field names of Instill's github v0 (pkg/component/application/github/v0/config)."""
    assert (COMPONENT.type, COMPONENT.kind, COMPONENT.vendor) == ("github", "application", "GitHub")
    assert sorted(COMPONENT.tasks) == sorted(INSTILL["github"])
    fields = {name: set(task.input_schema["properties"]) for name, task in COMPONENT.tasks.items()}
    assert fields["TASK_LIST_ISSUES"] == {
        "owner",
        "repository",
        "state",
        "sort",
        "direction",
        "since",
        "no-pull-request",
        "page",
        "per-page",
    }
    assert fields["TASK_CREATE_REVIEW_COMMENT"] == {"owner", "repository", "pr-number", "comment"}
    assert fields["TASK_CREATE_WEBHOOK"] == {
        "owner",
        "repository",
        "hook-url",
        "events",
        "active",
        "content-type",
        "hook-secret",
    }
    assert fields["TASK_GET_USER"] == fields["TASK_GET_ORGANIZATION"] == {"name", "id"}
    pr = COMPONENT.tasks["TASK_GET_PULL_REQUEST"].output_schema["properties"]
    assert set(pr) == {
        "id",
        "number",
        "state",
        "title",
        "body",
        "diff-url",
        "head",
        "base",
        "comments-num",
        "commits-num",
        "review-comments-num",
        "commits",
    }
    assert COMPONENT.setup_schema["required"] == ["token"] and COMPONENT.credential_fields == {"token"}


async def test_list_pull_requests_with_their_commits_and_pages(fake):
    out = await run_task(fake, "TASK_LIST_PULL_REQUESTS", {**HELLO, "per-page": 1})
    (pr,) = out["pull-requests"]
    assert pr["number"] == 1347 and pr["title"] == "Amazing new feature"
    assert pr["head"] == SHA2 and pr["base"] == SHA
    assert pr["commits"] == [{"sha": SHA, "message": "Fix all the bugs"}, {"sha": SHA2, "message": "Add the feature"}]
    assert out["response"] == {"next-page": 2, "prev-page": 0, "first-page": 1, "last-page": 2}
    first = fake.requests[0]
    assert first.path == f"{REPO}/pulls?state=open&sort=created&direction=desc&page=1&per_page=1"
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.headers["accept"] == "application/vnd.github+json"
    assert first.headers["x-github-api-version"] == "2022-11-28"


async def test_get_pull_request_has_each_commits_stats_and_files(fake):
    out = await run_task(fake, "TASK_GET_PULL_REQUEST", {**HELLO, "pr-number": 1347})
    assert (out["comments-num"], out["commits-num"], out["review-comments-num"]) == (10, 2, 1)
    assert out["diff-url"] == "https://github.com/octocat/Hello-World/pull/1347.diff"
    assert out["commits"][0] == {
        "sha": SHA,
        "message": "Fix all the bugs",
        "stats": {"additions": 104, "deletions": 4, "changes": 108},
        "files": [
            {
                "filename": "file1.txt",
                "patch": "@@ -132,7 +132,7 @@ module Test @@ -1000,7 +1000,7 @@ module Test",
                "additions": 103,
                "deletions": 21,
                "changes": 124,
            }
        ],
    }


async def test_pr_number_zero_is_the_newest(fake):
    out = await run_task(fake, "TASK_GET_PULL_REQUEST", HELLO)
    assert out["number"] == 1347
    assert fake.requests[0].path == f"{REPO}/pulls?state=all&sort=created&direction=desc&page=1&per_page=1"


async def test_get_commit(fake):
    out = await run_task(fake, "TASK_GET_COMMIT", {**HELLO, "sha": SHA2})
    assert out["sha"] == SHA2 and out["message"] == "Add the feature"
    assert out["stats"] == {"additions": 104, "deletions": 4, "changes": 108}
    assert out["commit"] == {key: value for key, value in out.items() if key != "commit"}


async def test_review_comments_are_listed_and_created_with_instills_names(fake):
    out = await run_task(fake, "TASK_LIST_REVIEW_COMMENTS", {**HELLO, "pr-number": 1347, "since": "2011-01-01"})
    (comment,) = out["comments"]
    assert comment["commit-id"] == SHA and comment["in-reply-to-id"] == 8 and comment["subject-type"] == "line"
    assert comment["user"]["login"] == "octocat" and comment["user"]["html-url"] == "https://github.com/octocat"
    assert comment["reactions"]["+1"] == 3
    assert "since=2011-01-01T00%3A00%3A00Z" in fake.requests[0].path
    await run_task(fake, "TASK_LIST_REVIEW_COMMENTS", HELLO)
    assert fake.requests[-1].path.startswith(f"{REPO}/pulls/comments?")  # the whole repository's

    created = await run_task(
        fake,
        "TASK_CREATE_REVIEW_COMMENT",
        {
            **HELLO,
            "pr-number": 1347,
            "comment": {
                "body": "Great stuff!",
                "path": "file1.txt",
                "commit-id": SHA,
                "line": 2,
                "start-line": 2,
                "side": "RIGHT",
            },
        },
    )
    assert created["id"] == 11 and created["body"] == "Great stuff!"
    post = fake.requests[-1]
    assert post.path == f"{REPO}/pulls/1347/comments"
    # a one-line comment sends no start_line, as Instill does; "side" is GitHub's default
    assert post.body == {
        "body": "Great stuff!",
        "path": "file1.txt",
        "commit_id": SHA,
        "subject_type": "line",
        "line": 2,
        "side": "RIGHT",
    }


async def test_list_issues_as_instills_readme_recipe_asks(fake):
    """The github component of Instill's README recipe (pkg/component/application/github/v0/README.mdx)."""
    input = {
        **HELLO,
        "direction": "desc",
        "no-pull-request": False,
        "page": 1,
        "per-page": 30,
        "since": "2021-01-01T00:00:00Z",
        "sort": "created",
        "state": "open",
    }
    out = await run_task(fake, "TASK_LIST_ISSUES", input)
    assert out["issues"] == [
        {
            "number": 1348,
            "title": "Amazing new feature",
            "state": "open",
            "body": "I'm having a problem with this.",
            "assignee": "octocat",
            "assignees": ["octocat"],
            "labels": ["bug"],
            "is-pull-request": True,
        },
        {
            "number": 1347,
            "title": "Found a bug",
            "state": "open",
            "body": "I'm having a problem with this.",
            "assignee": "octocat",
            "assignees": ["octocat"],
            "labels": ["bug"],
            "is-pull-request": False,
        },
    ]
    assert out["response"]["last-page"] == 3
    out = await run_task(fake, "TASK_LIST_ISSUES", {**HELLO, "no-pull-request": True})
    assert [i["number"] for i in out["issues"]] == [1347]


async def test_get_and_create_issues(fake):
    out = await run_task(fake, "TASK_GET_ISSUE", {**HELLO, "issue-number": 1347})
    assert out["title"] == "Found a bug" and out["is-pull-request"] is False
    created = await run_task(
        fake,
        "TASK_CREATE_ISSUE",
        {**HELLO, "title": "Found a bug", "body": "It breaks.", "assignees": ["octocat"], "labels": ["bug"]},
    )
    assert created["number"] == 1349 and created["labels"] == ["bug"] and created["assignee"] == "octocat"
    assert fake.requests[-1].body == {
        "title": "Found a bug",
        "body": "It breaks.",
        "assignees": ["octocat"],
        "labels": ["bug"],
    }


async def test_users_and_organizations_by_name_or_id(fake):
    by_name = await run_task(fake, "TASK_GET_USER", {"name": "octocat"})
    by_id = await run_task(fake, "TASK_GET_USER", {"id": 1})
    assert by_name == by_id
    assert by_name["user"]["login"] == "octocat" and by_name["user"]["avatar-url"].endswith("octocat_happy.gif")
    org = await run_task(fake, "TASK_GET_ORGANIZATION", {"name": "github"})
    assert org["organization"]["is-verified"] is True and org["organization"]["plan"]["private-repos"] == 20
    assert [r.path for r in fake.requests] == ["/users/octocat", "/user/1", "/orgs/github"]


async def test_create_webhook(fake):
    out = await run_task(
        fake,
        "TASK_CREATE_WEBHOOK",
        {
            **HELLO,
            "hook-url": "https://example.com/webhook",
            "events": ["push", "pull_request"],
            "active": True,
            "hook-secret": "hook-signing-secret",
        },
    )
    assert out == {
        "id": 12345678,
        "url": f"https://api.github.com{REPO}/hooks/12345678",
        "ping-url": f"https://api.github.com{REPO}/hooks/12345678/pings",
        "test-url": f"https://api.github.com{REPO}/hooks/12345678/test",
        "config": {"url": "https://example.com/webhook", "content-type": "json", "insecure-ssl": "0"},
    }
    assert fake.requests[-1].body == {
        "name": "web",
        "active": True,
        "events": ["push", "pull_request"],
        "config": {
            "url": "https://example.com/webhook",
            "content_type": "json",
            "insecure_ssl": "0",
            "secret": "hook-signing-secret",
        },
    }


@pytest.mark.parametrize(
    ("task", "input", "setup", "words"),
    [
        ("TASK_GET_ISSUE", {**HELLO, "issue-number": 9}, {}, "GitHub answered 404 to GET"),
        ("TASK_GET_ISSUE", {**HELLO, "issue-number": 9}, {}, "Check that the repository exists"),
        ("TASK_GET_ISSUE", {**HELLO, "issue-number": 0}, {}, "issue-number must be an integer of at least 1"),
        (
            "TASK_GET_ISSUE",
            {"owner": "..", "repository": "x", "issue-number": 1},
            {},
            "owner must not be empty, '.' or '..'",
        ),
        ("TASK_CREATE_ISSUE", {**HELLO, "title": " "}, {}, "title is required"),
        ("TASK_LIST_ISSUES", {**HELLO, "state": "opened"}, {}, "state must be one of open, closed, all"),
        ("TASK_LIST_ISSUES", {**HELLO, "since": "last week"}, {}, "since must be a date written YYYY-MM-DD"),
        ("TASK_GET_USER", {}, {}, "name or id is required"),
        (
            "TASK_CREATE_WEBHOOK",
            {**HELLO, "hook-url": "ftp://x", "events": ["push"]},
            {},
            "hook-url must be an http(s) URL",
        ),
        (
            "TASK_CREATE_REVIEW_COMMENT",
            {**HELLO, "pr-number": 1, "comment": {"body": "x", "path": "a"}},
            {},
            "comment.commit-id is required",
        ),
        ("TASK_GET_USER", {"name": "octocat"}, {"token": "ghp_wrong"}, "GitHub answered 401 to GET"),
        ("TASK_GET_USER", {"name": "octocat"}, {"token": ""}, "setup.token is required"),
    ],
)
async def test_errors_name_the_field_or_carry_githubs_message(fake, task, input, setup, words):
    with pytest.raises(ComponentError) as caught:
        await run_task(fake, task, input, **setup)
    assert words in str(caught.value)
    assert "ghp_wrong" not in str(caught.value)


@pytest.mark.parametrize("token", ["ghp_pasted\n", "ghp_pasted\r\nX-Other: 1", "ghp_pasted\u00a0"])
async def test_a_token_http_cannot_carry_is_an_error_naming_its_header_not_the_token(fake, token):
    """A token pasted with its line break (or a non-ASCII character): an error naming the
    header at once, not three failed attempts nor Python's codec error, and never the
    token (a token written into the setup is not masked as a secret is)."""
    sent = len(fake.requests)
    with pytest.raises(ComponentError) as caught:
        await run_task(fake, "TASK_GET_USER", {"name": "octocat"}, token=token)
    assert "the Authorization header holds a line break, a control or a non-ASCII character" in str(caught.value)
    assert "ghp_pasted" not in str(caught.value)
    assert len(fake.requests) == sent


async def test_path_segments_cannot_reach_another_endpoint(fake):
    with pytest.raises(ComponentError, match="404"):
        await run_task(fake, "TASK_GET_USER", {"name": "octocat/../../orgs/github"})
    assert fake.requests[-1].path == "/users/octocat%2F..%2F..%2Forgs%2Fgithub"


async def test_server_errors_are_retried(fake):
    fake.fail(502, times=2)
    out = await run_task(fake, "TASK_GET_ISSUE", {**HELLO, "issue-number": 1347})
    assert out["number"] == 1347 and len(fake.requests) == 3


# --- in recipes ------------------------------------------------------------------------

RECIPE = """
version: v1beta
variable:
  repository-name:
    title: Repository Name
    type: string
  repository-owner:
    title: Repository Owner
    type: string
component:
  github:
    type: github
    task: TASK_LIST_ISSUES
    input:
      direction: desc
      no-pull-request: false
      owner: ${variable.repository-owner}
      page: 1
      per-page: 30
      repository: ${variable.repository-name}
      since: "2021-01-01T00:00:00Z"
      sort: created
      state: open
    setup: SETUP
output:
  titles:
    value: ${github.output.issues}
"""


async def run_recipe(setup: str, config: dict[str, Any], secrets: dict[str, str]):
    recipe = parse_recipe(RECIPE.replace("SETUP", setup), registry=default_registry())
    events: list[Any] = []
    rows = recipe.bind_rows([{"repository-name": "Hello-World", "repository-owner": "octocat"}])
    result = await execute(recipe, rows, secrets=secrets, config=config, on_event=events.append)
    return result, events


async def test_instills_readme_recipe_on_a_github_enterprise_base_url(fake):
    """PIPELINE_GITHUB_BASE_URL points the component at a GitHub Enterprise Server (here
    the fake, which no allow list names); the token comes from a secret and shows nowhere."""
    config = {"openai_backoff_seconds": 0.01, "platform_setups": {"github": PlatformSetup("github", "", fake.base_url)}}
    result, events = await run_recipe('{token: "${secret.github-demo}"}', config, {"github-demo": TOKEN})
    row = result.rows[0]
    assert not row.errored, row.components
    assert [issue["number"] for issue in row.outputs["titles"]] == [1348, 1347]
    assert TOKEN not in everything_handed_out(result, events)


async def test_instills_readme_recipe_with_a_connection(fake):
    """A connection is the whole setup (its own base-url for a self-hosted GitHub)."""
    secrets = packed("gh", {"token": TOKEN, "base-url": fake.base_url}, [TOKEN])
    result, events = await run_recipe("${connection.gh}", FAST, secrets)
    row = result.rows[0]
    assert not row.errored, row.components
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in everything_handed_out(result, events)


def test_a_plaintext_token_is_refused():
    from pipelines.engine import RecipeInvalid

    with pytest.raises(RecipeInvalid, match="token"):
        parse_recipe(RECIPE.replace("SETUP", "{token: ghp_plaintext}"), registry=default_registry())
