"""Audio and video variables through the API and the pages: data URIs and uploads are
taken as ``image`` ones are, anything else is refused naming the variable, and the run
page plays them (players for inline files and for files kept on disk)."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines.models import PipelineRun
from pipelines.templatetags.pipeline_ui import render_value
from tests import media

pytestmark = pytest.mark.django_db

RECIPE = """\
variable:
  voice: {title: Voice, type: audio}
  clip: {title: Clip, type: video}
output:
  voice: {value: "${variable.voice}"}
  clip: {value: "${variable.clip}"}
"""


def data_uri(mime: str, data: bytes, name: str | None = None) -> str:
    named = f";filename={name}" if name else ""
    return f"data:{mime}{named};base64,{base64.b64encode(data).decode()}"


def trigger(api, variables: dict) -> object:
    return api.post("/v1beta/namespaces/alice/pipelines/media/trigger", {"data": [{"variable": variables}]})


def test_data_uris_of_audio_and_video_run_and_other_files_are_refused(api, alice, make_pipeline):
    make_pipeline(alice, "media", raw_recipe=RECIPE)
    wav, mp4 = media.speech().wav, media.clip()
    answer = trigger(api, {"voice": data_uri("audio/wav", wav), "clip": data_uri("video/mp4", mp4)})
    assert answer.status_code == 200, answer.content
    outputs = answer.json()["outputs"][0]
    assert outputs["voice"].startswith("data:audio/wav;") and outputs["clip"].startswith("data:video/mp4;")
    assert base64.b64decode(outputs["clip"].split(",", 1)[1]) == mp4
    refused = trigger(api, {"voice": data_uri("text/plain", b"hello")})
    assert refused.status_code == 400
    assert "voice" in refused.json()["message"] and "audio" in refused.json()["message"]
    refused = trigger(api, {"clip": data_uri("audio/wav", wav)})
    assert refused.status_code == 400 and "clip" in refused.json()["message"]


def test_the_run_page_plays_uploaded_audio_and_video(alice_client, alice, make_pipeline, settings, tmp_path):
    settings.PIPELINE_DATA_DIR = str(tmp_path)
    make_pipeline(alice, "media", raw_recipe=RECIPE)
    voice = SimpleUploadedFile("speech.wav", media.speech().wav, content_type="audio/wav")  # > 64 KB: kept on disk
    clip = SimpleUploadedFile("clip.mp4", media.clip(), content_type="video/mp4")  # inline
    answer = alice_client.post("/alice/pipelines/media/run", {"v-voice": voice, "v-clip": clip}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    run = PipelineRun.objects.get()
    page = alice_client.get(f"/alice/pipelines/media/runs/{run.uid}/").content.decode()
    name = run.outputs[0]["voice"]["@file"]["name"]
    url = f"/v1beta/pipeline-runs/{run.uid}/files/{name}"
    assert f'<audio class="output-audio" controls preload="metadata" src="{url}"' in page
    assert '<video class="output-video" controls preload="metadata" src="data:video/mp4;' in page
    played = alice_client.get(url)
    assert played.status_code == 200 and played["Content-Type"] == "audio/wav"


def test_values_render_as_players_by_type() -> None:
    uid = "0f8e2c1a-5b7d-4e3f-9a6b-1c2d3e4f5a6b"
    assert render_value("data:audio/ogg;base64,T2dnUw==").startswith('<audio class="output-audio" controls')
    assert render_value("data:video/webm;base64,GkXfow==").startswith('<video class="output-video" controls')
    kept = render_value(f"/v1beta/pipeline-runs/{uid}/files/0123456789ab-talk.mp3")
    assert kept.startswith('<div class="output-file"><audio class="output-audio"') and 'download="talk.mp3"' in kept
    plain = render_value(f"/v1beta/pipeline-runs/{uid}/files/0123456789ab-notes.txt")
    assert plain.startswith('<a class="file-link"') and "<audio" not in plain
    # Quotes in a data URI cannot leave the attribute.
    assert '"><script' not in render_value('data:audio/wav;x="><script>,AA')


def test_a_kept_file_without_a_name_is_named_by_its_type(api, alice, make_pipeline, settings, tmp_path):
    settings.PIPELINE_DATA_DIR = str(tmp_path)
    settings.PIPELINE_RUN_FILE_INLINE_BYTES = 0
    make_pipeline(alice, "media", raw_recipe=RECIPE)
    assert trigger(api, {"clip": data_uri("video/mp4", media.clip())}).status_code == 200
    assert PipelineRun.objects.get().outputs[0]["clip"]["@file"]["name"].endswith("-file.mp4")


def test_the_catalog_lists_audio_and_video_with_instills_tasks(api) -> None:
    tasks = {}
    for component in ("audio", "video"):
        body = api.get(f"/v1beta/component-definitions/{component}").json()["componentDefinition"]
        assert body["id"] == component and body["type"] == "COMPONENT_TYPE_OPERATOR"
        tasks[component] = {task["name"] for task in body["tasks"]}
    assert tasks == {
        "audio": {"TASK_DETECT_ACTIVITY", "TASK_SEGMENT"},
        "video": {"TASK_SEGMENT", "TASK_SUBSAMPLE", "TASK_EXTRACT_AUDIO", "TASK_EXTRACT_FRAMES", "TASK_EMBED_AUDIO"},
    }
