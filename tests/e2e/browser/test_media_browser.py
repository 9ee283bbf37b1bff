"""Audio and video in a real browser, at a desktop (1280x900) and a phone (390x844)
size: an audio and a video file uploaded on the Overview are previewed in players,
the run's outputs (the files themselves and what the audio and video components made
of them) play on the Overview and on the run's page — small files inline, larger ones
from the run's kept files."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import media
from tests.e2e.browser import test_run_panels_browser as panels

pytestmark = pytest.mark.e2e

SIZES = panels.SIZES
sized = panels.sized  # the page signed in, at each of SIZES (a fixture)

MEDIA_RECIPE = """\
version: v1beta
variable:
  voice: {title: Voice, type: audio, required: true}
  clip: {title: Clip, type: video, required: true}
component:
  sound:
    type: video
    task: TASK_EXTRACT_AUDIO
    input: {video: "${variable.clip}"}
  cut:
    type: audio
    task: TASK_SEGMENT
    input:
      audio: "${variable.voice}"
      segments: [{start-time: 1, end-time: 2.5}]
output:
  voice: {title: Voice, value: "${variable.voice}"}
  clip: {title: Clip, value: "${variable.clip}"}
  sound: {title: Sound of the clip, value: "${sound.output.audio}"}
  cut: {title: Cut, value: "${cut.output.audio-segments[0]}"}
"""


def playable(page, selector: str) -> float:
    """Waits until the player at ``selector`` has loaded its media's metadata (what the
    browser needs to play it); its duration in seconds."""
    page.wait_for_function(
        "(s) => { const m = document.querySelector(s); return m && m.readyState >= 1 && !m.error; }",
        arg=selector,
        timeout=15_000,
    )
    return page.eval_on_selector(selector, "(m) => m.duration")


def test_uploaded_audio_and_video_preview_and_play_in_the_result_and_on_the_run_page(sized, make_pipeline):
    page = sized
    speech = media.speech()
    page.goto(make_pipeline(f"media-{page.size}", MEDIA_RECIPE))
    page.get_by_label("Voice").set_input_files({"name": "speech.wav", "mimeType": "audio/wav", "buffer": speech.wav})
    page.get_by_label("Clip").set_input_files({"name": "clip.mp4", "mimeType": "video/mp4", "buffer": media.clip()})
    # Previews of the chosen files, ready to play before anything is sent.
    assert playable(page, "#preview-v-voice audio") == pytest.approx(speech.duration, abs=0.05)
    assert playable(page, "#preview-v-clip video") == pytest.approx(4, abs=0.1)
    expect(page.locator("#preview-v-clip video")).to_be_visible()

    page.get_by_role("button", name="Run").click()
    expect(page.locator("#overview-status")).to_have_text("Completed", timeout=30_000)
    outputs = "#overview-outputs"
    # The speech (over 64 KB) comes from the run's kept files, the rest inline.
    expect(page.locator(f"{outputs} [data-output=voice] audio")).to_have_attribute(
        "src", re.compile(r"^/v1beta/pipeline-runs/.+/files/.+-speech\.wav$")
    )
    expect(page.locator(f"{outputs} [data-output=voice] a.file-link")).to_have_text("⭳ speech.wav")
    expect(page.locator(f"{outputs} [data-output=clip] video")).to_have_attribute(
        "src", re.compile(r"^data:video/mp4;")
    )
    durations = {
        "voice": (f"{outputs} [data-output=voice] audio", speech.duration),
        "clip": (f"{outputs} [data-output=clip] video", 4),
        "sound": (f"{outputs} [data-output=sound] audio", 4),
        "cut": (f"{outputs} [data-output=cut] audio", 1.5),
    }
    for selector, seconds in durations.values():
        assert playable(page, selector) == pytest.approx(seconds, abs=0.1), selector
    video = page.locator(f"{outputs} [data-output=clip] video")
    expect(video).to_be_visible()
    box = video.bounding_box()
    assert box is not None and box["width"] <= SIZES[page.size]["width"]  # fits a phone's width

    # The run's page plays them too (the page renders them on the server).
    page.locator("#overview-run-link").click()
    expect(page.locator(".result-head")).to_be_visible()
    for name, (_, seconds) in durations.items():
        kind = "video" if name == "clip" else "audio"
        selector = f"[data-output={name}] {kind}"
        assert playable(page, selector) == pytest.approx(seconds, abs=0.1), selector
    assert playable(page, "[data-input=voice] audio") == pytest.approx(speech.duration, abs=0.05)
    assert playable(page, "[data-input=clip] video") == pytest.approx(4, abs=0.1)
    # Playing works, not only loading: the clip plays (muted: no autoplay rules apply).
    page.eval_on_selector("[data-output=clip] video", "(m) => { m.muted = true; return m.play(); }")
    page.wait_for_function("() => document.querySelector('[data-output=clip] video').currentTime > 0.2")
