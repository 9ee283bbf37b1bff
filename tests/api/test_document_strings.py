"""A trigger's documents written into strings read as their text (Instill's documentData.String()),
through the HTTP API: a PDF sent as a data URI in JSON, a DOCX uploaded as a form part."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import MULTIPART_CONTENT

URL = "/v1beta/namespaces/alice/pipelines/resume/trigger"
INSTILL = Path(__file__).parents[1] / "components" / "fixtures" / "instill"

RECIPE = """\
variable:
  resume: {type: document}
  skills: {type: array:string}
component:
  prompt:
    type: json
    task: TASK_MARSHAL
    input:
      json: {text: "Resume: ${variable.resume}\\nSkills: ${variable.skills}"}
output:
  prompt: {value: "${prompt.input.json.text}"}
"""


@pytest.fixture
def resume_pipeline(alice, make_pipeline):
    return make_pipeline(alice, "resume", raw_recipe=RECIPE)


def test_a_pdf_in_json_reads_as_its_markdown(api, resume_pipeline):
    """The PDF's first line is its title; the array is written as Instill writes arrays."""
    pdf = base64.b64encode((INSTILL / "test.pdf").read_bytes()).decode()
    response = api.post(
        URL,
        {"inputs": [{"resume": f"data:application/pdf;base64,{pdf}", "skills": ["Go", "SQL"]}]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["outputs"][0]["prompt"] == (
        'Resume: # This is test file for markdown\n\nSkills: ["Go", "SQL"]'
    )


def test_an_uploaded_docx_reads_as_its_markdown(api, resume_pipeline):
    """A DOCX form part labelled application/octet-stream is still read as a document."""
    docx = SimpleUploadedFile("cv.docx", (INSTILL / "test.docx").read_bytes(), content_type="application/octet-stream")
    response = api.post(
        URL,
        {"variables[0].resume": docx, "variables[0].skills[0]": "Go"},
        content_type=MULTIPART_CONTENT,
    )
    assert response.status_code == 200, response.json()
    assert response.json()["outputs"][0]["prompt"] == 'Resume: # This is test file for markdown\n\nSkills: ["Go"]'


def test_a_damaged_pdf_fails_the_run_with_the_reason(api, resume_pipeline):
    """A document that can't be read is an error that says why, not an empty string."""
    broken = base64.b64encode(b"%PDF-1.4\ngarbage").decode()
    response = api.post(
        URL,
        {"inputs": [{"resume": f"data:application/pdf;base64,{broken}", "skills": []}]},
        content_type="application/json",
    )
    assert response.status_code == 200  # Instill's shape: the run answers, the component's trace has the error
    body = response.json()
    assert body["outputs"] == [{"prompt": None}]
    trace = body["metadata"]["traces"]["prompt"]
    assert trace["statuses"] == ["STATUS_ERROR"]
    assert trace["error"]["message"].startswith("Couldn't read ${variable.resume} as text: Couldn't read the PDF")
