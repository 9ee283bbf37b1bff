"""The application components in ``/v1beta/component-definitions`` with Instill's ids,
types and task names (pipeline-backend pkg/component/application/<type>/v0/config/
definition.yaml, ``availableTasks``), and their setup in the full view."""

from __future__ import annotations

import pytest

URL = "/v1beta/component-definitions"

# Instill's definition.yaml: id → availableTasks.
INSTILL = {
    "email": ["TASK_SEND_EMAIL", "TASK_READ_EMAILS"],
    "slack": ["TASK_READ_MESSAGE", "TASK_WRITE_MESSAGE"],
    "github": [
        "TASK_LIST_PULL_REQUESTS",
        "TASK_GET_PULL_REQUEST",
        "TASK_GET_COMMIT",
        "TASK_LIST_REVIEW_COMMENTS",
        "TASK_CREATE_REVIEW_COMMENT",
        "TASK_LIST_ISSUES",
        "TASK_GET_ISSUE",
        "TASK_GET_USER",
        "TASK_GET_ORGANIZATION",
        "TASK_CREATE_ISSUE",
        "TASK_CREATE_WEBHOOK",
    ],
    "jira": [
        "TASK_CREATE_ISSUE",
        "TASK_CREATE_SPRINT",
        "TASK_GET_ISSUE",
        "TASK_GET_SPRINT",
        "TASK_LIST_BOARDS",
        "TASK_LIST_ISSUES",
        "TASK_LIST_SPRINTS",
        "TASK_UPDATE_ISSUE",
        "TASK_UPDATE_SPRINT",
    ],
}


@pytest.mark.parametrize("component_id", list(INSTILL))
def test_each_application_component_is_listed_as_instill_lists_it(anon, db, component_id):
    response = anon.get(f"{URL}/{component_id}?view=VIEW_FULL")
    assert response.status_code == 200, response.content
    body = response.json()["componentDefinition"]
    assert body["id"] == component_id
    assert body["type"] == "COMPONENT_TYPE_APPLICATION"
    assert sorted(task["name"] for task in body["tasks"]) == sorted(INSTILL[component_id])
    spec = body["spec"]
    branches = spec["componentSpecification"]["oneOf"]
    assert sorted(b["properties"]["task"]["const"] for b in branches) == sorted(INSTILL[component_id])
    setup = set(branches[0]["properties"]["setup"]["properties"])
    assert (
        setup
        >= {
            "email": {"server-address", "server-port", "email-address", "password"},
            "slack": {"bot-token", "user-token"},
            "github": {"token"},
            "jira": {"token", "email", "base-url"},
        }[component_id]
    )
    assert set(spec["dataSpecifications"]) == set(INSTILL[component_id])


def test_application_filter_lists_them(anon, db):
    listed = anon.get(f"{URL}?pageSize=100&filter=componentType=COMPONENT_TYPE_APPLICATION").json()
    assert {d["id"] for d in listed["componentDefinitions"]} >= set(INSTILL)
