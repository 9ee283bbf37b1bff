"""A real local HTTP server speaking GitHub's REST API (docs.github.com/rest) for the
repository ``octocat/Hello-World``: the endpoints the github component calls, with the
answers of GitHub's reference examples (pull request 1347 "Amazing new feature", its
commits, commit ``6dcb09b``, review comments, issues, the user ``octocat``, the
organization ``github``, a created webhook), GitHub's ``Link`` pagination header and
its errors: 401 ``Bad credentials`` without the token, 404 ``Not Found``, 422
``Validation Failed`` with ``errors``. Standard library only.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.components.fake_vendor import Fake, Handler, RunningFake

TOKEN = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
REPO = "/repos/octocat/Hello-World"
API = "https://api.github.com"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
SHA2 = "7638417db6d59f3c431d3e1f261cc637155684cd"

OCTOCAT = {
    "login": "octocat",
    "id": 1,
    "node_id": "MDQ6VXNlcjE=",
    "avatar_url": "https://github.com/images/error/octocat_happy.gif",
    "html_url": "https://github.com/octocat",
    "type": "User",
    "site_admin": False,
    "name": "monalisa octocat",
    "company": "GitHub",
    "public_repos": 2,
    "followers": 20,
    "created_at": "2008-01-14T04:33:35Z",
}
ORG = {
    "login": "github",
    "id": 1,
    "node_id": "MDEyOk9yZ2FuaXphdGlvbjE=",
    "url": f"{API}/orgs/github",
    "repos_url": f"{API}/orgs/github/repos",
    "description": "A great organization",
    "name": "github",
    "company": "GitHub",
    "blog": "https://github.com/blog",
    "is_verified": True,
    "public_repos": 2,
    "html_url": "https://github.com/octocat",
    "type": "Organization",
    "plan": {"name": "Medium", "space": 400, "private_repos": 20, "filled_seats": 4, "seats": 5},
}


def pull(number: int, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "url": f"{API}{REPO}/pulls/{number}",
        "id": 1000 + number,
        "diff_url": f"https://github.com/octocat/Hello-World/pull/{number}.diff",
        "commits_url": f"{API}{REPO}/pulls/{number}/commits",
        "number": number,
        "state": "open",
        "title": title,
        "user": OCTOCAT,
        "body": "Please pull these awesome changes",
        "head": {"label": "octocat:new-topic", "ref": "new-topic", "sha": SHA2},
        "base": {"label": "octocat:master", "ref": "master", "sha": SHA},
        **extra,
    }


PULLS = [pull(1347, "Amazing new feature"), pull(1346, "Fix the readme")]
DETAILED = {
    1347: pull(1347, "Amazing new feature", comments=10, commits=2, review_comments=1, additions=100, deletions=3),
    1346: pull(1346, "Fix the readme", comments=0, commits=2, review_comments=0),
}
COMMITS: list[dict[str, Any]] = [
    {"sha": SHA, "commit": {"message": "Fix all the bugs", "author": {"name": "Monalisa Octocat"}}, "parents": []},
    {"sha": SHA2, "commit": {"message": "Add the feature"}, "parents": [{"sha": SHA}]},
]


def commit(sha: str) -> dict[str, Any]:
    message = next(c["commit"]["message"] for c in COMMITS if c["sha"] == sha)
    return {
        "sha": sha,
        "commit": {"message": message},
        "stats": {"additions": 104, "deletions": 4, "total": 108},
        "files": [
            {
                "sha": "bbcd538c8e72b8c175046e27cc8f907076331401",
                "filename": "file1.txt",
                "status": "added",
                "additions": 103,
                "deletions": 21,
                "changes": 124,
                "patch": "@@ -132,7 +132,7 @@ module Test @@ -1000,7 +1000,7 @@ module Test",
            }
        ],
    }


REVIEW_COMMENT = {
    "url": f"{API}{REPO}/pulls/comments/1",
    "pull_request_review_id": 42,
    "id": 10,
    "node_id": "MDI0OlB1bGxSZXF1ZXN0UmV2aWV3Q29tbWVudDEw",
    "diff_hunk": "@@ -16,33 +16,40 @@ public class Connection : IConnection...",
    "path": "file1.txt",
    "commit_id": SHA,
    "original_commit_id": "9c48853fa3dc5c1c3d6f1f1cd1f2743e72652840",
    "in_reply_to_id": 8,
    "user": OCTOCAT,
    "body": "Great stuff!",
    "created_at": "2011-04-14T16:00:49Z",
    "updated_at": "2011-04-14T16:00:49Z",
    "html_url": "https://github.com/octocat/Hello-World/pull/1#discussion-diff-1",
    "author_association": "NONE",
    "reactions": {"url": f"{API}{REPO}/pulls/comments/1/reactions", "total_count": 5, "+1": 3, "-1": 1},
    "start_line": 1,
    "original_start_line": 1,
    "start_side": "RIGHT",
    "line": 2,
    "original_line": 2,
    "side": "RIGHT",
    "subject_type": "line",
}


def issue(number: int, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "url": f"{API}{REPO}/issues/{number}",
        "number": number,
        "state": "open",
        "title": title,
        "body": "I'm having a problem with this.",
        "user": OCTOCAT,
        "labels": [{"id": 208045946, "name": "bug", "color": "f29513", "default": True}],
        "assignee": OCTOCAT,
        "assignees": [OCTOCAT],
        "comments": 0,
        **extra,
    }


ISSUES = [
    issue(1348, "Amazing new feature", pull_request={"url": f"{API}{REPO}/pulls/1348"}),
    issue(1347, "Found a bug"),
]
HOOK = {
    "type": "Repository",
    "id": 12345678,
    "name": "web",
    "active": True,
    "events": ["push", "pull_request"],
    "config": {"content_type": "json", "insecure_ssl": "0", "url": "https://example.com/webhook"},
    "updated_at": "2019-06-03T00:57:16Z",
    "created_at": "2019-06-03T00:57:16Z",
    "url": f"{API}{REPO}/hooks/12345678",
    "test_url": f"{API}{REPO}/hooks/12345678/test",
    "ping_url": f"{API}{REPO}/hooks/12345678/pings",
    "deliveries_url": f"{API}{REPO}/hooks/12345678/deliveries",
}
NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}


class FakeGitHub(Fake):
    pass


class _GitHubHandler(Handler):
    def _handle(self) -> None:
        body, failure = self.receive()
        if failure:
            self.send_json(failure, {"message": "Server Error"})
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
            return
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        status, payload, link = self.route(self.command, url.path, query, body)
        data_headers = {"Link": link} if link else {}
        self.send_json_with(status, payload, data_headers)

    def send_json_with(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        import json

        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any, str]:
        if method == "GET" and path == f"{REPO}/pulls":
            per_page = int(query.get("per_page", "30"))
            page = int(query.get("page", "1"))
            items = PULLS[(page - 1) * per_page : page * per_page]
            return 200, items, _link(f"{REPO}/pulls", page, per_page, len(PULLS))
        if method == "GET" and (found := re.fullmatch(rf"{REPO}/pulls/(\d+)", path)):
            pr = DETAILED.get(int(found.group(1)))
            return (200, pr, "") if pr else (404, NOT_FOUND, "")
        if method == "GET" and re.fullmatch(rf"{REPO}/pulls/\d+/commits", path):
            return 200, COMMITS, ""
        if method == "GET" and (found := re.fullmatch(rf"{REPO}/commits/(\w+)", path)):
            known = found.group(1) in (SHA, SHA2)
            return (200, commit(found.group(1)), "") if known else (404, NOT_FOUND, "")
        if method == "GET" and re.fullmatch(rf"{REPO}/pulls/(\d+/)?comments", path):
            return 200, [REVIEW_COMMENT], ""
        if method == "POST" and re.fullmatch(rf"{REPO}/pulls/\d+/comments", path):
            return 201, {**REVIEW_COMMENT, **body, "id": 11, "in_reply_to_id": None}, ""
        if method == "GET" and path == f"{REPO}/issues":
            return 200, ISSUES, _link(f"{REPO}/issues", int(query.get("page", "1")), 1, 3)
        if method == "GET" and (found := re.fullmatch(rf"{REPO}/issues/(\d+)", path)):
            match = [i for i in ISSUES if i["number"] == int(found.group(1))]
            return (200, match[0], "") if match else (404, NOT_FOUND, "")
        if method == "POST" and path == f"{REPO}/issues":
            if not body.get("title"):
                errors = [{"resource": "Issue", "code": "missing_field", "field": "title"}]
                return 422, {"message": "Validation Failed", "errors": errors}, ""
            labels = [{"name": name} for name in body.get("labels", [])]
            assignees = [{**OCTOCAT, "login": login} for login in body.get("assignees", [])]
            created = issue(1349, body["title"], body=body.get("body"), labels=labels, assignees=assignees)
            return 201, {**created, "assignee": assignees[0] if assignees else None}, ""
        if method == "POST" and path == f"{REPO}/hooks":
            return (
                201,
                {
                    **HOOK,
                    "events": body["events"],
                    "active": body["active"],
                    "config": {**body["config"], "secret": "********"},
                },
                "",
            )
        if method == "GET" and path in ("/users/octocat", "/user/1"):
            return 200, OCTOCAT, ""
        if method == "GET" and path in ("/orgs/github", "/organizations/1"):
            return 200, ORG, ""
        return 404, NOT_FOUND, ""

    do_GET = do_POST = _handle


def _link(path: str, page: int, per_page: int, total: int) -> str:
    last = max(1, -(-total // per_page))
    rels = {"first": 1, "last": last}
    if page < last:
        rels["next"] = page + 1
    if page > 1:
        rels["prev"] = page - 1
    return ", ".join(f'<{API}{path}?page={n}&per_page={per_page}>; rel="{rel}"' for rel, n in rels.items())


def running() -> RunningFake[FakeGitHub]:
    return RunningFake(FakeGitHub(), _GitHubHandler)
