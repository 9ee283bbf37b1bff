"""The jira component against a real local server speaking Jira's REST and Agile APIs
(tests/components/fake_jira.py): every task Instill's jira v0 defines, Jira's errors,
and Instill's README recipe with its secret token."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.jira import COMPONENT
from pipelines.engine import execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.platform import PlatformSetup
from tests.api.test_application_components_catalog import INSTILL
from tests.components import fake_vendor
from tests.components.fake_jira import EMAIL, TOKEN, running
from tests.components.test_platform_keys import everything_handed_out

FAST = {"http_allowed_hosts": ["127.0.0.1"], "openai_backoff_seconds": 0.01}

vendor_server, fake = fake_vendor.fixtures(running)


async def run_task(fake, task: str, input: dict[str, Any], **setup: Any) -> dict[str, Any]:
    setup = {"token": TOKEN, "email": EMAIL, "base-url": fake.base_url, **setup}
    return await fake_vendor.run_task(COMPONENT, task, input, setup, FAST, None)


def keys(out: dict[str, Any]) -> list[str]:
    return [issue["key"] for issue in out["issues"]]


def test_definition_matches_instill():
    """Type, tasks and field names of Instill's jira v0 (pkg/component/application/jira/v0/config)."""
    assert (COMPONENT.type, COMPONENT.kind, COMPONENT.vendor) == ("jira", "application", "Atlassian")
    assert sorted(COMPONENT.tasks) == sorted(INSTILL["jira"])
    assert COMPONENT.setup_schema["required"] == ["token", "email", "base-url"]
    inputs = {name: task.input_schema for name, task in COMPONENT.tasks.items()}
    assert set(inputs["TASK_LIST_BOARDS"]["properties"]) == {
        "project-key-or-id",
        "board-type",
        "name",
        "start-at",
        "max-results",
    }
    assert inputs["TASK_UPDATE_SPRINT"]["required"] == ["sprint-id", "name", "start-date", "end-date", "current-state"]
    assert inputs["TASK_CREATE_SPRINT"]["required"] == ["board-name", "name", "goal", "start-date", "end-date"]
    ranges = [
        branch["properties"]["range"]["const"] for branch in inputs["TASK_LIST_ISSUES"]["properties"]["range"]["oneOf"]
    ]
    assert ranges == [
        "All",
        "Standard Issues",
        "Epics only",
        "In backlog only",
        "Issues of an epic",
        "Issues of a sprint",
        "Issues without epic assigned",
        "JQL query",
    ]
    issue = COMPONENT.tasks["TASK_GET_ISSUE"].output_schema
    assert set(issue["properties"]) == {"id", "key", "self", "fields", "issue-type", "summary", "description", "status"}
    sprint = COMPONENT.tasks["TASK_GET_SPRINT"].output_schema
    assert set(sprint["properties"]) == {
        "id",
        "self",
        "state",
        "name",
        "start-date",
        "end-date",
        "complete-date",
        "origin-board-id",
        "goal",
    }
    assert COMPONENT.credential_fields == {"token"}


async def test_list_boards_as_instill_asks_them(fake):
    out = await run_task(fake, "TASK_LIST_BOARDS", {"board-type": "scrum", "max-results": 1})
    assert out == {
        "boards": [
            {
                "id": 84,
                "name": "scrum board",
                "self": "https://your-domain.atlassian.net/rest/agile/1.0/board/84",
                "type": "scrum",
            }
        ],
        "start-at": 0,
        "max-results": 1,
        "total": 2,
        "is-last": False,
    }
    request = fake.requests[0]
    assert request.path == "/rest/agile/1.0/board?type=scrum&startAt=0&maxResults=1"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()


@pytest.mark.parametrize(
    ("range_", "expected"),
    [
        ({"range": "All"}, ["PR-1", "PR-2", "PR-3"]),
        ({"range": "Standard Issues"}, ["PR-2", "PR-3"]),
        ({"range": "Epics only"}, ["PR-1"]),
        ({"range": "In backlog only"}, ["PR-1", "PR-2"]),
        ({"range": "Issues of an epic", "epic-key": "PR-1"}, ["PR-2"]),
        ({"range": "Issues without epic assigned"}, ["PR-3"]),
        ({"range": "JQL query", "jql": 'type = "Task" AND status = "Done"'}, ["PR-3"]),
    ],
)
async def test_list_issues_by_range(fake, range_, expected):
    out = await run_task(fake, "TASK_LIST_ISSUES", {"board-name": "kanban board", "range": range_})
    assert keys(out) == expected
    assert out["total"] == len(expected)


async def test_issues_are_answered_as_instill_gives_them(fake):
    out = await run_task(fake, "TASK_GET_ISSUE", {"issue-key": "PR-2"})
    assert {key: out[key] for key in ("id", "key", "issue-type", "summary", "description", "status")} == {
        "id": "10002",
        "key": "PR-2",
        "issue-type": "Task",
        "summary": "Pay by card",
        "description": "Pay by card: the details.",
        "status": "To Do",
    }
    assert out["fields"]["parent"] == {"key": "PR-1"}
    epics = await run_task(fake, "TASK_LIST_ISSUES", {"board-name": "kanban board", "range": {"range": "Epics only"}})
    assert epics["issues"][0]["issue-type"] == "Epic" and epics["issues"][0]["summary"] == "Checkout flow"


async def test_create_issue_then_read_it_back(fake):
    out = await run_task(
        fake,
        "TASK_CREATE_ISSUE",
        {
            "project-key": "PR",
            "issue-type": {"issue-type": "Subtask", "parent-key": "PR-2"},
            "summary": "Add Visa",
            "description": "Visa cards too.",
        },
    )
    assert (out["key"], out["issue-type"], out["summary"], out["status"]) == ("PR-4", "Subtask", "Add Visa", "To Do")
    post = fake.requests[0]
    assert post.path == "/rest/api/2/issue"
    assert post.body == {
        "fields": {
            "project": {"key": "PR"},
            "issuetype": {"name": "Subtask"},
            "summary": "Add Visa",
            "description": "Visa cards too.",
            "parent": {"key": "PR-2"},
        }
    }
    assert fake.requests[1].path == "/rest/agile/1.0/issue/PR-4"


async def test_update_issue_with_custom_fields_and_epic_moves(fake):
    out = await run_task(
        fake,
        "TASK_UPDATE_ISSUE",
        {
            "issue-key": "PR-3",
            "notify-users": False,
            "update": {
                "update": "Custom Update",
                "update-fields": [
                    {"action": "set", "field-name": "summary", "value": "Fix the login page for good"},
                    {"action": "add", "field-name": "labels", "value": "urgent"},
                ],
            },
        },
    )
    assert out["summary"] == "Fix the login page for good" and out["fields"]["labels"] == ["urgent"]
    put = fake.requests[0]
    assert put.path == "/rest/api/2/issue/PR-3?notifyUsers=false&returnIssue=true"
    assert put.body == {"update": {"labels": [{"add": "urgent"}]}, "fields": {"summary": "Fix the login page for good"}}

    moved = await run_task(
        fake, "TASK_UPDATE_ISSUE", {"issue-key": "PR-3", "update": {"update": "Move Issue to Epic", "epic-key": "PR-1"}}
    )
    assert fake.epic_moves == [("PR-1", ["PR-3"])] and moved["fields"]["parent"] == {"key": "PR-1"}
    # a team-managed project takes the epic as the issue's parent instead
    fake.next_gen = True
    await run_task(
        fake, "TASK_UPDATE_ISSUE", {"issue-key": "PR-2", "update": {"update": "Move Issue to Epic", "epic-key": "PR-9"}}
    )
    assert fake.requests[-2].body == {"fields": {"parent": {"key": "PR-9"}}}


async def test_sprints(fake):
    listed = await run_task(fake, "TASK_LIST_SPRINTS", {"board-id": 84})
    assert [s["name"] for s in listed["sprints"]] == ["sprint 1", "sprint 2"] and listed["total"] == 2
    got = await run_task(fake, "TASK_GET_SPRINT", {"sprint-id": 37})
    assert got == {
        "id": 37,
        "self": "https://your-domain.atlassian.net/rest/agile/1.0/sprint/37",
        "state": "closed",
        "name": "sprint 1",
        "start-date": "2015-04-11T15:22:00.000+10:00",
        "end-date": "2015-04-20T01:22:00.000+10:00",
        "complete-date": "2015-04-20T11:04:00.000+10:00",
        "origin-board-id": 84,
        "goal": "sprint 1 goal",
    }
    created = await run_task(
        fake,
        "TASK_CREATE_SPRINT",
        {
            "board-name": "kanban board",
            "name": "sprint 3",
            "goal": "ship it",
            "start-date": "2030-03-05",
            "end-date": "2030-03-19T09:00:00Z",
        },
    )
    assert created["origin-board-id"] == 92 and created["state"] == "future"
    assert fake.requests[-1].body == {
        "name": "sprint 3",
        "goal": "ship it",
        "startDate": "2030-03-05T00:00:00.000Z",
        "endDate": "2030-03-19T09:00:00Z",
        "originBoardId": 92,
    }
    started = await run_task(
        fake,
        "TASK_UPDATE_SPRINT",
        {
            "sprint-id": created["id"],
            "name": "sprint 3",
            "start-date": "2030-03-05",
            "end-date": "2030-03-19",
            "current-state": "future",
            "enter-next-state": True,
        },
    )
    assert started["state"] == "active"
    assert fake.requests[-1].body["startDate"] < "2030"  # a sprint that starts now starts now


@pytest.mark.parametrize(
    ("task", "input", "setup", "words"),
    [
        ("TASK_GET_ISSUE", {"issue-key": "PR-99"}, {}, "Jira answered 404 to GET"),
        ("TASK_GET_ISSUE", {"issue-key": "PR-99"}, {}, "Issue does not exist or you do not have permission"),
        ("TASK_LIST_ISSUES", {"board-name": "scrum"}, {}, 'several boards have "scrum" in their name'),
        ("TASK_LIST_ISSUES", {"board-name": "nothing"}, {}, "board-name: no board named 'nothing'"),
        (
            "TASK_LIST_ISSUES",
            {"board-name": "kanban board", "range": {"range": "Some"}},
            {},
            "range.range must be one of",
        ),
        (
            "TASK_LIST_ISSUES",
            {"board-name": "kanban board", "range": {"range": "JQL query"}},
            {},
            "range.jql is required",
        ),
        (
            "TASK_CREATE_ISSUE",
            {"project-key": "PR", "issue-type": {"issue-type": "Task"}},
            {},
            "summary: You must specify a summary",
        ),
        (
            "TASK_CREATE_SPRINT",
            {"board-name": "kanban board", "name": "s", "start-date": "2030-01-01"},
            {},
            "end-date is required",
        ),
        (
            "TASK_CREATE_SPRINT",
            {"board-name": "kanban board", "name": "s", "end-date": "next week"},
            {},
            "end-date must be a date",
        ),
        (
            "TASK_UPDATE_ISSUE",
            {
                "issue-key": "PR-1",
                "update": {"update": "Custom Update", "update-fields": [{"action": "bump", "field-name": "x"}]},
            },
            {},
            "update.update-fields[0].action must be one of",
        ),
        (
            "TASK_UPDATE_SPRINT",
            {"sprint-id": 37, "name": "s", "end-date": "2030-01-01", "current-state": "done"},
            {},
            "current-state must be one of",
        ),
        ("TASK_GET_SPRINT", {"sprint-id": 5}, {}, "Sprint does not exist"),
        ("TASK_GET_ISSUE", {"issue-key": "PR-1"}, {"token": "wrong-token"}, "Jira answered 401 to GET"),
        ("TASK_GET_ISSUE", {"issue-key": "PR-1"}, {"base-url": ""}, "setup.base-url is required"),
        ("TASK_GET_ISSUE", {"issue-key": ".."}, {}, "issue-key must not be empty, '.' or '..'"),
    ],
)
async def test_errors_name_the_field_or_carry_jiras_message(fake, task, input, setup, words):
    with pytest.raises(ComponentError) as caught:
        await run_task(fake, task, input, **setup)
    assert words in str(caught.value)
    assert "wrong-token" not in str(caught.value)


# Instill's README recipe (pkg/component/application/jira/v0/README.mdx), its jira part.
RECIPE = """
version: v1beta
variable:
  board-name:
    type: string
  base-url:
    type: string
  jira-email:
    type: string
component:
  jira-0:
    type: jira
    task: TASK_LIST_ISSUES
    input:
      board-name: ${variable.board-name}
      max-results: 50
      range:
        range: All
      start-at: 0
    setup:
      base-url: ${variable.base-url}
      email: ${variable.jira-email}
      token: ${secret.jira}
output:
  issues:
    value: ${jira-0.output.issues}
"""


async def test_instills_readme_recipe(fake):
    recipe = parse_recipe(RECIPE, registry=default_registry())
    events: list[Any] = []
    rows = recipe.bind_rows([{"board-name": "kanban board", "base-url": fake.base_url, "jira-email": EMAIL}])
    result = await execute(recipe, rows, secrets={"jira": TOKEN}, config=FAST, on_event=events.append)
    row = result.rows[0]
    assert not row.errored, row.components
    assert [issue["key"] for issue in row.outputs["issues"]] == ["PR-1", "PR-2", "PR-3"]
    assert TOKEN not in everything_handed_out(result, events)


async def test_the_server_base_url_admits_a_private_jira_server(fake):
    """PIPELINE_JIRA_BASE_URL names the deployment's own Jira Server (here the loopback
    fake, which no allow list names): jira components may reach it."""
    recipe = parse_recipe(RECIPE, registry=default_registry())
    rows = recipe.bind_rows([{"board-name": "kanban board", "base-url": fake.base_url, "jira-email": EMAIL}])
    config = {"openai_backoff_seconds": 0.01, "platform_setups": {"jira": PlatformSetup("jira", "", fake.base_url)}}
    result = await execute(recipe, rows, secrets={"jira": TOKEN}, config=config)
    assert not result.rows[0].errored, result.rows[0].components
    result = await execute(recipe, rows, secrets={"jira": TOKEN}, config={})
    assert "loopback addresses are not allowed" in (result.rows[0].components["jira-0"].error or "")
