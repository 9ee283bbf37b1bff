"""A real local HTTP server speaking Jira's REST (``/rest/api/2``) and Agile
(``/rest/agile/1.0``) APIs (developer.atlassian.com/cloud/jira/platform/rest/v2 and
/cloud/jira/software/rest), with the bodies of their reference examples: boards
(``values`` pages with ``isLast``), a board's ``location``, its issues, epics (Agile's
epic objects), backlog and issues without epic, JQL search (``POST /rest/api/2/search``),
issues (create, get, edit with ``update``/``fields``), moving issues to an epic, sprints
(list, get, create, update). HTTP Basic ``email:token`` is required (401 otherwise);
errors carry Jira's ``errorMessages``/``errors``. It keeps the issues and sprints it
is given, so a created issue can be read back. Standard library only.
"""

from __future__ import annotations

import base64
import copy
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.components.fake_vendor import Fake, Handler, RunningFake

EMAIL = "alice@example.com"
TOKEN = "ATATT3xFfGF0-jira-api-token-0123456789"
SITE = "https://your-domain.atlassian.net"

BOARDS: list[dict[str, Any]] = [
    {"id": 84, "self": f"{SITE}/rest/agile/1.0/board/84", "name": "scrum board", "type": "scrum"},
    {"id": 92, "self": f"{SITE}/rest/agile/1.0/board/92", "name": "kanban board", "type": "kanban"},
    {"id": 93, "self": f"{SITE}/rest/agile/1.0/board/93", "name": "scrum board 2", "type": "scrum"},
]
LOCATION = {
    "projectId": 10040,
    "displayName": "Example Project (PR)",
    "projectName": "Example Project",
    "projectKey": "PR",
    "projectTypeKey": "software",
    "name": "Example Project (PR)",
}


def issue(id: str, key: str, summary: str, kind: str, status: str, **fields: Any) -> dict[str, Any]:
    return {
        "expand": "",
        "id": id,
        "self": f"{SITE}/rest/agile/1.0/issue/{id}",
        "key": key,
        "fields": {
            "summary": summary,
            "description": f"{summary}: the details.",
            "issuetype": {"id": "10001", "name": kind, "subtask": kind == "Subtask"},
            "status": {"name": status, "statusCategory": {"key": "new"}},
            "project": {"id": "10040", "key": "PR", "name": "Example Project"},
            **fields,
        },
    }


def initial_issues() -> dict[str, dict[str, Any]]:
    return {
        "PR-1": issue("10001", "PR-1", "Checkout flow", "Epic", "In Progress"),
        "PR-2": issue("10002", "PR-2", "Pay by card", "Task", "To Do", parent={"key": "PR-1"}),
        "PR-3": issue("10003", "PR-3", "Fix the login page", "Task", "Done"),
    }


SPRINTS = {
    37: {
        "id": 37,
        "self": f"{SITE}/rest/agile/1.0/sprint/37",
        "state": "closed",
        "name": "sprint 1",
        "startDate": "2015-04-11T15:22:00.000+10:00",
        "endDate": "2015-04-20T01:22:00.000+10:00",
        "completeDate": "2015-04-20T11:04:00.000+10:00",
        "originBoardId": 84,
        "goal": "sprint 1 goal",
    },
    72: {
        "id": 72,
        "self": f"{SITE}/rest/agile/1.0/sprint/73",
        "state": "future",
        "name": "sprint 2",
        "originBoardId": 84,
        "goal": "sprint 2 goal",
    },
}


class FakeJira(Fake):
    def reset(self) -> None:
        super().reset()
        self.issues = initial_issues()
        self.sprints = copy.deepcopy(SPRINTS)
        self.epic_moves: list[tuple[str, list[str]]] = []
        self.next_gen = False  # answer epic moves as a team-managed project does


def _page(items: list[Any], query: dict[str, str], **extra: Any) -> dict[str, Any]:
    start, size = int(query.get("startAt", "0")), int(query.get("maxResults", "50"))
    shown = items[start : start + size]
    return {"maxResults": size, "startAt": start, "total": len(items), **extra, "values": shown}


class _JiraHandler(Handler):
    def _handle(self) -> None:
        body, failure = self.receive()
        if failure:
            self.send_json(failure, {"errorMessages": ["Internal server error"], "errors": {}})
            return
        expected = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_json(401, {"errorMessages": ["You are not authenticated."], "errors": {}})
            return
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self.server.fake.lock:
            status, payload = self.route(self.server.fake, self.command, url.path, query, body)
        if status == 204:
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_json(status, payload)

    def route(self, fake: FakeJira, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        agile, api = "/rest/agile/1.0", "/rest/api/2"
        board = re.fullmatch(rf"{agile}/board/(\d+)(/.*)?", path)
        if method == "GET" and path == f"{agile}/board":
            boards = [b for b in BOARDS if query.get("name", "") in b["name"]]
            boards = [b for b in boards if not query.get("type") or b["type"] == query["type"]]
            page = _page(boards, query)
            return 200, {**page, "isLast": page["startAt"] + len(page["values"]) >= len(boards)}
        if board and not any(b["id"] == int(board.group(1)) for b in BOARDS):
            return 404, {
                "errorMessages": ["The requested board cannot be viewed because it either does not exist."],
                "errors": {},
            }
        if method == "GET" and board and board.group(2) is None:
            return 200, {**next(b for b in BOARDS if b["id"] == int(board.group(1))), "location": LOCATION}
        if method == "GET" and board and board.group(2) in ("/issue", "/backlog", "/epic/none/issue"):
            issues = list(fake.issues.values())
            if board.group(2) == "/backlog":
                issues = [i for i in issues if i["fields"]["status"]["name"] != "Done"]
            if board.group(2) == "/epic/none/issue":
                issues = [
                    i for i in issues if "parent" not in i["fields"] and i["fields"]["issuetype"]["name"] != "Epic"
                ]
            page = _page(issues, query)
            return 200, {
                "expand": "names,schema",
                **{k: v for k, v in page.items() if k != "values"},
                "issues": page["values"],
            }
        if method == "GET" and board and board.group(2) == "/epic":
            epics = [
                {
                    "id": int(i["id"]),
                    "key": i["key"],
                    "self": f"{SITE}/rest/agile/1.0/epic/{i['id']}",
                    "name": i["fields"]["summary"],
                    "summary": i["fields"]["summary"],
                    "color": {"key": "color_4"},
                    "done": False,
                }
                for i in fake.issues.values()
                if i["fields"]["issuetype"]["name"] == "Epic"
            ]
            return 200, {**_page(epics, query), "isLast": True}
        if method == "GET" and board and board.group(2) == "/sprint":
            sprints = [s for s in fake.sprints.values() if s["originBoardId"] == int(board.group(1))]
            return 200, {**_page(sprints, query), "isLast": True}
        if method == "POST" and path == f"{api}/search":
            return 200, self.search(fake, body)
        if method == "GET" and (found := re.fullmatch(rf"{agile}/issue/([\w-]+)", path)):
            found_issue = fake.issues.get(found.group(1))
            if found_issue is None:
                return 404, {
                    "errorMessages": ["Issue does not exist or you do not have permission to see it."],
                    "errors": {},
                }
            return 200, found_issue
        if method == "POST" and path == f"{api}/issue":
            fields = body.get("fields", {})
            if not fields.get("summary"):
                return 400, {"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}
            key = f"{fields['project']['key']}-{len(fake.issues) + 1}"
            new_id = str(10000 + len(fake.issues) + 1)
            created = issue(new_id, key, fields["summary"], fields["issuetype"]["name"], "To Do")
            created["fields"]["description"] = fields.get("description")
            if "parent" in fields:
                created["fields"]["parent"] = fields["parent"]
            fake.issues[key] = created
            errors: dict[str, Any] = {"errorMessages": [], "errors": {}}
            return 201, {
                "id": new_id,
                "key": key,
                "self": f"{SITE}/rest/api/2/issue/{new_id}",
                "transition": {"status": 200, "errorCollection": errors},
            }
        if method == "PUT" and (found := re.fullmatch(rf"{api}/issue/([\w-]+)", path)):
            target = fake.issues.get(found.group(1))
            if target is None:
                return 404, {
                    "errorMessages": ["Issue does not exist or you do not have permission to see it."],
                    "errors": {},
                }
            for name, value in (body.get("fields") or {}).items():
                target["fields"][name] = {"name": value} if name == "status" else value
            for name, operations in (body.get("update") or {}).items():
                for operation in operations:
                    for verb, value in operation.items():
                        current = target["fields"].setdefault(name, [])
                        if verb == "add":
                            current.append(value)
                        elif verb == "remove" and value in current:
                            current.remove(value)
                        elif verb == "set":
                            target["fields"][name] = value
            return (200, target) if query.get("returnIssue") == "true" else (204, None)
        if method == "POST" and (found := re.fullmatch(rf"{agile}/epic/([\w-]+)/issue", path)):
            if fake.next_gen:
                message = "The request contains a next-gen issue. This operation can't add next-gen issues to epics."
                return 400, {"errorMessages": [message], "errors": {}}
            fake.epic_moves.append((found.group(1), body["issues"]))
            for key in body["issues"]:
                fake.issues[key]["fields"]["parent"] = {"key": found.group(1)}
            return 204, None
        sprint = re.fullmatch(rf"{agile}/sprint(?:/(\d+))?", path)
        if sprint and sprint.group(1) and int(sprint.group(1)) not in fake.sprints:
            return 404, {
                "errorMessages": ["Sprint does not exist or you do not have permission to view it."],
                "errors": {},
            }
        if method == "GET" and sprint and sprint.group(1):
            return 200, fake.sprints[int(sprint.group(1))]
        if method == "POST" and sprint and not sprint.group(1):
            new = {"id": max(fake.sprints) + 1, "state": "future", **body}
            new["self"] = f"{SITE}/rest/agile/1.0/sprint/{new['id']}"
            fake.sprints[new["id"]] = new
            return 201, new
        if method == "PUT" and sprint and sprint.group(1):
            updated = {**fake.sprints[int(sprint.group(1))], **body}
            fake.sprints[int(sprint.group(1))] = updated
            return 200, updated
        return 404, {"errorMessages": [f"No resource at {path}"], "errors": {}}

    def search(self, fake: FakeJira, body: Any) -> dict[str, Any]:
        """A small JQL: ``project="X"`` and ``parent=``, ``sprint=``, ``type =``,
        ``status =`` and ``issuetype not in (Epic, subtask)`` clauses joined by AND."""
        issues = list(fake.issues.values())
        for clause in body["jql"].split(" AND "):
            field, _, value = re.split(r"\s*(=|not in)\s*", clause.strip(), maxsplit=1)
            value = value.strip().strip('"')
            if field == "project":
                issues = [i for i in issues if i["fields"]["project"]["key"] == value]
            elif field == "parent":
                issues = [i for i in issues if i["fields"].get("parent", {}).get("key") == value]
            elif field == "sprint":
                issues = [i for i in issues if i["fields"].get("sprint", {}).get("name") == value]
            elif field in ("type", "issuetype") and "not in" not in clause:
                issues = [i for i in issues if i["fields"]["issuetype"]["name"] == value]
            elif field == "issuetype":
                issues = [i for i in issues if i["fields"]["issuetype"]["name"] not in ("Epic", "Subtask")]
            elif field == "status":
                issues = [i for i in issues if i["fields"]["status"]["name"] == value]
        start, size = body.get("startAt", 0), body.get("maxResults", 50)
        return {
            "expand": "names,schema",
            "startAt": start,
            "maxResults": size,
            "total": len(issues),
            "issues": issues[start : start + size],
        }

    do_GET = do_POST = do_PUT = _handle


def running() -> RunningFake[FakeJira]:
    return RunningFake(FakeJira(), _JiraHandler)
