"""Running again with an earlier run's files ("Open in editor with these inputs"), and
run files downloaded under the names they were given."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines.engine import File
from pipelines.models import PipelineRun
from pipelines.services.run_files import run_dir

pytestmark = pytest.mark.django_db

RECIPE = """\
variable:
  photo: {title: Photo, type: image, required: true}
  note: {title: Note, type: string}
output:
  width: {value: "${variable.photo:width}"}
  name: {value: "${variable.photo:filename}"}
  photo: {value: "${variable.photo}"}
"""

DOCUMENT_RECIPE = """\
variable:
  report: {title: Report, type: document}
output:
  report: {value: "${variable.report}"}
"""


def png(width=3, height=2) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def img(alice, make_pipeline):
    return make_pipeline(alice, "img", raw_recipe=RECIPE)


@pytest.fixture
def kept_on_disk(settings, tmp_path):
    """Every run file is stored on disk (none inline)."""
    settings.PIPELINE_DATA_DIR = str(tmp_path)
    settings.PIPELINE_RUN_FILE_INLINE_BYTES = 0


def first_run(client) -> PipelineRun:
    upload = SimpleUploadedFile("holiday.png", png(5, 4), content_type="image/png")
    answer = client.post("/alice/pipelines/img/run", {"v-photo": upload, "v-note": "first"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200, answer.content.decode()
    return PipelineRun.objects.get()


def stored_photo(run: PipelineRun) -> File:
    value = run.inputs[0]["photo"]
    if isinstance(value, str):
        return File.from_data_uri(value)
    return File(path=run_dir(run.uid) / value["@file"]["name"], filename=value["@file"]["filename"])


@pytest.mark.parametrize("storage", ["inline", "disk"])
def test_a_rerun_carries_the_earlier_runs_file(storage, alice_client, img, request):
    if storage == "disk":
        request.getfixturevalue("kept_on_disk")
    run = first_run(alice_client)
    page = alice_client.get(f"/alice/pipelines/img/editor?inputs={run.uid}").content.decode()
    assert f'name="v-photo-carried" value="{run.uid}" checked' in page
    assert "<strong>holiday.png</strong>" in page and f"from run <code>{str(run.uid)[:8]}</code>" in page
    assert re.search(r'name="v-note"[^>]*value="first"|>first</textarea>', page)

    answer = alice_client.post("/alice/pipelines/img/editor/run", {"v-photo-carried": str(run.uid), "v-note": "again"})
    assert answer.status_code == 200, answer.content.decode()
    again = PipelineRun.objects.get(uid=answer.json()["runUid"])
    photo = stored_photo(again)
    assert photo.filename == "holiday.png" and photo.read() == png(5, 4)


def test_a_chosen_file_wins_over_the_carried_one(alice_client, img):
    run = first_run(alice_client)
    upload = SimpleUploadedFile("other.png", png(7, 7), content_type="image/png")
    answer = alice_client.post("/alice/pipelines/img/editor/run", {"v-photo": upload, "v-photo-carried": str(run.uid)})
    assert answer.status_code == 200
    assert stored_photo(PipelineRun.objects.get(uid=answer.json()["runUid"])).filename == "other.png"


def test_unchecking_the_box_leaves_the_file_out(alice_client, img):
    first_run(alice_client)
    answer = alice_client.post("/alice/pipelines/img/editor/run", {"v-note": "no photo"})
    assert answer.status_code == 400
    assert answer.json()["errors"] == {"v-photo": ["Photo is required."]}


def test_an_expired_file_is_named_with_the_reason(alice_client, img, kept_on_disk):
    run = first_run(alice_client)
    for path in run_dir(run.uid).iterdir():
        path.unlink()
    page = alice_client.get(f"/alice/pipelines/img/editor?inputs={run.uid}").content.decode()
    assert 'name="v-photo-carried"' not in page
    assert "could not be carried over: holiday.png is no longer kept (run files are kept" in page
    # A form sent anyway (an old tab) is refused on the field, not with a server error.
    answer = alice_client.post("/alice/pipelines/img/editor/run", {"v-photo-carried": str(run.uid)})
    assert answer.status_code == 400
    [message] = answer.json()["errors"]["v-photo"]
    assert "holiday.png is no longer kept" in message and "choose the file again" in message


@pytest.mark.parametrize("run_uid", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_a_carried_file_from_an_unknown_run_is_a_field_error(run_uid, alice_client, img):
    answer = alice_client.post("/alice/pipelines/img/editor/run", {"v-photo-carried": run_uid})
    assert answer.status_code == 400
    assert "is not one of this pipeline's runs you can see" in answer.json()["errors"]["v-photo"][0]


def test_another_users_run_files_cannot_be_carried(alice, bob, bob_client, make_pipeline, alice_client):
    make_pipeline(alice, "img", raw_recipe=RECIPE)
    run = first_run(alice_client)
    make_pipeline(bob, "img", raw_recipe=RECIPE)
    answer = bob_client.post("/bob/pipelines/img/editor/run", {"v-photo-carried": str(run.uid)})
    assert answer.status_code == 400
    assert "is not one of this pipeline's runs you can see" in answer.json()["errors"]["v-photo"][0]
    page = bob_client.get(f"/bob/pipelines/img/editor?inputs={run.uid}").content.decode()
    assert "v-photo-carried" not in page and "holiday.png" not in page


# --- downloads ----------------------------------------------------------------------


def _report_run(client, alice, make_pipeline) -> PipelineRun:
    make_pipeline(alice, "docs", raw_recipe=DOCUMENT_RECIPE)
    upload = SimpleUploadedFile("report.pdf", b"%PDF-1.4\n% a tiny report\n", content_type="application/pdf")
    assert client.post("/alice/pipelines/docs/run", {"v-report": upload}, HTTP_HX_REQUEST="true").status_code == 200
    return PipelineRun.objects.get()


def test_an_inline_file_is_offered_under_its_own_name(alice_client, alice, make_pipeline):
    run = _report_run(alice_client, alice, make_pipeline)
    page = alice_client.get(f"/alice/pipelines/docs/runs/{run.uid}/").content.decode()
    assert 'download="report.pdf"' in page and "file.pdf" not in page


def test_a_stored_file_downloads_under_its_own_name(alice_client, alice, make_pipeline, kept_on_disk):
    run = _report_run(alice_client, alice, make_pipeline)
    page = alice_client.get(f"/alice/pipelines/docs/runs/{run.uid}/").content.decode()
    name = run.inputs[0]["report"]["@file"]["name"]
    assert f"/v1beta/pipeline-runs/{run.uid}/files/{name}" in page
    download = alice_client.get(f"/v1beta/pipeline-runs/{run.uid}/files/{name}")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert download["Content-Type"] == "application/pdf"
