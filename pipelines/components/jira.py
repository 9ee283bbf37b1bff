"""The ``jira`` application component: boards, issues and sprints with Jira's REST and
Agile APIs (Instill ``jira`` v0, its nine tasks and field names; setup ``token``,
``email``, ``base-url``).

What each task calls under ``base-url`` (a Jira Cloud site, ``https://you.atlassian.net``,
or a Jira Server / Data Center; the server's ``PIPELINE_JIRA_BASE_URL`` fills it in),
with the email and API token as HTTP Basic credentials:

- ``TASK_LIST_BOARDS``: ``GET /rest/agile/1.0/board`` (``projectKeyOrId``, ``type``,
  ``name``, ``startAt``, ``maxResults``);
- ``TASK_LIST_ISSUES``: the board named ``board-name`` (``GET /rest/agile/1.0/board``,
  then its project from ``/board/{id}``), then per ``range.range``: ``All``
  (``/board/{id}/issue``), ``Epics only`` (``/board/{id}/epic``), ``In backlog only``
  (``/board/{id}/backlog``), ``Issues without epic assigned``
  (``/board/{id}/epic/none/issue``), or a JQL search (``POST /rest/api/2/search``) for
  ``Standard Issues``, ``Issues of an epic`` (``epic-key``), ``Issues of a sprint``
  (``sprint-name``) and ``JQL query`` (``jql``);
- ``TASK_GET_ISSUE``: ``GET /rest/agile/1.0/issue/{key}``;
- ``TASK_CREATE_ISSUE``: ``POST /rest/api/2/issue``, then the issue as created;
- ``TASK_UPDATE_ISSUE``: ``Custom Update`` (``PUT /rest/api/2/issue/{key}``, each
  ``update-fields`` entry an ``add``/``copy``/``edit``/``remove``/``set`` operation) or
  ``Move Issue to Epic`` (``POST /rest/agile/1.0/epic/{epic}/issue``; a team-managed
  project's issue gets the epic as its ``parent`` instead);
- ``TASK_LIST_SPRINTS``, ``TASK_GET_SPRINT``, ``TASK_CREATE_SPRINT``,
  ``TASK_UPDATE_SPRINT``: ``/rest/agile/1.0/board/{id}/sprint`` and
  ``/rest/agile/1.0/sprint[/{id}]``.

An issue is answered as Instill gives it: ``id``, ``key``, ``self``, ``fields`` (Jira's,
whole), and ``issue-type``, ``summary``, ``description``, ``status`` taken from them; a
sprint as ``id``, ``self``, ``state``, ``name``, ``start-date``, ``end-date``,
``complete-date``, ``origin-board-id``, ``goal``. Sprint dates take RFC 3339 or
``YYYY-MM-DD`` (midnight UTC).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pipelines.components import app_api, vendor_api
from pipelines.engine.components import ComponentDefinition, ComponentError, TaskContext

AGILE = "/rest/agile/1.0"
API = "/rest/api/2"
RANGES = (
    "All",
    "Standard Issues",
    "Epics only",
    "In backlog only",
    "Issues of an epic",
    "Issues of a sprint",
    "Issues without epic assigned",
    "JQL query",
)
ACTIONS = ("add", "copy", "edit", "remove", "set")

# --- schemas ------------------------------------------------------------------------


def _obj(properties: Mapping[str, Any], required: list[str], title: str = "Input", **extra: Any) -> dict[str, Any]:
    return {"type": "object", "title": title, "properties": dict(properties), "required": required, **extra}


def _variant(key: str, value: str, title: str, **more: Any) -> dict[str, Any]:
    """One branch of a oneOf chosen by the constant ``key``."""
    return _obj({key: app_api.prop("string", title, const=value), **more}, [key, *more], title)


_DATE = "e.g. 2018-03-05 (00:00 UTC), or RFC 3339 (2018-03-05T09:00:00Z)."
_PAGING = {
    "start-at": app_api.prop(
        "integer", "Start At", "The starting index of the returned items. Base index: 0.", default=0
    ),
    "max-results": app_api.prop(
        "integer", "Max Results", "The maximum number of items to return per page.", default=50
    ),
}
_ANSWERED_PAGE = {
    "start-at": app_api.prop("integer", "Start At", "The starting index of the returned items. Base index: 0."),
    "max-results": app_api.prop("integer", "Max Results", "The maximum number of items returned per page."),
    "total": app_api.prop("integer", "Total", "The total number of items."),
}
ISSUE = _obj(
    {
        "id": app_api.prop("string", "ID", "The ID of the issue."),
        "key": app_api.prop("string", "Key", "The key of the issue, e.g. `JRA-1330`."),
        "self": app_api.prop("string", "Self", "The URL of the issue."),
        "fields": app_api.prop("object", "Fields", "The fields of the issue, as Jira gives them."),
        "issue-type": app_api.prop("string", "Issue Type", "The type of the issue: `Task`, `Epic`, ..."),
        "summary": app_api.prop("string", "Summary", "The summary of the issue."),
        "description": app_api.prop("string", "Description", "The description of the issue."),
        "status": app_api.prop("string", "Status", "The status of the issue: `To Do`, `In Progress`, `Done`, ..."),
    },
    ["id", "key", "self", "fields"],
    "Issue",
)
SPRINT = _obj(
    {
        "id": app_api.prop("integer", "ID", "The ID of the sprint."),
        "self": app_api.prop("string", "Self", "The URL of the sprint."),
        "state": app_api.prop("string", "State", "The state of the sprint: `active`, `closed`, `future`."),
        "name": app_api.prop("string", "Name", "The name of the sprint."),
        "start-date": app_api.prop("string", "Start Date", "The start date of the sprint."),
        "end-date": app_api.prop("string", "End Date", "The end date of the sprint."),
        "complete-date": app_api.prop("string", "Complete Date", "The complete date of the sprint."),
        "origin-board-id": app_api.prop("integer", "Origin Board ID", "The ID of the board the sprint belongs to."),
        "goal": app_api.prop("string", "Goal", "The goal of the sprint."),
    },
    ["id", "self"],
    "Sprint",
)
_SPRINT_FIELDS = {
    "name": app_api.prop("string", "Name", "The name of the sprint."),
    "goal": app_api.prop("string", "Goal", "The goal of the sprint."),
    "start-date": app_api.prop("string", "Start Date", f"The start date of the sprint, {_DATE}"),
    "end-date": app_api.prop("string", "End Date", f"The end date of the sprint, {_DATE}"),
}
_ISSUE_KEY = app_api.prop("string", "Issue Key", "The key of the issue, e.g. `JRA-1330`.")
_BOARD_NAME = app_api.prop("string", "Board Name", "The name of the board.")

INPUTS: dict[str, dict[str, Any]] = {
    "TASK_LIST_BOARDS": _obj(
        {
            "project-key-or-id": app_api.prop(
                "string", "Project Key or ID", "Only boards relevant to this project.", default=""
            ),
            "board-type": app_api.prop(
                "string",
                "Board Type",
                "The type of board: scrum, kanban, simple. Default is simple.",
                enum=["scrum", "kanban", "simple"],
                default="simple",
            ),
            "name": app_api.prop("string", "Name", "Only boards whose name contains this.", default=""),
            **_PAGING,
        },
        [],
    ),
    "TASK_LIST_ISSUES": _obj(
        {
            "board-name": _BOARD_NAME,
            "range": app_api.prop(
                "object",
                "Range",
                "Which issues of the board.",
                additionalProperties=True,
                required=["range"],
                oneOf=[
                    _variant("range", "All", "All"),
                    _variant("range", "Standard Issues", "Standard Issues"),
                    _variant("range", "Epics only", "Epics only"),
                    _variant("range", "In backlog only", "In Backlog Only"),
                    _variant(
                        "range",
                        "Issues of an epic",
                        "Issues of an Epic",
                        **{"epic-key": app_api.prop("string", "Epic Key")},
                    ),
                    _variant(
                        "range",
                        "Issues of a sprint",
                        "Issues of a Sprint",
                        **{"sprint-name": app_api.prop("string", "Sprint Name")},
                    ),
                    _variant("range", "Issues without epic assigned", "Issues without Epic Assigned"),
                    _variant(
                        "range",
                        "JQL query",
                        "JQL Query",
                        jql=app_api.prop("string", "JQL", 'e.g. type = "Task" AND status = "Done"'),
                    ),
                ],
            ),
            **_PAGING,
        },
        ["board-name"],
    ),
    "TASK_GET_ISSUE": _obj(
        {
            "issue-key": _ISSUE_KEY,
            "update-history": app_api.prop("boolean", "Update History", "Add the issue to the user's history."),
        },
        ["issue-key"],
    ),
    "TASK_CREATE_ISSUE": _obj(
        {
            "project-key": app_api.prop("string", "Project Key", "The key of the project, e.g. `INS`."),
            "issue-type": app_api.prop(
                "object",
                "Issue Type",
                "The type of the issue: `Task`, `Epic`, `Subtask`, or another (`Other`, `custom-issue-type`).",
                additionalProperties=True,
                required=["issue-type"],
                oneOf=[
                    _variant("issue-type", "Epic", "Epic"),
                    _variant("issue-type", "Task", "Task"),
                    _variant(
                        "issue-type", "Subtask", "Subtask", **{"parent-key": app_api.prop("string", "Parent Key")}
                    ),
                    _variant(
                        "issue-type", "Other", "Other", **{"custom-issue-type": app_api.prop("string", "Issue Type")}
                    ),
                ],
            ),
            "summary": app_api.prop("string", "Summary", "The summary of the issue."),
            "description": app_api.prop("string", "Description", "The description of the issue."),
        },
        ["project-key", "issue-type"],
    ),
    "TASK_UPDATE_ISSUE": _obj(
        {
            "issue-key": _ISSUE_KEY,
            "notify-users": app_api.prop("boolean", "Notify Users", "Whether watchers are notified of the update."),
            "update": app_api.prop(
                "object",
                "Update",
                "The update: a Custom Update of fields, or Move Issue to Epic.",
                additionalProperties=True,
                required=["update"],
                oneOf=[
                    _variant(
                        "update",
                        "Custom Update",
                        "Custom Update",
                        **{
                            "update-fields": app_api.prop(
                                "array",
                                "Update Fields",
                                items=_obj(
                                    {
                                        "action": app_api.prop("string", "Action", enum=list(ACTIONS)),
                                        "field-name": app_api.prop("string", "Field Name"),
                                        "value": app_api.prop("string", "Value"),
                                    },
                                    ["action", "field-name"],
                                    "Update Field",
                                ),
                            )
                        },
                    ),
                    _variant(
                        "update",
                        "Move Issue to Epic",
                        "Move Issue to Epic",
                        **{"epic-key": app_api.prop("string", "Epic Key")},
                    ),
                ],
            ),
        },
        ["issue-key"],
    ),
    "TASK_LIST_SPRINTS": _obj(
        {"board-id": app_api.prop("integer", "Board ID", "The ID of the board."), **_PAGING}, ["board-id"]
    ),
    "TASK_GET_SPRINT": _obj(
        {"sprint-id": app_api.prop("integer", "Sprint ID", "The ID of the sprint.")}, ["sprint-id"]
    ),
    "TASK_CREATE_SPRINT": _obj(
        {"board-name": _BOARD_NAME, **_SPRINT_FIELDS}, ["board-name", "name", "goal", "start-date", "end-date"]
    ),
    "TASK_UPDATE_SPRINT": _obj(
        {
            "sprint-id": app_api.prop("integer", "Sprint ID", "The ID of the sprint."),
            **_SPRINT_FIELDS,
            "current-state": app_api.prop(
                "string", "Current State", "The current state of the sprint: `future`, `active`, `closed`."
            ),
            "enter-next-state": app_api.prop("boolean", "Enter Next State", "Move the sprint to its next state."),
        },
        ["sprint-id", "name", "start-date", "end-date", "current-state"],
    ),
}
OUTPUTS: dict[str, dict[str, Any]] = {
    "TASK_LIST_BOARDS": _obj(
        {
            "boards": app_api.prop(
                "array",
                "Boards",
                items=_obj(
                    {
                        "id": app_api.prop("integer", "ID"),
                        "name": app_api.prop("string", "Name"),
                        "self": app_api.prop("string", "Self"),
                        "type": app_api.prop("string", "Type"),
                    },
                    ["id", "name", "type", "self"],
                    "Board",
                ),
            ),
            **_ANSWERED_PAGE,
            "is-last": app_api.prop("boolean", "Is Last", "Whether this is the last page."),
        },
        ["start-at", "max-results", "total", "is-last"],
        "Output",
    ),
    "TASK_LIST_ISSUES": _obj(
        {"issues": app_api.prop("array", "Issues", items=ISSUE), **_ANSWERED_PAGE},
        ["start-at", "max-results", "total"],
        "Output",
    ),
    "TASK_GET_ISSUE": {**ISSUE, "title": "Output"},
    "TASK_CREATE_ISSUE": {**ISSUE, "title": "Output"},
    "TASK_UPDATE_ISSUE": {**ISSUE, "title": "Output"},
    "TASK_LIST_SPRINTS": _obj(
        {"sprints": app_api.prop("array", "Sprints", items=SPRINT), **_ANSWERED_PAGE},
        ["start-at", "max-results", "total"],
        "Output",
    ),
    "TASK_GET_SPRINT": {**SPRINT, "title": "Output"},
    "TASK_CREATE_SPRINT": {**SPRINT, "title": "Output"},
    "TASK_UPDATE_SPRINT": {**SPRINT, "title": "Output"},
}
TITLES = {
    "TASK_LIST_BOARDS": ("List Boards", "List all boards in Jira"),
    "TASK_LIST_ISSUES": ("List Issues", "List issues in Jira"),
    "TASK_GET_ISSUE": ("Get Issue", "Get an issue in Jira"),
    "TASK_CREATE_ISSUE": ("Create Issue", "Create an issue in Jira"),
    "TASK_UPDATE_ISSUE": ("Update Issue", "Update an issue in Jira"),
    "TASK_LIST_SPRINTS": ("List Sprints", "List sprints in Jira"),
    "TASK_GET_SPRINT": ("Get Sprint", "Get a sprint in Jira"),
    "TASK_CREATE_SPRINT": ("Create Sprint", "Create a sprint in Jira"),
    "TASK_UPDATE_SPRINT": ("Update Sprint", "Update a sprint in Jira"),
}
SETUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Jira Connection",
    "additionalProperties": False,
    "properties": {
        "token": app_api.prop(
            "string", "Token", "Your Jira API token (account settings > security > API tokens).", instillSecret=True
        ),
        "email": app_api.prop("string", "Email", "Your Jira email address."),
        "base-url": app_api.prop(
            "string",
            "Base URL",
            "Your Jira base URL: for https://mycompany.atlassian.net/..., https://mycompany.atlassian.net.",
        ),
    },
    "required": ["token", "email", "base-url"],
}

# --- the API ------------------------------------------------------------------------


class _Jira:
    def __init__(self, ctx: TaskContext) -> None:
        import base64

        token, email = ctx.setup.get("token"), ctx.setup.get("email")
        if not isinstance(token, str) or not token:
            raise ComponentError("setup.token is required (a Jira API token).")
        if not isinstance(email, str) or not email:
            raise ComponentError("setup.email is required (the account's email address).")
        if not ctx.setup.get("base-url"):
            raise ComponentError("setup.base-url is required: your Jira site, e.g. https://mycompany.atlassian.net.")
        self.ctx = ctx
        self.root = vendor_api.base_url(ctx.setup, "")
        basic = base64.b64encode(f"{email}:{token}".encode()).decode("ascii")
        self.headers = {"Authorization": f"Basic {basic}"}

    async def call(self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: Any = None) -> Any:
        reply = await app_api.call(
            self.ctx, "Jira", method, self.root + path, headers=self.headers, params=params, body=body
        )
        return reply.payload

    async def board(self, name: Any) -> Mapping[str, Any]:
        """The board named ``name`` (Jira matches names partially: an exact match wins)."""
        if not isinstance(name, str) or not name.strip():
            raise ComponentError("board-name is required (the board's name).")
        boards = _values(await self.call("GET", f"{AGILE}/board", params={"name": name}), "boards")
        exact = [b for b in boards if b.get("name") == name]
        if len(exact) == 1 or len(boards) == 1:
            return exact[0] if exact else boards[0]
        if not boards:
            raise ComponentError(f"board-name: no board named {name!r}.")
        raise ComponentError(
            f'board-name: several boards have "{name}" in their name ({", ".join(str(b.get("name")) for b in boards)}): '
            "give a more specific name."
        )


def _values(payload: Any, key: str) -> list[Mapping[str, Any]]:
    """A page's items: Jira's ``values`` (or ``key``, as Instill reads them)."""
    if not isinstance(payload, Mapping):
        raise ComponentError(f"Jira answered the {key} without a JSON object.")
    items = payload.get("values", payload.get(key))
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def _page(payload: Any) -> dict[str, Any]:
    payload = payload if isinstance(payload, Mapping) else {}
    return {
        "start-at": int(payload.get("startAt") or 0),
        "max-results": int(payload.get("maxResults") or 0),
        "total": int(payload.get("total") or 0),
    }


def _name_of(value: Any) -> str:
    return str(value.get("name") or "") if isinstance(value, Mapping) else ""


def _issue(issue: Any, issue_type: str = "") -> dict[str, Any]:
    if not isinstance(issue, Mapping):
        raise ComponentError("Jira answered an issue that is not a JSON object.")
    fields = issue.get("fields")
    fields = dict(fields) if isinstance(fields, Mapping) else {}
    description = fields.get("description")
    return {
        "id": str(issue.get("id") or ""),
        "key": str(issue.get("key") or ""),
        "self": str(issue.get("self") or ""),
        "fields": fields,
        "issue-type": issue_type or _name_of(fields.get("issuetype")),
        "summary": str(fields.get("summary") or issue.get("summary") or ""),
        "description": description if isinstance(description, str) else "",
        "status": _name_of(fields.get("status")),
    }


def _epic(epic: Mapping[str, Any]) -> dict[str, Any]:
    """An epic from ``/board/{id}/epic`` (Agile's epic object) as an issue."""
    out = _issue({"id": epic.get("id"), "key": epic.get("key"), "self": epic.get("self"), "fields": dict(epic)}, "Epic")
    out["summary"] = str(epic.get("summary") or epic.get("name") or "")
    return out


def _sprint(sprint: Any) -> dict[str, Any]:
    if not isinstance(sprint, Mapping):
        raise ComponentError("Jira answered a sprint that is not a JSON object.")
    return {
        "id": sprint.get("id"),
        "self": str(sprint.get("self") or ""),
        "state": str(sprint.get("state") or ""),
        "name": str(sprint.get("name") or ""),
        "start-date": str(sprint.get("startDate") or ""),
        "end-date": str(sprint.get("endDate") or ""),
        "complete-date": str(sprint.get("completeDate") or ""),
        "origin-board-id": sprint.get("originBoardId"),
        "goal": str(sprint.get("goal") or ""),
    }


def _text(input: Mapping[str, Any], field: str, where: str = "") -> str:
    value = input.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ComponentError(f"{where}{field} is required (a string).")
    return value.strip()


def _paging(input: Mapping[str, Any]) -> dict[str, str]:
    return {
        "startAt": str(app_api.integer(input, "start-at", 0)),
        "maxResults": str(app_api.integer(input, "max-results", 50, minimum=1)),
    }


def _date(value: Any, field: str, *, now_when_empty: bool) -> str:
    """A sprint date as Jira takes it: RFC 3339, ``YYYY-MM-DD`` as midnight UTC."""
    if value in (None, ""):
        if now_when_empty:
            return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise ComponentError(f"{field} is required.")
    if isinstance(value, str):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                datetime.strptime(value, "%Y-%m-%d")
            except ValueError:
                pass
            else:
                return value + "T00:00:00.000Z"
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return value
        except ValueError:
            pass
    raise ComponentError(f"{field} must be a date (2018-03-05) or an RFC 3339 time, got {str(value)[:40]!r}.")


def _key(input: Mapping[str, Any], field: str, where: str = "") -> str:
    return app_api.segment(_text(input, field, where), where + field)


# --- tasks --------------------------------------------------------------------------


async def run_list_boards(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    jira = _Jira(ctx)
    board_type = input.get("board-type") or "simple"
    if board_type not in ("scrum", "kanban", "simple"):
        raise ComponentError("board-type must be one of scrum, kanban, simple.")
    params = {"type": board_type, **_paging(input)}
    for field, name in (("project-key-or-id", "projectKeyOrId"), ("name", "name")):
        if input.get(field):
            params[name] = str(input[field])
    payload = await jira.call("GET", f"{AGILE}/board", params=params)
    boards = [
        {
            "id": b.get("id"),
            "name": str(b.get("name") or ""),
            "self": str(b.get("self") or ""),
            "type": str(b.get("type") or ""),
        }
        for b in _values(payload, "boards")
    ]
    return {"boards": boards, **_page(payload), "is-last": bool(payload.get("isLast"))}


async def run_list_issues(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    jira = _Jira(ctx)
    given = input.get("range") or {"range": "All"}
    if not isinstance(given, Mapping) or given.get("range") not in RANGES:
        raise ComponentError(f"range.range must be one of: {', '.join(RANGES)}.")
    kind = given["range"]
    board = await jira.board(input.get("board-name"))
    board_id = app_api.integer(board, "id")
    details = await jira.call("GET", f"{AGILE}/board/{board_id}")
    location = details.get("location") if isinstance(details, Mapping) else None
    project = str(location.get("projectKey") or "") if isinstance(location, Mapping) else ""
    project = project or str(board.get("name") or "").split("-")[0].strip()
    query = _jql(kind, given, project)
    if query is not None:
        body = {
            "jql": query,
            "startAt": app_api.integer(input, "start-at", 0),
            "maxResults": app_api.integer(input, "max-results", 50, minimum=1),
        }
        payload = await jira.call("POST", f"{API}/search", body=body)
        issues = [_issue(i) for i in (payload.get("issues") or [])] if isinstance(payload, Mapping) else []
        return {"issues": issues, **_page(payload)}
    path = {
        "All": "/issue",
        "Epics only": "/epic",
        "In backlog only": "/backlog",
        "Issues without epic assigned": "/epic/none/issue",
    }[kind]
    payload = await jira.call("GET", f"{AGILE}/board/{board_id}{path}", params=_paging(input))
    if kind == "Epics only":
        issues = [_epic(epic) for epic in _values(payload, "issues")]
    else:
        issues = [_issue(i) for i in (payload.get("issues") or [])] if isinstance(payload, Mapping) else []
    return {"issues": issues, **_page(payload)}


def _jql(kind: str, given: Mapping[str, Any], project: str) -> str | None:
    """The JQL search of a range that is one (``None``: the range has a board endpoint)."""

    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    if kind == "Standard Issues":
        return f"project={quoted(project)} AND issuetype not in (Epic, subtask)"
    if kind == "Issues of an epic":
        return f"project={quoted(project)} AND parent={quoted(_text(given, 'epic-key', 'range.'))}"
    if kind == "Issues of a sprint":
        return f"project={quoted(project)} AND sprint={quoted(_text(given, 'sprint-name', 'range.'))}"
    if kind == "JQL query":
        return _text(given, "jql", "range.")
    return None


async def _get_issue(jira: _Jira, key: str, update_history: bool = False) -> dict[str, Any]:
    params = {"updateHistory": "true"} if update_history else None
    return _issue(await jira.call("GET", f"{AGILE}/issue/{key}", params=params))


async def run_get_issue(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    return await _get_issue(_Jira(ctx), _key(input, "issue-key"), bool(input.get("update-history")))


async def run_create_issue(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    jira = _Jira(ctx)
    kind = input.get("issue-type")
    if not isinstance(kind, Mapping) or not kind.get("issue-type"):
        raise ComponentError("issue-type is required: an object such as {issue-type: Task}.")
    name = str(kind["issue-type"])
    fields: dict[str, Any] = {
        "project": {"key": _text(input, "project-key")},
        "issuetype": {"name": name},
        "summary": input.get("summary") or "",
        "description": input.get("description") or "",
    }
    if name == "Subtask" or kind.get("parent-key"):
        fields["parent"] = {"key": _text(kind, "parent-key", "issue-type.")}
    if name == "Other" or kind.get("custom-issue-type"):
        fields["issuetype"] = {"name": _text(kind, "custom-issue-type", "issue-type.")}
    created = await jira.call("POST", f"{API}/issue", body={"fields": fields})
    key = created.get("key") if isinstance(created, Mapping) else None
    if not key:
        raise ComponentError("Jira answered the new issue without its key.")
    return await _get_issue(jira, app_api.segment(key, "key"))


def _update_body(fields_given: Any) -> dict[str, Any]:
    if not isinstance(fields_given, list):
        raise ComponentError("update.update-fields must be a list of {action, field-name, value}.")
    update: dict[str, list[dict[str, Any]]] = {}
    fields: dict[str, Any] = {}
    for i, entry in enumerate(fields_given):
        where = f"update.update-fields[{i}]"
        if not isinstance(entry, Mapping):
            raise ComponentError(f"{where} must be an object with action, field-name and value.")
        name = entry.get("field-name")
        if not isinstance(name, str) or not name:
            raise ComponentError(f"{where}.field-name is required.")
        action = entry.get("action")
        if action not in ACTIONS:
            raise ComponentError(f"{where}.action must be one of {', '.join(ACTIONS)}.")
        value = entry.get("value")
        if action == "set" and not (isinstance(value, list) and len(value) > 1):
            fields[name] = value  # a plain value is set through "fields", as Instill does
            update.pop(name, None)
        else:
            update.setdefault(name, []).append({action: value})
    body: dict[str, Any] = {}
    if update:
        body["update"] = update
    if fields:
        body["fields"] = fields
    return body


async def run_update_issue(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    jira = _Jira(ctx)
    key = _key(input, "issue-key")
    update = input.get("update")
    kind = update.get("update") if isinstance(update, Mapping) else None
    assert update is None or isinstance(update, Mapping)
    params = {"notifyUsers": "true" if input.get("notify-users") else "false", "returnIssue": "true"}
    if kind == "Custom Update":
        body = _update_body((update or {}).get("update-fields") or [])
        answer = await jira.call("PUT", f"{API}/issue/{key}", params=params, body=body)
        return _issue(answer) if isinstance(answer, Mapping) else await _get_issue(jira, key)
    if kind == "Move Issue to Epic":
        epic = _key(update or {}, "epic-key", "update.")
        try:
            await jira.call("POST", f"{AGILE}/epic/{epic}/issue", body={"issues": [_text(input, "issue-key")]})
        except ComponentError as exc:
            if "next-gen" not in str(exc):
                raise
            # A team-managed ("next-gen") project: the epic becomes the issue's parent.
            body = {"fields": {"parent": {"key": _text(update or {}, "epic-key", "update.")}}}
            await jira.call("PUT", f"{API}/issue/{key}", params=params, body=body)
        return await _get_issue(jira, key)
    raise ComponentError("update.update must be Custom Update or Move Issue to Epic.")


async def run_list_sprints(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    jira = _Jira(ctx)
    board_id = app_api.integer(input, "board-id", None, minimum=1)
    payload = await jira.call("GET", f"{AGILE}/board/{board_id}/sprint", params=_paging(input))
    return {"sprints": [_sprint(s) for s in _values(payload, "sprints")], **_page(payload)}


async def run_get_sprint(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    jira = _Jira(ctx)
    return _sprint(await jira.call("GET", f"{AGILE}/sprint/{app_api.integer(input, 'sprint-id', None, minimum=1)}"))


async def run_create_sprint(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    jira = _Jira(ctx)
    body = {
        "name": _text(input, "name"),
        "goal": input.get("goal") or "",
        "startDate": _date(input.get("start-date"), "start-date", now_when_empty=True),
        "endDate": _date(input.get("end-date"), "end-date", now_when_empty=False),
    }
    board = await jira.board(input.get("board-name"))
    return _sprint(await jira.call("POST", f"{AGILE}/sprint", body={**body, "originBoardId": board.get("id")}))


_NEXT_STATE = {"future": "active", "active": "closed", "closed": "closed"}


async def run_update_sprint(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    jira = _Jira(ctx)
    sprint_id = app_api.integer(input, "sprint-id", None, minimum=1)
    state = input.get("current-state")
    if state not in _NEXT_STATE:
        raise ComponentError("current-state must be one of future, active, closed.")
    start = _date(input.get("start-date"), "start-date", now_when_empty=True)
    body: dict[str, Any] = {
        "startDate": start,
        "endDate": _date(input.get("end-date"), "end-date", now_when_empty=False),
        "state": _NEXT_STATE[state] if input.get("enter-next-state") else state,
    }
    for field in ("name", "goal"):
        if input.get(field):
            body[field] = input[field]
    if input.get("enter-next-state") and state == "future":
        now = datetime.now(UTC)
        if datetime.fromisoformat(start.replace("Z", "+00:00")) > now:  # a sprint starts now at the latest
            body["startDate"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return _sprint(await jira.call("PUT", f"{AGILE}/sprint/{sprint_id}", body=body))


RUNS = {
    "TASK_CREATE_ISSUE": run_create_issue,
    "TASK_CREATE_SPRINT": run_create_sprint,
    "TASK_GET_ISSUE": run_get_issue,
    "TASK_GET_SPRINT": run_get_sprint,
    "TASK_LIST_BOARDS": run_list_boards,
    "TASK_LIST_ISSUES": run_list_issues,
    "TASK_LIST_SPRINTS": run_list_sprints,
    "TASK_UPDATE_ISSUE": run_update_issue,
    "TASK_UPDATE_SPRINT": run_update_sprint,
}

COMPONENT = ComponentDefinition(
    type="jira",
    title="Jira",
    kind="application",
    vendor="Atlassian",
    description="Do anything available on Jira.",
    setup_schema=SETUP_SCHEMA,
    credential_fields=frozenset({"token"}),
    check_setup=vendor_api.check_base_urls("base-url"),
    tasks=app_api.tasks(RUNS, TITLES, INPUTS, OUTPUTS),
)
