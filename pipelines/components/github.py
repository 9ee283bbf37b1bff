"""The ``github`` application component: pull requests, commits, review comments, issues,
users, organizations and webhooks with GitHub's REST API (Instill ``github`` v0, its
eleven tasks and field names; setup ``token``).

What each task calls (under ``https://api.github.com`` or ``setup.base-url``, e.g. a
GitHub Enterprise Server's ``https://github.example.com/api/v3``, which
``PIPELINE_GITHUB_BASE_URL`` fills in):

- ``TASK_LIST_PULL_REQUESTS``: ``GET /repos/{owner}/{repo}/pulls``, and each one's
  ``/commits`` (sha and message only, as Instill gives them);
- ``TASK_GET_PULL_REQUEST``: ``GET /repos/{owner}/{repo}/pulls/{n}`` (``pr-number`` 0:
  the newest), its commits, and each commit with its stats and files;
- ``TASK_GET_COMMIT``: ``GET /repos/{owner}/{repo}/commits/{sha}``;
- ``TASK_LIST_REVIEW_COMMENTS`` / ``TASK_CREATE_REVIEW_COMMENT``:
  ``GET``/``POST /repos/{owner}/{repo}/pulls/{n}/comments`` (``pr-number`` 0 lists the
  whole repository's);
- ``TASK_LIST_ISSUES`` / ``TASK_GET_ISSUE`` / ``TASK_CREATE_ISSUE``:
  ``/repos/{owner}/{repo}/issues[/{n}]``;
- ``TASK_GET_USER``: ``GET /users/{name}`` or ``/user/{id}``; ``TASK_GET_ORGANIZATION``:
  ``GET /orgs/{name}`` or ``/organizations/{id}``;
- ``TASK_CREATE_WEBHOOK``: ``POST /repos/{owner}/{repo}/hooks`` (a ``web`` hook, SSL
  verified).

Outputs use Instill's names: GitHub's ``snake_case`` fields become ``kebab-case``
(``html_url`` → ``html-url``) for users, organizations and review comments; lists carry
Instill's ``response`` (``next-page``, ``prev-page``, ``first-page``, ``last-page``
from GitHub's ``Link`` header). ``TASK_GET_COMMIT`` answers the commit's fields as
Instill's definition documents them and, as Instill's code writes it, under
``commit`` too. The token goes as ``Authorization: Bearer``; errors carry GitHub's
message (a 404 adds that the repository may not exist or be out of the token's reach).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pipelines.components import app_api, vendor_api
from pipelines.engine.components import ComponentDefinition, ComponentError, TaskContext

DEFAULT_BASE_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
_NOT_FOUND = "Check that the repository exists and you have permissions to access it."

# --- schemas ------------------------------------------------------------------------


def _obj(properties: Mapping[str, Any], required: list[str] | None = None, title: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties), "required": required or []}
    if title:
        schema["title"] = title
    return schema


def _strings(title: str, description: str = "") -> dict[str, Any]:
    return app_api.prop("array", title, description, items={"type": "string"})


def _enum(title: str, description: str, values: list[str], default: str) -> dict[str, Any]:
    return app_api.prop("string", title, description, enum=values, default=default)


_REPO = {
    "owner": app_api.prop("string", "Owner", "Owner of the repository."),
    "repository": app_api.prop("string", "Repository", "Repository name."),
}
_PAGES = {
    "page": app_api.prop("integer", "Page", "Page number of the results to fetch. Default is 1.", default=1),
    "per-page": app_api.prop("integer", "Per Page", "Number of results to fetch per page. Default is 30.", default=30),
}
_STATS = {
    "additions": app_api.prop("integer", "Additions", "Number of additions."),
    "deletions": app_api.prop("integer", "Deletions", "Number of deletions."),
    "changes": app_api.prop("integer", "Changes", "Number of changes."),
}
COMMIT = _obj(
    {
        "sha": app_api.prop("string", "SHA", "SHA of the commit."),
        "message": app_api.prop("string", "Message", "Message of the commit."),
        "stats": _obj(_STATS, title="Stats"),
        "files": app_api.prop(
            "array",
            "Files",
            "Files changed in the commit.",
            items=_obj(
                {"filename": app_api.prop("string", "Filename"), **_STATS, "patch": app_api.prop("string", "Patch")}
            ),
        ),
    },
    title="Commit",
)
ISSUE = _obj(
    {
        "number": app_api.prop("integer", "Issue Number", "Number of the issue."),
        "state": app_api.prop("string", "State", "State of the issue."),
        "title": app_api.prop("string", "Title", "Title of the issue."),
        "body": app_api.prop("string", "Body", "Body of the issue."),
        "assignee": app_api.prop("string", "Assignee", "Assignee of the issue."),
        "assignees": _strings("Assignees", "Assignees of the issue."),
        "labels": _strings("Labels", "Labels of the issue."),
        "is-pull-request": app_api.prop("boolean", "Is Pull Request", "Whether the issue is a pull request."),
    },
    title="Issue",
)
PULL_REQUEST = _obj(
    {
        "id": app_api.prop("integer", "PR ID", "ID of the PR."),
        "number": app_api.prop("integer", "PR Number", "Number of the PR."),
        "state": app_api.prop("string", "State", "State of the PR."),
        "title": app_api.prop("string", "PR Title", "Title of the PR."),
        "body": app_api.prop("string", "PR Body", "Body of the PR."),
        "diff-url": app_api.prop("string", "Diff URL", "URL to the diff of the PR."),
        "head": app_api.prop("string", "Head", "SHA of the head commit of the PR."),
        "base": app_api.prop("string", "Base", "SHA of the base commit of the PR."),
        "comments-num": app_api.prop("integer", "Comments Number", "Number of comments on the PR."),
        "commits-num": app_api.prop("integer", "Commits Number", "Number of commits in the PR."),
        "review-comments-num": app_api.prop(
            "integer", "Review Comments Number", "Number of review comments in the PR."
        ),
        "commits": app_api.prop("array", "Commits", "Commits in the PR.", items=COMMIT),
    },
    title="Pull Request",
)
_SIDES = ["LEFT", "RIGHT", "side"]
_COMMENT_INPUT = {
    "commit-id": app_api.prop("string", "Commit SHA", "SHA of the commit on which you want to comment."),
    "body": app_api.prop("string", "Body", "Body of the review comment."),
    "path": app_api.prop("string", "Path", "Relative path of the file that the comment applies to."),
    "start-line": app_api.prop("integer", "Start Line", "The first line of the range for a multi-line comment."),
    "line": app_api.prop(
        "integer", "Line", "The line of the blob in the pull request diff that the comment applies to."
    ),
    "start-side": _enum("Start Side", "Side of the start line: LEFT, RIGHT, side.", _SIDES, "side"),
    "side": _enum("Side", "Side of the end line: LEFT, RIGHT, side.", _SIDES, "side"),
    "subject-type": _enum("Subject Type", "Subject type of the comment: line or file.", ["line", "file"], "line"),
}
REVIEW_COMMENT = _obj(
    {
        "id": app_api.prop("integer", "Comment ID", "ID of the comment."),
        "in-reply-to-id": app_api.prop("integer", "In Reply To", "ID of the comment this comment replies to."),
        "commit-id": _COMMENT_INPUT["commit-id"],
        "body": _COMMENT_INPUT["body"],
        "path": _COMMENT_INPUT["path"],
        "line": _COMMENT_INPUT["line"],
        "start-line": _COMMENT_INPUT["start-line"],
        "side": app_api.prop("string", "Side"),
        "start-side": app_api.prop("string", "Start Side"),
        "subject-type": app_api.prop("string", "Subject Type"),
        "created-at": app_api.prop("string", "Created At", "When the comment was created."),
        "updated-at": app_api.prop("string", "Updated At", "When the comment was updated."),
        "user": _obj(
            {"id": app_api.prop("integer", "User ID"), "url": app_api.prop("string", "User URL")}, title="User"
        ),
    },
    title="Review Comment",
)
RESPONSE = _obj(
    {
        name: app_api.prop("integer", name.replace("-", " ").title())
        for name in ("next-page", "prev-page", "first-page", "last-page")
    },
    title="Response",
)
_LIST_ORDER = {
    "state": _enum(
        "State", "State of the items: open, closed, all. Default is open.", ["open", "closed", "all"], "open"
    ),
    "sort": _enum(
        "Sort",
        "Sort by created, updated, popularity, or long-running. Default is created.",
        ["created", "updated", "popularity", "long-running"],
        "created",
    ),
    "direction": _enum("Direction", "Direction of the sort: asc or desc. Default is desc.", ["asc", "desc"], "desc"),
}
_SINCE = app_api.prop(
    "string",
    "Since",
    "Date (in `YYYY-MM-DD` format) from which items will start to be fetched. The date will be in the UTC timezone.",
    default="2021-01-01",
)
_BY_NAME_OR_ID = {
    "name": app_api.prop("string", "Name", "Name, used when no ID is given."),
    "id": app_api.prop("integer", "ID", "ID, which takes precedence over the name."),
}

INPUTS: dict[str, dict[str, Any]] = {
    "TASK_LIST_PULL_REQUESTS": _obj({**_REPO, **_LIST_ORDER, **_PAGES}, ["owner", "repository"], "Input"),
    "TASK_GET_PULL_REQUEST": _obj(
        {
            **_REPO,
            "pr-number": app_api.prop("integer", "PR Number", "Number of the PR. `0` for the latest PR.", default=0),
        },
        ["owner", "repository"],
        "Input",
    ),
    "TASK_GET_COMMIT": _obj({**_REPO, "sha": COMMIT["properties"]["sha"]}, ["owner", "repository", "sha"], "Input"),
    "TASK_LIST_REVIEW_COMMENTS": _obj(
        {
            **_REPO,
            "pr-number": app_api.prop(
                "integer", "PR Number", "Number of the PR. `0` for all the repository's.", default=0
            ),
            "sort": _enum("Sort", "Sort by created or updated. Default is created.", ["created", "updated"], "created"),
            "direction": _LIST_ORDER["direction"],
            "since": _SINCE,
            **_PAGES,
        },
        ["owner", "repository"],
        "Input",
    ),
    "TASK_CREATE_REVIEW_COMMENT": _obj(
        {
            **_REPO,
            "pr-number": app_api.prop("integer", "PR Number", "Number of the PR."),
            "comment": _obj(_COMMENT_INPUT, ["body", "path", "commit-id"], "Comment"),
        },
        ["owner", "repository", "pr-number", "comment"],
        "Input",
    ),
    "TASK_LIST_ISSUES": _obj(
        {
            **_REPO,
            **_LIST_ORDER,
            "since": _SINCE,
            "no-pull-request": app_api.prop(
                "boolean", "No Pull Request", "Whether to `not` include pull requests in the response."
            ),
            **_PAGES,
        },
        ["owner", "repository"],
        "Input",
    ),
    "TASK_GET_ISSUE": _obj(
        {**_REPO, "issue-number": app_api.prop("integer", "Issue Number", "Number of the issue.", default=0)},
        ["owner", "repository", "issue-number"],
        "Input",
    ),
    "TASK_GET_USER": _obj(_BY_NAME_OR_ID, [], "Input"),
    "TASK_GET_ORGANIZATION": _obj(_BY_NAME_OR_ID, [], "Input"),
    "TASK_CREATE_ISSUE": _obj(
        {
            **_REPO,
            "title": ISSUE["properties"]["title"],
            "body": ISSUE["properties"]["body"],
            "assignees": ISSUE["properties"]["assignees"],
            "labels": ISSUE["properties"]["labels"],
        },
        ["owner", "repository", "title", "body"],
        "Input",
    ),
    "TASK_CREATE_WEBHOOK": _obj(
        {
            **_REPO,
            "hook-url": app_api.prop("string", "Webhook URL", "URL to send the payload to."),
            "events": _strings("Events", "Events to trigger the webhook."),
            "active": app_api.prop("boolean", "Active", "Whether the webhook is active.", default=False),
            "content-type": _enum(
                "Content Type", "Content type of the webhook: json or form.", ["json", "form"], "json"
            ),
            "hook-secret": app_api.prop(
                "string", "Webhook Secret", "The key for the HMAC hex digest of deliveries.", instillSecret=True
            ),
        },
        ["owner", "repository", "hook-url", "events"],
        "Input",
    ),
}
_HOOK = {
    "id": app_api.prop("integer", "Webhook ID"),
    "url": app_api.prop("string", "Webhook URL"),
    "ping-url": app_api.prop("string", "Ping URL"),
    "test-url": app_api.prop("string", "Test URL"),
    "config": _obj(
        {
            "url": app_api.prop("string", "URL"),
            "content-type": app_api.prop("string", "Content Type"),
            "insecure-ssl": app_api.prop("string", "Insecure SSL"),
        },
        title="Config",
    ),
}
OUTPUTS: dict[str, dict[str, Any]] = {
    "TASK_LIST_PULL_REQUESTS": _obj(
        {"pull-requests": app_api.prop("array", "Pull Requests", items=PULL_REQUEST), "response": RESPONSE},
        ["pull-requests"],
        "Output",
    ),
    "TASK_GET_PULL_REQUEST": {**PULL_REQUEST, "title": "Output"},
    "TASK_GET_COMMIT": _obj({**COMMIT["properties"], "commit": COMMIT}, [], "Output"),
    "TASK_LIST_REVIEW_COMMENTS": _obj(
        {"comments": app_api.prop("array", "Comments", items=REVIEW_COMMENT), "response": RESPONSE},
        ["comments"],
        "Output",
    ),
    "TASK_CREATE_REVIEW_COMMENT": {**REVIEW_COMMENT, "title": "Output"},
    "TASK_LIST_ISSUES": _obj(
        {"issues": app_api.prop("array", "Issues", items=ISSUE), "response": RESPONSE}, ["issues"], "Output"
    ),
    "TASK_GET_ISSUE": {**ISSUE, "title": "Output"},
    "TASK_GET_USER": _obj(
        {"user": app_api.prop("object", "User", "The user, with GitHub's fields in kebab-case.")}, [], "Output"
    ),
    "TASK_GET_ORGANIZATION": _obj(
        {
            "organization": app_api.prop(
                "object", "Organization", "The organization, with GitHub's fields in kebab-case."
            )
        },
        [],
        "Output",
    ),
    "TASK_CREATE_ISSUE": {**ISSUE, "title": "Output"},
    "TASK_CREATE_WEBHOOK": _obj(_HOOK, [], "Output"),
}
TITLES = {
    "TASK_LIST_PULL_REQUESTS": ("List Pull Requests", "Get the list of all pull requests in a repository."),
    "TASK_GET_PULL_REQUEST": ("Get Pull Request", "Get a pull request from a repository, given the PR number."),
    "TASK_GET_COMMIT": ("Get Commit", "Get a commit from a repository, given the commit SHA."),
    "TASK_LIST_REVIEW_COMMENTS": ("List Review Comments", "Get the review comments in a pull request."),
    "TASK_CREATE_REVIEW_COMMENT": ("Create Review Comment", "Create a review comment in a pull request."),
    "TASK_LIST_ISSUES": ("List Issues", "Get the list of all issues in a repository."),
    "TASK_GET_ISSUE": ("Get Issue", "Get an issue."),
    "TASK_GET_USER": ("Get User", "Get a user by name or ID."),
    "TASK_GET_ORGANIZATION": ("Get Organization", "Get an organization by name or ID."),
    "TASK_CREATE_ISSUE": ("Create Issue", "Create an issue."),
    "TASK_CREATE_WEBHOOK": ("Create Webhook", "Create a webhook for a repository."),
}
SETUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "GitHub Connection",
    "additionalProperties": False,
    "properties": {
        "token": app_api.prop(
            "string",
            "Token",
            "Fill in your GitHub access token for advanced usages (github.com/settings/tokens).",
            instillSecret=True,
        ),
        "base-url": app_api.prop(
            "string",
            "Base URL",
            f"The REST API root: {DEFAULT_BASE_URL} by default, https://HOST/api/v3 for GitHub Enterprise "
            "Server (the server's PIPELINE_GITHUB_BASE_URL when set). Not in Instill's setup.",
        ),
    },
    "required": ["token"],
}

# --- the REST API -------------------------------------------------------------------


class _GitHub:
    def __init__(self, ctx: TaskContext) -> None:
        token = ctx.setup.get("token")
        if not isinstance(token, str) or not token:
            raise ComponentError("setup.token is required (a GitHub access token).")
        self.ctx = ctx
        self.root = vendor_api.base_url(ctx.setup, DEFAULT_BASE_URL)
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "instill-pipeline",
        }

    async def call(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: Any = None
    ) -> app_api.Reply:
        return await app_api.call(
            self.ctx,
            "GitHub",
            method,
            self.root + path,
            headers=self.headers,
            params=params,
            body=body,
            hints={404: _NOT_FOUND},
        )

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return (await self.call("GET", path, params=params)).payload


def _repo(input: Mapping[str, Any]) -> str:
    owner = app_api.segment(input.get("owner"), "owner")
    repository = app_api.segment(input.get("repository"), "repository")
    return f"/repos/{owner}/{repository}"


def _choice(input: Mapping[str, Any], field: str, schema: Mapping[str, Any]) -> str:
    value = input.get(field) or schema["default"]
    if value not in schema["enum"]:
        raise ComponentError(f"{field} must be one of {', '.join(schema['enum'])}, got {str(value)[:40]!r}.")
    return str(value)


def _since(input: Mapping[str, Any]) -> dict[str, str]:
    """``since`` as GitHub takes it (ISO 8601): a ``YYYY-MM-DD`` date, or a date and time."""
    value = input.get("since", _SINCE["default"])
    if value in (None, ""):
        return {}
    if not isinstance(value, str):
        raise ComponentError("since must be a date written YYYY-MM-DD.")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return {"since": date.fromisoformat(value).isoformat() + "T00:00:00Z"}
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ComponentError(f"since must be a date written YYYY-MM-DD, got {value[:40]!r}.") from None
    return {"since": value}


def _page_params(input: Mapping[str, Any]) -> dict[str, str]:
    page = app_api.integer(input, "page", 1, minimum=1)
    per_page = min(app_api.integer(input, "per-page", 30, minimum=1), 100)  # GitHub answers at most 100
    return {"page": str(page), "per_page": str(per_page)}


_LINK = re.compile(r'<([^>]*)>;\s*rel="(\w+)"')


def _response(reply: app_api.Reply) -> dict[str, int]:
    """Instill's ``response``: the pages GitHub's ``Link`` header names."""
    out = {"next-page": 0, "prev-page": 0, "first-page": 0, "last-page": 0}
    for url, rel in _LINK.findall(reply.headers.get("link", "")):
        page = re.search(r"[?&]page=(\d+)", url)
        if page and f"{rel}-page" in out:
            out[f"{rel}-page"] = int(page.group(1))
    return out


def _list(payload: Any, what: str) -> list[Mapping[str, Any]]:
    if not isinstance(payload, list):
        raise ComponentError(f"GitHub answered the {what} without a list.")
    return [item for item in payload if isinstance(item, Mapping)]


def _map(payload: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise ComponentError(f"GitHub answered the {what} without an object.")
    return payload


def _kebab(value: Mapping[str, Any]) -> dict[str, Any]:
    """GitHub's object with Instill's field names: ``html_url`` → ``html-url``."""
    return {str(key).replace("_", "-"): _kebab_value(item) for key, item in value.items()}


def _kebab_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _kebab(value)
    if isinstance(value, list):
        return [_kebab_value(item) for item in value]
    return value


def _login(user: Any) -> str:
    return str(user.get("login") or "") if isinstance(user, Mapping) else ""


def _issue(issue: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "number": issue.get("number"),
        "title": issue.get("title") or "",
        "state": issue.get("state") or "",
        "body": issue.get("body") or "",
        "assignee": _login(issue.get("assignee")),
        "assignees": [_login(a) for a in issue.get("assignees") or []],
        "labels": [str(label.get("name") or "") for label in issue.get("labels") or [] if isinstance(label, Mapping)],
        "is-pull-request": bool(issue.get("pull_request")),
    }


def _stats(numbers: Any, changes: str) -> dict[str, int]:
    numbers = numbers if isinstance(numbers, Mapping) else {}
    return {
        "additions": int(numbers.get("additions") or 0),
        "deletions": int(numbers.get("deletions") or 0),
        "changes": int(numbers.get(changes) or 0),
    }


async def _commit(github: _GitHub, repo: str, commit: Mapping[str, Any], details: bool) -> dict[str, Any]:
    sha = str(commit.get("sha") or "")
    inner = commit.get("commit")
    out: dict[str, Any] = {"sha": sha, "message": inner.get("message", "") if isinstance(inner, Mapping) else ""}
    if not details:
        return out
    if commit.get("stats") is None or commit.get("files") is None:
        commit = _map(await github.get(f"{repo}/commits/{app_api.segment(sha, 'sha')}"), "commit")
    out["stats"] = _stats(commit.get("stats"), "total")
    out["files"] = [
        {"filename": f.get("filename") or "", "patch": f.get("patch") or "", **_stats(f, "changes")}
        for f in commit.get("files") or []
        if isinstance(f, Mapping)
    ]
    return out


async def _pull_request(github: _GitHub, repo: str, pr: Mapping[str, Any], details: bool) -> dict[str, Any]:
    def sha(side: Any) -> str:
        return str(side.get("sha") or "") if isinstance(side, Mapping) else ""

    out: dict[str, Any] = {
        "id": pr.get("id"),
        "number": pr.get("number"),
        "state": pr.get("state") or "",
        "title": pr.get("title") or "",
        "body": pr.get("body") or "",
        "diff-url": pr.get("diff_url") or "",
        "head": sha(pr.get("head")),
        "base": sha(pr.get("base")),
        "comments-num": int(pr.get("comments") or 0),
        "commits-num": int(pr.get("commits") or 0),
        "review-comments-num": int(pr.get("review_comments") or 0),
    }
    if pr.get("commits_url"):
        commits = _list(await github.get(f"{repo}/pulls/{pr.get('number')}/commits"), "pull request's commits")
        out["commits"] = [await _commit(github, repo, c, details) for c in commits]
    return out


# --- tasks --------------------------------------------------------------------------


async def run_list_pull_requests(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    github, repo = _GitHub(ctx), _repo(input)
    params = {field: _choice(input, field, _LIST_ORDER[field]) for field in ("state", "sort", "direction")}
    reply = await github.call("GET", f"{repo}/pulls", params={**params, **_page_params(input)})
    pulls = [await _pull_request(github, repo, pr, False) for pr in _list(reply.payload, "pull requests")]
    return {"pull-requests": pulls, "response": _response(reply)}


async def run_get_pull_request(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    github, repo = _GitHub(ctx), _repo(input)
    number = app_api.integer(input, "pr-number", 0)
    if number == 0:
        params = {"state": "all", "sort": "created", "direction": "desc", "page": "1", "per_page": "1"}
        latest = _list(await github.get(f"{repo}/pulls", params), "pull requests")
        if not latest:
            raise ComponentError("pr-number: the repository has no pull request.")
        number = int(latest[0].get("number") or 0)
    pr = _map(await github.get(f"{repo}/pulls/{number}"), "pull request")
    return await _pull_request(github, repo, pr, True)


async def run_get_commit(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    github, repo = _GitHub(ctx), _repo(input)
    sha = app_api.segment(input.get("sha"), "sha")
    commit = await _commit(github, repo, _map(await github.get(f"{repo}/commits/{sha}"), "commit"), True)
    return {**commit, "commit": commit}


async def run_list_review_comments(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    github, repo = _GitHub(ctx), _repo(input)
    number = app_api.integer(input, "pr-number", 0)
    schema = INPUTS["TASK_LIST_REVIEW_COMMENTS"]["properties"]
    params = {field: _choice(input, field, schema[field]) for field in ("sort", "direction")}
    path = f"{repo}/pulls/{number}/comments" if number else f"{repo}/pulls/comments"
    reply = await github.call("GET", path, params={**params, **_since(input), **_page_params(input)})
    comments = [_kebab(c) for c in _list(reply.payload, "review comments")]
    return {"comments": comments, "response": _response(reply)}


async def run_create_review_comment(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    github, repo = _GitHub(ctx), _repo(input)
    number = app_api.integer(input, "pr-number", None, minimum=1)
    comment = input.get("comment")
    if not isinstance(comment, Mapping):
        raise ComponentError("comment is required: an object with body, path and commit-id.")
    body: dict[str, Any] = {}
    for field in ("body", "path", "commit-id"):
        value = comment.get(field)
        if not isinstance(value, str) or not value:
            raise ComponentError(f"comment.{field} is required (a string).")
        body[field.replace("-", "_")] = value
    subject = _choice(comment, "subject-type", _COMMENT_INPUT["subject-type"])
    body["subject_type"] = subject
    if subject == "line":
        if comment.get("line") is None:
            raise ComponentError("comment.line is required for a line comment (subject-type line).")
        line = body["line"] = app_api.integer(comment, "line", None, minimum=1)
        start = comment.get("start-line")
        if start is not None and app_api.integer(comment, "start-line", None, minimum=1) != line:
            body["start_line"] = app_api.integer(comment, "start-line", None, minimum=1)
        for field in ("side", "start-side"):
            side = _choice(comment, field, _COMMENT_INPUT[field])
            if side != "side" and (field == "side" or "start_line" in body):  # "side": GitHub's own default
                body[field.replace("-", "_")] = side
    reply = await github.call("POST", f"{repo}/pulls/{number}/comments", body=body)
    return _kebab(_map(reply.payload, "review comment"))


async def run_list_issues(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    github, repo = _GitHub(ctx), _repo(input)
    params = {field: _choice(input, field, _LIST_ORDER[field]) for field in ("state", "sort", "direction")}
    reply = await github.call("GET", f"{repo}/issues", params={**params, **_since(input), **_page_params(input)})
    issues = [_issue(issue) for issue in _list(reply.payload, "issues")]
    if input.get("no-pull-request"):
        issues = [issue for issue in issues if not issue["is-pull-request"]]
    return {"issues": issues, "response": _response(reply)}


async def run_get_issue(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    github, repo = _GitHub(ctx), _repo(input)
    number = app_api.integer(input, "issue-number", None, minimum=1)
    return _issue(_map(await github.get(f"{repo}/issues/{number}"), "issue"))


async def run_create_issue(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    github, repo = _GitHub(ctx), _repo(input)
    title = input.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ComponentError("title is required (a string).")
    body: dict[str, Any] = {"title": title, "body": input.get("body") or ""}
    for field in ("assignees", "labels"):
        value = input.get(field)
        if value:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ComponentError(f"{field} must be a list of strings.")
            body[field] = value
    reply = await github.call("POST", f"{repo}/issues", body=body)
    return _issue(_map(reply.payload, "issue"))


async def _by_name_or_id(input: Mapping[str, Any], ctx: TaskContext, by_name: str, by_id: str, what: str) -> Any:
    github = _GitHub(ctx)
    if input.get("id"):
        return _map(await github.get(f"{by_id}/{app_api.integer(input, 'id', None, minimum=1)}"), what)
    if not input.get("name"):
        raise ComponentError(f"name or id is required (the {what}'s).")
    return _map(await github.get(f"{by_name}/{app_api.segment(input.get('name'), 'name')}"), what)


async def run_get_user(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    return {"user": _kebab(await _by_name_or_id(input, ctx, "/users", "/user", "user"))}


async def run_get_organization(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    return {"organization": _kebab(await _by_name_or_id(input, ctx, "/orgs", "/organizations", "organization"))}


async def run_create_webhook(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    github, repo = _GitHub(ctx), _repo(input)
    url = input.get("hook-url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ComponentError("hook-url must be an http(s) URL.")
    events = input.get("events")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) and e for e in events):
        raise ComponentError("events must be a non-empty list of event names (push, issues, ...).")
    content_type = input.get("content-type") or "json"
    if content_type not in ("json", "form"):
        content_type = "json"  # as Instill does
    config: dict[str, Any] = {"url": url, "content_type": content_type, "insecure_ssl": "0"}
    if input.get("hook-secret"):
        config["secret"] = str(input["hook-secret"])
    body = {"name": "web", "active": bool(input.get("active", False)), "events": events, "config": config}
    hook = _map((await github.call("POST", f"{repo}/hooks", body=body)).payload, "webhook")
    given = hook.get("config") if isinstance(hook.get("config"), Mapping) else {}
    assert isinstance(given, Mapping)
    return {
        "id": hook.get("id"),
        "url": hook.get("url") or "",
        "ping-url": hook.get("ping_url") or "",
        "test-url": hook.get("test_url") or "",
        "config": {
            "url": given.get("url") or "",
            "content-type": given.get("content_type") or "",
            "insecure-ssl": str(given.get("insecure_ssl") or ""),
        },
    }


RUNS = {
    "TASK_LIST_PULL_REQUESTS": run_list_pull_requests,
    "TASK_GET_PULL_REQUEST": run_get_pull_request,
    "TASK_GET_COMMIT": run_get_commit,
    "TASK_LIST_REVIEW_COMMENTS": run_list_review_comments,
    "TASK_CREATE_REVIEW_COMMENT": run_create_review_comment,
    "TASK_LIST_ISSUES": run_list_issues,
    "TASK_GET_ISSUE": run_get_issue,
    "TASK_GET_USER": run_get_user,
    "TASK_GET_ORGANIZATION": run_get_organization,
    "TASK_CREATE_ISSUE": run_create_issue,
    "TASK_CREATE_WEBHOOK": run_create_webhook,
}

COMPONENT = ComponentDefinition(
    type="github",
    title="GitHub",
    kind="application",
    vendor="GitHub",
    description="Do anything available on GitHub.",
    setup_schema=SETUP_SCHEMA,
    credential_fields=frozenset({"token"}),
    check_setup=vendor_api.check_base_urls("base-url"),
    tasks=app_api.tasks(RUNS, TITLES, INPUTS, OUTPUTS),
)
