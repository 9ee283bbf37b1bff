"""``manage.py serve`` as a user runs it, driven over real HTTP: tokens, triggers,
pipelines, runs, errors — and the README's tour, command for command."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HELLO_TRIGGER = "/v1beta/namespaces/admin/pipelines/hello/trigger"
HELLO_BODY = {"data": [{"variable": {"prompt": "user"}}]}

SHOUT_RECIPE = """\
version: v1beta
variable:
  text:
    title: Text
    type: string
    required: true
component:
  shout:
    type: json
    task: TASK_JQ
    input:
      json-value: ${variable.text}
      jq-filter: ascii_upcase
output:
  loud:
    title: Loud
    value: ${shout.output.results[0]}
"""


def assert_error(response: httpx.Response, status: int, code: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], list)
    return body


def test_liveness_answers_without_credentials(http: httpx.Client) -> None:
    """The health check needs no token."""
    response = http.get("/v1beta/__liveness")
    assert response.status_code == 200


def test_token_created_with_basic_auth_triggers_hello(http: httpx.Client, admin_password: str) -> None:
    """A token made with the admin's Basic credentials triggers the demo ``hello``."""
    response = http.post("/v1beta/tokens", json={"id": "e2e", "ttl": -1}, auth=("admin", admin_password))
    assert response.status_code == 201, response.text
    token = response.json()["token"]["accessToken"]
    assert re.fullmatch(r"instill_sk_[A-Za-z0-9]{32}", token), token

    response = http.post(HELLO_TRIGGER, json=HELLO_BODY, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outputs"] == [{"answer": "Hello user"}]
    assert body["metadata"]["traces"]["greet"]["statuses"] == ["STATUS_COMPLETED"]


def test_singular_namespace_path_and_raw_token(http: httpx.Client, api_token: str) -> None:
    """``/v1beta/namespace/...`` works like ``namespaces``, and the raw token works without ``Bearer``."""
    singular = HELLO_TRIGGER.replace("/namespaces/", "/namespace/")
    for path, authorization in ((singular, f"Bearer {api_token}"), (HELLO_TRIGGER, api_token), (singular, api_token)):
        response = http.post(path, json=HELLO_BODY, headers={"Authorization": authorization})
        assert response.status_code == 200, (path, response.text)
        assert response.json()["outputs"] == [{"answer": "Hello user"}]


def test_create_then_trigger_a_pipeline(api: httpx.Client) -> None:
    """A pipeline created from a YAML recipe is triggerable at once."""
    response = api.post("/v1beta/namespaces/admin/pipelines", json={"id": "e2e-shout", "rawRecipe": SHOUT_RECIPE})
    assert response.status_code == 201, response.text
    pipeline = response.json()["pipeline"]
    assert pipeline["id"] == "e2e-shout"
    assert pipeline["rawRecipe"] == SHOUT_RECIPE

    response = api.post(
        "/v1beta/namespaces/admin/pipelines/e2e-shout/trigger",
        json={"data": [{"variable": {"text": "hey"}}, {"variable": {"text": "you"}}]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["outputs"] == [{"loud": "HEY"}, {"loud": "YOU"}]

    assert_error(
        api.post("/v1beta/namespaces/admin/pipelines", json={"id": "e2e-shout", "rawRecipe": SHOUT_RECIPE}), 409, 6
    )


def test_invalid_recipe_is_refused(api: httpx.Client) -> None:
    """Creating a pipeline whose recipe does not validate answers 400 and saves nothing;
    one that only names a component type this server lacks is saved, as Instill saves
    it, and its trigger answers 400 naming the type."""
    broken = SHOUT_RECIPE.replace("task: TASK_JQ", "task: TASK_NO_SUCH_TASK")
    assert broken != SHOUT_RECIPE
    body = assert_error(
        api.post("/v1beta/namespaces/admin/pipelines", json={"id": "e2e-broken", "rawRecipe": broken}), 400, 3
    )
    assert "TASK_NO_SUCH_TASK" in json.dumps(body)
    assert_error(api.get("/v1beta/namespaces/admin/pipelines/e2e-broken"), 404, 5)
    alien = SHOUT_RECIPE.replace("type: json", "type: no-such-component")
    created = api.post("/v1beta/namespaces/admin/pipelines", json={"id": "e2e-alien", "rawRecipe": alien})
    assert created.status_code == 201, created.text
    body = assert_error(
        api.post("/v1beta/namespaces/admin/pipelines/e2e-alien/trigger", json={"data": [{"variable": {"text": "x"}}]}),
        400,
        3,
    )
    assert 'unknown component type "no-such-component"' in body["message"]
    assert api.delete("/v1beta/namespaces/admin/pipelines/e2e-alien").status_code == 204


def test_runs_are_listed_newest_first(api: httpx.Client) -> None:
    """Each trigger is recorded as a completed run; the list starts with the latest one."""
    for prompt in ("first", "second"):
        response = api.post(HELLO_TRIGGER, json={"data": [{"variable": {"prompt": prompt}}]})
        assert response.status_code == 200, response.text

    response = api.get("/v1beta/namespaces/admin/pipelines/hello/runs")
    assert response.status_code == 200, response.text
    body = response.json()
    runs = body["pipelineRuns"]
    assert len(runs) >= 2 and body["totalSize"] >= 2
    assert all(run["status"] == "RUN_STATUS_COMPLETED" for run in runs)
    assert runs[0]["inputs"] == [{"prompt": "second"}], runs[0]
    assert runs[1]["inputs"] == [{"prompt": "first"}], runs[1]
    assert runs[0]["startTime"] >= runs[1]["startTime"]


def test_unauthenticated_is_401(http: httpx.Client) -> None:
    """No credentials, or an unknown token, answer 401 in the error shape."""
    assert_error(http.post(HELLO_TRIGGER, json=HELLO_BODY), 401, 16)
    assert_error(http.get("/v1beta/namespaces/admin/pipelines/hello/runs"), 401, 16)
    unknown = {"Authorization": "Bearer instill_sk_" + "x" * 32}
    assert_error(http.post(HELLO_TRIGGER, json=HELLO_BODY, headers=unknown), 401, 16)


def test_unknown_pipeline_is_404(api: httpx.Client) -> None:
    """Triggering or reading a pipeline that does not exist answers 404 in the error shape."""
    body = assert_error(api.post("/v1beta/namespaces/admin/pipelines/no-such-thing/trigger", json=HELLO_BODY), 404, 5)
    assert "no-such-thing" in body["message"]
    assert_error(api.get("/v1beta/namespaces/admin/pipelines/no-such-thing"), 404, 5)


def test_missing_required_variable_is_400(api: httpx.Client) -> None:
    """A missing required variable is a 400 naming it (Instill answers 500)."""
    body = assert_error(api.post(HELLO_TRIGGER, json={"data": [{"variable": {}}]}), 400, 3)
    assert "prompt" in body["message"]


# --- the README ----------------------------------------------------------------------


def tour_blocks() -> list[str]:
    """The ```bash blocks of the README's "2-minute tour" section, in order."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## 2-minute tour\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, "README.md has no '## 2-minute tour' section"
    return re.findall(r"^```bash\n(.*?)^```", match.group(1), re.M | re.S)


def test_readme_hello_example_is_what_we_test() -> None:
    """The README's hello curl uses the path, headers and body these tests send."""
    hello = [block for block in tour_blocks() if "/pipelines/hello/trigger" in block and "event-stream" not in block]
    assert len(hello) == 1, hello
    words = shlex.split(hello[0].replace("\\\n", " "), comments=True)
    assert words[:3] == ["curl", "-X", "POST"]
    assert words[3] == "http://localhost:8080" + HELLO_TRIGGER
    assert json.loads(words[words.index("--data") + 1]) == HELLO_BODY
    headers = [words[i + 1] for i, word in enumerate(words) if word == "--header"]
    assert headers == ["Content-Type: application/json", "Authorization: Bearer $INSTILL_API_TOKEN"]


def test_readme_is_short_and_links_only_files_in_the_repository() -> None:
    """The README stays under 300 lines, and every relative link of the README, of
    docs/ and of benchmarks/README.md names a file of this repository (an anchor into a
    Markdown file names one of its headings)."""
    assert len((ROOT / "README.md").read_text().splitlines()) < 300
    pages = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not files
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.is_relative_to(ROOT) and linked.exists(), f"{page.name} links {target}: no such file"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", linked.read_text(), re.M)
                slugs = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
                assert anchor in slugs, f"{page.name} links {target}: no such heading"


TOUR_MARK = "@@ end of a README tour block @@"


def sse_events(text: str) -> list[dict]:
    """The events of a server-sent-event stream: ``{"id", "event", "data"}`` each."""
    events = []
    for frame in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.splitlines() if line and not line.startswith(":"))
        if fields:
            events.append({"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])})
    return events


@pytest.mark.skipif(not shutil.which("curl"), reason="the README's tour uses curl")
def test_readme_tour_runs_verbatim(e2e_server, tmp_path: Path) -> None:
    """Every command of the README's tour works against a real server, as written and
    in order in one shell, as a reader pastes them into one terminal (only the port
    and the admin password differ): the token lands in ``$INSTILL_API_TOKEN``, the
    streamed trigger's run uid in ``$RUN``, and the upload sends a PNG the tour makes."""
    env = {k: v for k, v in os.environ.items() if k not in ("INSTILL_API_TOKEN", "RUN")}
    blocks = tour_blocks()
    script = "".join(f"{block}\nprintf '\\n%s\\n' '{TOUR_MARK}'\n" for block in blocks)
    script = script.replace("http://localhost:8080", e2e_server.base_url).replace(
        "-u admin:password", f"-u admin:{e2e_server.admin_password}"
    )
    script += "printf '%s' \"$RUN\"\n"  # what the reader's shell now holds
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    *outputs, run_uid = result.stdout.split(f"\n{TOUR_MARK}\n")
    failed = blocks[len(outputs)] if len(outputs) < len(blocks) else "(after the last block)"
    assert result.returncode == 0, f"{failed}\nexit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert len(outputs) == len(blocks)

    names = ["token", "hello", "created", "word_count", "runs", "stream", "replay", "photo_created", "photo"]
    assert len(blocks) == len(names), "the tour's blocks changed: update this test"
    out = dict(zip(names, outputs, strict=True))
    assert out["token"] == "", "the token command prints nothing: the token goes to $INSTILL_API_TOKEN"
    answers = {}
    for name, block in zip(names, blocks, strict=True):
        if name in ("token", "stream", "replay"):
            continue
        answers[name] = json.loads(out[name])
        assert not {"code", "message"} <= set(answers[name]), f"{block}\nanswered an error: {answers[name]}"
    assert answers["hello"]["outputs"] == [{"answer": "Hello user"}]
    assert answers["created"]["pipeline"]["id"] == "word-count"
    assert answers["word_count"]["outputs"] == [{"words": 4, "upper": "THE QUICK BROWN FOX"}]
    assert answers["runs"]["pipelineRuns"][0]["status"] == "RUN_STATUS_COMPLETED"
    assert answers["runs"]["pipelineRuns"][0]["inputs"] == [{"prompt": "user"}]

    streamed = sse_events(out["stream"])
    assert [event["id"] for event in streamed] == list(range(1, len(streamed) + 1))
    assert streamed[-1]["event"] == "PIPELINE_STATUS_UPDATED" and streamed[-1]["data"]["status"]["completed"]
    assert {"answer": "Hello stream"} in [event["data"].get("output") for event in streamed]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", run_uid), run_uid
    # The replay of $RUN is that stream's run, from event 5 on, to its end.
    replayed = sse_events(out["replay"])
    by_id = {event["id"]: event for event in streamed}
    assert replayed and all(event["id"] > 4 and event == by_id[event["id"]] for event in replayed), replayed
    assert replayed[-1] == streamed[-1]

    assert answers["photo_created"]["pipeline"]["id"] == "photo-size"
    assert answers["photo"]["outputs"] == [{"width": 4, "height": 3}]
