"""The Trigger Snippet, run for real: each snippet is taken from the rendered page (as
its Copy button copies it) and run against a live ``manage.py serve`` — cURL in bash,
JavaScript in Node, Python with the Instill SDK once the gRPC server is there."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from PIL import Image
from pypdf import PdfWriter

from pipelines.components import default_registry
from pipelines.demo import HELLO
from pipelines.engine import parse_recipe
from pipelines.snippets import build_context, grpc_target, render_snippets
from tests.web.test_trigger_snippet import page_snippets

pytestmark = pytest.mark.e2e

CAPTION = 'It\'s "ready" — ünïcødé ✓ $HOME `date` !x'
PHOTO_RECIPE = """\
variable:
  photo: {title: Photo, type: image, required: true}
  caption: {title: Caption, type: string, default: %s}
  tags: {title: Tags, type: "array:string"}
  copies: {title: Copies, type: integer}
  report: {title: Report, type: document}
output:
  width: {value: "${variable.photo:width}"}
  caption: {value: "${variable.caption}"}
  tags: {value: "${variable.tags}"}
  copies: {value: "${variable.copies}"}
  report-type: {value: "${variable.report:content-type}"}
""" % json.dumps(CAPTION)  # noqa: UP031 - YAML's braces read plainer than doubled ones
GREETING = "Hello Summarise the benefits of solar power in two sentences."


class Page:
    """The snippets of one pipeline, as the rendered partial shows them."""

    def __init__(
        self, base_url: str, grpc_port: int, pipeline_id: str, recipe: str, versions: list[str | None]
    ) -> None:
        parsed = parse_recipe(recipe, registry=default_registry())
        target = grpc_target(base_url, grpc_port)
        snippets = [
            snippet
            for version in versions
            for snippet in render_snippets(
                namespace_id="admin",
                pipeline_id=pipeline_id,
                recipe=parsed,
                base_url=base_url,
                grpc_target=target,
                release_id=version,
            )
        ]
        self.dom_id = f"trigger-snippet-admin-{pipeline_id}"
        context = build_context(
            dom_id=self.dom_id,
            snippets=snippets,
            versions=[v or "latest" for v in versions],
            base_url=base_url,
            grpc_target=target,
        )
        self.codes = page_snippets(render_to_string("pipelines/partials/trigger_snippet.html", {"snippet": context}))

    def code(self, language: str, mode: str, version: str = "latest") -> str:
        return self.codes[f"{self.dom_id}-{language}-{version}-{mode}"]


@pytest.fixture(scope="module")
def pipelines(e2e_server, base_url, api_token) -> dict[str, Page]:
    """``snippet-hello`` (the demo recipe, with release v1.0.0) and ``snippet-photo``
    (an image, a document and a tricky default), created through the API."""
    import httpx

    headers = {"Authorization": f"Bearer {api_token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as api:
        for pipeline_id, recipe in (("snippet-hello", HELLO), ("snippet-photo", PHOTO_RECIPE)):
            response = api.post("/v1beta/namespaces/admin/pipelines", json={"id": pipeline_id, "rawRecipe": recipe})
            assert response.status_code == 201, response.text
        response = api.post("/v1beta/namespaces/admin/pipelines/snippet-hello/releases", json={"id": "v1.0.0"})
        assert response.status_code == 201, response.text
    return {
        "hello": Page(base_url, e2e_server.grpc_port, "snippet-hello", HELLO, [None, "v1.0.0"]),
        "photo": Page(base_url, e2e_server.grpc_port, "snippet-photo", PHOTO_RECIPE, [None]),
    }


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A directory with the files the multipart snippets upload: a 3x2 PNG and a PDF."""
    image = io.BytesIO()
    Image.new("RGB", (3, 2), (40, 120, 200)).save(image, "PNG")
    (tmp_path / "photo.png").write_bytes(image.getvalue())
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    with open(tmp_path / "report.pdf", "wb") as fh:
        writer.write(fh)
    return tmp_path


def run(command: list[str], *, token: str, cwd: Path, stdin: str | None = None) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "INSTILL_API_TOKEN": token}
    result = subprocess.run(command, input=stdin, cwd=cwd, env=env, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout


def run_bash(code: str, *, token: str, cwd: Path) -> str:
    return run(["bash", "-c", code], token=token, cwd=cwd)


def run_node(code: str, *, token: str, cwd: Path) -> str:
    script = cwd / "trigger.mjs"
    script.write_text(code)
    return run(["node", str(script)], token=token, cwd=cwd)


RUNNERS = {"curl": run_bash, "javascript": run_node}


def outputs_of(stdout: str, mode: str) -> dict:
    """The first row's outputs, from a sync answer, a finished operation or a stream."""
    if mode == "stream":
        assert "event: PIPELINE_STATUS_UPDATED" in stdout
        outputs = [
            json.loads(line[len("data: ") :])["output"]
            for line in stdout.splitlines()
            if line.startswith("data: ") and '"output"' in line and '"componentID"' not in line
        ]
        return outputs[-1]
    answer = json.loads(stdout)
    if mode == "async":
        operation = answer["operation"]
        assert operation["done"] is True, answer
        answer = operation["response"]
    return answer["outputs"][0]


@pytest.mark.parametrize("version", ["latest", "v1.0.0"])
@pytest.mark.parametrize("mode", ["sync", "async", "stream"])
@pytest.mark.parametrize("language", ["curl", "javascript"])
def test_hello_snippets_run(pipelines, api_token, workdir, language, mode, version):
    """Every cURL and JavaScript snippet of the demo recipe runs as copied and greets."""
    if language == "javascript" and shutil.which("node") is None:
        pytest.skip("node is not installed")
    code = pipelines["hello"].code(language, mode, version)
    stdout = RUNNERS[language](code, token=api_token, cwd=workdir)
    assert outputs_of(stdout, mode) == {"answer": GREETING}


def test_release_snippet_runs_the_release(pipelines, api, workdir, api_token):
    """The release's snippet is recorded as a run of that release."""
    run_bash(pipelines["hello"].code("curl", "sync", "v1.0.0"), token=api_token, cwd=workdir)
    runs = api.get("/v1beta/namespaces/admin/pipelines/snippet-hello/runs").json()["pipelineRuns"]
    assert runs[0]["pipelineVersion"] == "v1.0.0"


@pytest.mark.parametrize("mode", ["sync", "async", "stream"])
@pytest.mark.parametrize(
    ("language", "width", "report_type"), [("curl", 3, "application/pdf"), ("javascript", 1, "text/plain")]
)
def test_file_variables(pipelines, api_token, workdir, language, width, report_type, mode):
    """cURL uploads photo.png and report.pdf with -F and the other values as form text;
    JavaScript sends the sample image and document inline, as data URIs in JSON."""
    if language == "javascript" and shutil.which("node") is None:
        pytest.skip("node is not installed")
    stdout = RUNNERS[language](pipelines["photo"].code(language, mode), token=api_token, cwd=workdir)
    assert outputs_of(stdout, mode) == {
        "width": width,
        "caption": CAPTION,
        "tags": ["solar power", "wind energy"],
        "copies": 3,
        "report-type": report_type,
    }


def test_snippet_with_a_wrong_token_prints_the_error(pipelines, workdir):
    """A bad token: the async snippet prints the 401 answer and stops, no endless poll."""
    stdout = run_bash(pipelines["hello"].code("curl", "async"), token="instill_sk_wrong", cwd=workdir)
    assert json.loads(stdout)["code"] == 16


@pytest.mark.parametrize("version", ["latest", "v1.0.0"])
@pytest.mark.parametrize("mode", ["sync", "async", "stream"])
def test_python_snippets_run(pipelines, api_token, workdir, instill_sdk_python, mode, version):
    """The Python tab runs as copied, with the Instill SDK, against our gRPC server (in
    its own virtualenv, from a directory outside the repository: the SDK imports
    top-level packages named ``pipeline`` and ``core``)."""
    code = pipelines["hello"].code("python", mode, version) if (mode, version) != ("stream", "v1.0.0") else None
    if code is None:
        pytest.skip("the SDK cannot stream a release; the page says so instead")
    stdout = run([str(instill_sdk_python), "-I", "-"], stdin=code, token=api_token, cwd=workdir)
    assert "Hello Summarise the benefits of solar power" in stdout
