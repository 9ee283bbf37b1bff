"""Instill's published recipes run unchanged on a server given only a model provider.

One live server (``manage.py serve``) started with nothing but PIPELINE_OPENAI_BASE_URL
and PIPELINE_OPENAI_API_KEY pointing at a real local OpenAI-compatible server
(tests/fake_openai.py); no allow list admits it otherwise. Each recipe in
tests/fixtures/instill_recipes/ (byte-for-byte copies, sources in its README) is created
through the REST API, its stored ``rawRecipe`` is the file unchanged, and it is triggered
with the inputs its docs describe (documents: Instill's own test files,
tests/components/fixtures/instill/). Non-LLM outputs are asserted as documented; for LLM
outputs, that the fake's answer (``You said: <prompt>``, or JSON of the requested schema)
reaches the documented output in the documented shape, sent with the server's key.
The recipes that cannot run here are listed, with the reason, in that README.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from benchmarks._server import Server
from tests.fake_openai import FakeOpenAI

pytestmark = pytest.mark.e2e

RECIPES = Path(__file__).parents[1] / "fixtures" / "instill_recipes"
INSTILL_FILES = Path(__file__).parents[1] / "components" / "fixtures" / "instill"
KEY = "sk-platform-" + secrets.token_hex(8)
# Instill's test files as its document component's tests expect them (convert_test.go,
# convert_document_to_markdown_test.go, fast_test.go in instill-ai/pipeline-backend)
PDF_TEXT = "This is test file for markdown"
MARKDOWN = f"# {PDF_TEXT}"
CSV_TABLE = "| test | test | tse |\n| --- | --- | --- |\n| 1 | 23 | 2 |"
MIME = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def data_uri(name: str) -> str:
    data = (INSTILL_FILES / name).read_bytes()
    return f"data:{MIME[name.rsplit('.', 1)[1]]};base64,{base64.b64encode(data).decode()}"


def scanned_pdf() -> str:
    """A PDF with one page that is only a picture (no text layer), as a scanner writes it."""
    out = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(out, format="PDF")
    return "data:application/pdf;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.fixture(scope="module")
def server(platform_key_server: Server) -> Server:
    return platform_key_server


@pytest.fixture(scope="module")
def headers(server: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.create_token('instill-recipes')}"}


CREATED: set[str] = set()


def run(server: Server, headers: dict[str, str], fixture: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Create ``fixture`` unchanged as a pipeline, trigger it once; its one output row.
    Every component completed or was skipped by its condition; none failed."""
    recipe = (RECIPES / fixture).read_text()
    pipeline_id = fixture.removeprefix("pipelines--").removesuffix(".yaml").replace("--", "-").replace("_", "-")[:32]
    api = f"{server.base_url}/v1beta/namespaces/admin/pipelines"
    if pipeline_id not in CREATED:
        created = httpx.post(api, json={"id": pipeline_id, "rawRecipe": recipe}, headers=headers, timeout=30)
        assert created.status_code == 201, created.text
        assert created.json()["pipeline"]["rawRecipe"] == recipe
        CREATED.add(pipeline_id)
    answer = httpx.post(
        f"{api}/{pipeline_id}/trigger",
        json={"data": [{"variable": variables}]},
        headers={**headers, "Instill-Return-Traces": "true"},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    for component, trace in body["metadata"]["traces"].items():
        assert set(trace["statuses"]) <= {"STATUS_COMPLETED", "STATUS_SKIPPED"}, (component, trace)
    [outputs] = body["outputs"]
    return outputs


def echo(prompt: str) -> str:
    return f"You said: {prompt}"


def chat_prompts(fake: FakeOpenAI) -> list[str]:
    """The user text of every chat request the fake received, in order; each came with the
    server's key."""
    prompts = []
    for request in fake.chat_requests:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        content = request.body["messages"][-1]["content"]
        prompts.append(content if isinstance(content, str) else "".join(p.get("text", "") for p in content))
    return prompts


# instill-ai/pipelines ---------------------------------------------------------------------


def test_fast_doc_to_text_reads_the_pdf_as_instill_does(server, headers, fake_openai):
    outputs = run(server, headers, "pipelines--fast-doc-to-text.yaml", {"file": data_uri("test.pdf")})
    assert outputs == {"text": PDF_TEXT}
    assert fake_openai.requests == []


def test_simple_doc_to_markdown_gives_the_heading_and_the_images(server, headers, fake_openai):
    outputs = run(server, headers, "pipelines--simple-doc-to-markdown.yaml", {"file": data_uri("test.docx")})
    assert outputs == {"markdown": f"{MARKDOWN}\n", "images": []}  # as Instill's DOCX test expects


def test_semantic_diff_sends_both_documents_markdown_to_the_model(server, headers, fake_openai):
    outputs = run(
        server,
        headers,
        "pipelines--semantic-diff.yaml",
        {"file-1": data_uri("test.pdf"), "file-2": data_uri("test.docx")},
    )
    [prompt] = chat_prompts(fake_openai)
    assert prompt.startswith("Evaluate the semantic, contextual difference between the two documents.")
    assert f"**Document 1**:\n{MARKDOWN}\n" in prompt
    assert f"**Document 2**:\n{MARKDOWN}\n" in prompt
    assert fake_openai.chat_requests[0].body["model"] == "gpt-4o"
    assert fake_openai.chat_requests[0].body["temperature"] == 0
    assert outputs == {"semantic-diff": echo(prompt)}


@pytest.mark.parametrize("document", ["test.pdf", "test.pptx"])
def test_hybrid_parser_refines_the_markdown_of_a_document_with_its_page_images(server, headers, fake_openai, document):
    """A document with text (the recipe takes PDF/DOCX/DOC/PPTX/PPT): the refine branch runs
    (condition body != ""), one batch of page images goes to the model with the drafted
    markdown; the OCR branch is skipped."""
    outputs = run(server, headers, "pipelines--hybrid-multimodal-parser.yaml", {"document-input": data_uri(document)})
    [request] = fake_openai.chat_requests
    [prompt] = chat_prompts(fake_openai)
    assert prompt.startswith("Conduct OCR to extract all text from the document images.")
    drafted = prompt.split("**Drafted Markdown Content**:\n```\n", 1)[1].split("\n```", 1)[0]
    assert " ".join(drafted.split()) == f'["{MARKDOWN} "]'  # an array of one page's markdown, as Instill writes it
    images = [p for p in request.body["messages"][-1]["content"] if p["type"] == "image_url"]
    assert len(images) == 1  # one page
    assert images[0]["image_url"]["url"].startswith("data:image/")
    assert outputs == {"convert_result": echo(prompt), "convert_result2": None}


def test_hybrid_parser_ocrs_a_scanned_pdf(server, headers, fake_openai):
    """A PDF without a text layer: its markdown is empty, so the OCR branch runs instead."""
    outputs = run(server, headers, "pipelines--hybrid-multimodal-parser.yaml", {"document-input": scanned_pdf()})
    [prompt] = chat_prompts(fake_openai)
    assert prompt.startswith("Use the provided document images to perform OCR")
    assert outputs == {"convert_result": None, "convert_result2": echo(prompt)}


STATEMENTS = {
    # the file variable, the output listing each statement's answer, the steps after the iterator
    "pipelines--multi-bank-financial-report.yaml": ("bank_statements", "individual_statements", 3),
    "pipelines--bank-account-aggregator.yaml": ("bank_statements", "individual_accounts", 2),
    "pipelines--financial-health-check.yaml": ("bank_statements", "individual_accounts", 2),
    "pipelines--monthly-financial-health-monitor.yaml": ("financial_statements", "individual_statements", 3),
}


@pytest.mark.parametrize("fixture", sorted(STATEMENTS))
def test_bank_statement_recipes_analyse_each_file_then_the_whole(server, headers, fake_openai, fixture):
    """Statements as the recipes describe them ("PDF, CSV, etc."). The iterator reads each
    as Markdown and asks the model about it; the later steps get the per-statement answers
    as Instill writes an array into a string (``["a", "b"]``, raw strings joined by ", ")."""
    variable, individual, steps = STATEMENTS[fixture]
    outputs = run(server, headers, fixture, {variable: [data_uri("test.pdf"), data_uri("test.csv")]})
    prompts = chat_prompts(fake_openai)
    assert len(prompts) == 2 + steps
    per_statement, after = prompts[:2], prompts[2:]  # the iterator's calls come first
    assert sorted(f"\n{MARKDOWN}\n" in prompt for prompt in per_statement) == [False, True]
    assert sorted(f"\n{CSV_TABLE}\n" in prompt for prompt in per_statement) == [False, True]
    answers = outputs.pop(individual)
    assert sorted(answers) == sorted(echo(p) for p in per_statement)
    as_instill_writes_it = "[" + ", ".join(f'"{answer}"' for answer in answers) + "]"
    assert any(as_instill_writes_it in prompt for prompt in after)
    assert sorted(outputs.values()) == sorted(echo(p) for p in after)


def test_a_bank_statement_recipe_streams_to_the_same_outputs(server, headers, fake_openai):
    """Triggered with ``Accept: text/event-stream`` (as Instill's console does), the
    iterator-and-LLM recipe streams its answers and its last output is the one a plain
    trigger answers."""
    fixture = "pipelines--multi-bank-financial-report.yaml"
    variables = {"bank_statements": [data_uri("test.pdf"), data_uri("test.csv")]}
    answered = run(server, headers, fixture, variables)
    trigger = f"{server.base_url}/v1beta/namespaces/admin/pipelines/multi-bank-financial-report/trigger"
    with httpx.stream(
        "POST",
        trigger,
        json={"data": [{"variable": variables}]},
        headers={**headers, "Accept": "text/event-stream"},
        timeout=120,
    ) as stream:
        assert stream.status_code == 200
        lines = list(stream.iter_lines())
    events = [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]
    outputs = [event["output"] for event in events if "output" in event and "componentID" not in event]
    assert len(outputs) > 4  # the answers arrive in pieces
    assert outputs[-1] == answered
    assert events[-1]["status"]["completed"] is True


# pipeline-backend component READMEs' "Example Recipes" ------------------------------------


def test_openai_readme_recipe_answers_in_the_language_asked(server, headers, fake_openai):
    outputs = run(
        server,
        headers,
        "readme-openai--2.yaml",
        {"language": "French", "prompt": "Tell me about small LLMs"},
    )
    prompt = "Talk about this topic in French  in a concise and beginner-friendly way:\nTell me about small LLMs"
    assert chat_prompts(fake_openai) == [prompt]
    request = fake_openai.chat_requests[0].body
    assert request["model"] == "gpt-4o-mini"
    assert request["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
    assert outputs == {"result": [echo(prompt)]}


def test_document_readme_recipe_answers_about_the_contract(server, headers, fake_openai):
    outputs = run(
        server,
        headers,
        "readme-document--1.yaml",
        {"contract_pdf_file": data_uri("test.pdf"), "question": "Who signs it?"},
    )
    prompts = sorted(chat_prompts(fake_openai))
    question = f"Given the contract content:\n--\n{PDF_TEXT}\n--\nPlease help answer the question: Who signs it?"
    assert question in prompts
    [summary] = [p for p in prompts if p != question]
    assert summary.endswith(f"etc.:\n{PDF_TEXT}")
    assert outputs == {"contract_question_answering": [echo(question)], "contract_summary": [echo(summary)]}
    # as in Instill, the platform key replaces only the key: the recipe's organization is sent
    for request in fake_openai.chat_requests:
        assert request.headers["openai-organization"] == "org-iadti51GxgS0qjX6LJmn75Ti"


def test_json_readme_recipe_unmarshals_the_structured_output(server, headers, fake_openai):
    recipe_schema = {
        "name": "resume_response",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "education": {"type": "string"},
                "score": {"type": "number"},
                "reasoning": {"type": "string"},
                "experience": {"type": "array", "items": {"type": "string"}},
                "skills": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["name", "education", "score", "reasoning", "experience", "skills"],
            "additionalProperties": False,
        },
    }
    outputs = run(
        server,
        headers,
        "readme-json--1.yaml",
        {"job-description": "Senior Go engineer", "resume": data_uri("test.pdf")},
    )
    [request] = fake_openai.chat_requests
    assert request.body["response_format"] == {"type": "json_schema", "json_schema": recipe_schema}
    [prompt] = chat_prompts(fake_openai)
    assert prompt.startswith(f"Given an {MARKDOWN}\n and a {PDF_TEXT}, create an automated system")
    said = echo(prompt)
    assert outputs == {
        "output": {
            "name": said,
            "education": said,
            "score": 0,
            "reasoning": said,
            "experience": [said],
            "skills": [said],
        }
    }


COLLECTION_EXAMPLES = {
    "append": {
        "append-primitives": ["a", "b"],
        "append-a-primitive-to-an-array": ["a", "b", 0],
        "append-an-object-to-an-array": ["a", "b", {"foo": "c"}],
        "append-a-primitive-to-an-object": [{"foo": "a", "bar": "b"}, "c"],
        "append-an-object-to-an-object": {"foo": "a", "bar": "b", "baz": "c"},
    },
    "assign": {
        "assign-array-element": [1, 10, 3],
        "assign-object-key": {"name": "Jane", "age": 30},
        "assign-nested-path": {"users": [{"metadata": {"tags": ["tag1", "new-tag"]}}]},
        "create-primitive": "hello",
        "create-nested-structure": {"users": [{"name": "John"}]},
    },
    "concat": {"concat-arrays": [1, 2, 3, 4], "concat-objects": {"a": 1, "b": 2, "c": 3, "d": 4}},
    "difference": {"difference-arrays": [1], "difference-objects": {"a": 1}},
    "intersection": {"intersection-arrays": [3], "intersection-objects": {"b": 2}},
    "split": {"split-array": [[1, 2], [3, 4], [5]], "split-object": [{"a": 1, "b": 2}, {"c": 3, "d": 4}]},
    "symmetric-difference": {"symmetric-difference-arrays": [1, 3], "symmetric-difference-objects": {"a": 1, "c": 3}},
    "union": {"union-arrays": [1, 2, 3], "union-objects": {"a": 1, "b": 3, "c": 3}},
}


@pytest.mark.parametrize("example", sorted(COLLECTION_EXAMPLES))
def test_collection_readme_recipes_give_their_commented_outputs(server, headers, fake_openai, example):
    """Each component's ``# output.data:`` comment in the README is its output here."""
    outputs = run(server, headers, f"readme-collection--{example}.yaml", {})
    assert outputs == COLLECTION_EXAMPLES[example]
