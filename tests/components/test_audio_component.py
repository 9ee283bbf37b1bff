"""The audio component: voice activity detection finds the spoken parts of generated
speech at the right times, and segmenting cuts them out (tests/media.py makes the
speech with espeak-ng)."""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.components import default_registry
from pipelines.components.audio import COMPONENT
from pipelines.engine import File, execute, parse_recipe
from pipelines.engine.components import ComponentError, TaskContext
from tests import media

# Instill's example recipe for the audio component (pkg/component/operator/audio/v0/
# README.mdx, "Example Recipes", instill-ai/pipeline-backend at bd2948d9), unchanged.
INSTILL_EXAMPLE = """
version: v1beta
component:
  audio-vad:
    type: audio
    input:
      audio: ${variable.audio}
      min-silence-duration: 300
      speech-pad: 10
    task: TASK_DETECT_ACTIVITY
  audio-segment:
    type: audio
    input:
      audio: ${variable.audio}
      segments: ${audio-vad.output.segments}
    task: TASK_SEGMENT
variable:
  audio:
    title: Audio to test
    description: Audio to test VAD and extraction
    type: audio
output:
  samples:
    title: Output audio segments
    description: Output extracted audio segments
    value: ${audio-segment.output.audio-segments}
"""


def run(task: str, input: dict[str, Any]) -> dict[str, Any]:
    return COMPONENT.tasks[task].run(input, TaskContext(component_id="a", task=task))  # type: ignore[return-value]


def speech_file() -> File:
    return File(media.speech().wav, filename="speech.wav")


def wav_duration(file: File) -> float:
    with wave.open(io.BytesIO(file.read())) as reader:
        return reader.getnframes() / reader.getframerate()


def spans(segments: list[dict[str, float]]) -> list[tuple[float, float]]:
    return [(s["start-time"], s["end-time"]) for s in segments]


def covers(segment: tuple[float, float], spoken: tuple[float, float], slack: float = 0.15) -> bool:
    """The segment holds the spoken part, and at most ``slack`` s more on either side."""
    (start, end), (first, last) = segment, spoken
    return first - slack <= start <= first + 0.05 and last - 0.05 <= end <= last + slack


def test_tasks_and_fields_are_instills() -> None:
    assert set(COMPONENT.tasks) == {"TASK_DETECT_ACTIVITY", "TASK_SEGMENT"}
    assert all(task.blocking for task in COMPONENT.tasks.values())
    vad = COMPONENT.tasks["TASK_DETECT_ACTIVITY"].input_schema["properties"]
    assert vad["min-silence-duration"]["default"] == 100 and vad["speech-pad"]["default"] == 30
    assert set(COMPONENT.tasks["TASK_SEGMENT"].output_schema["properties"]) == {"audio-segments"}
    assert default_registry().get("audio") is COMPONENT


def test_detects_each_spoken_phrase_at_its_time() -> None:
    speech = media.speech()
    segments = spans(run("TASK_DETECT_ACTIVITY", {"audio": speech_file()})["segments"])
    assert len(segments) == 2, segments
    for segment, spoken in zip(segments, speech.spoken, strict=True):
        assert covers(segment, spoken), (segment, spoken)


def test_a_longer_minimum_silence_joins_phrases_and_the_pad_widens_them() -> None:
    speech = media.speech()  # 1.5 s between the phrases
    joined = spans(run("TASK_DETECT_ACTIVITY", {"audio": speech_file(), "min-silence-duration": 2000})["segments"])
    assert len(joined) == 1
    assert joined[0][0] < speech.spoken[0][0] and joined[0][1] > speech.spoken[1][1] - 0.05
    tight = spans(run("TASK_DETECT_ACTIVITY", {"audio": speech_file(), "speech-pad": 0})["segments"])
    padded = spans(run("TASK_DETECT_ACTIVITY", {"audio": speech_file(), "speech-pad": 200})["segments"])
    for (a, b), (c, d) in zip(tight, padded, strict=True):
        assert c == pytest.approx(a - 0.2, abs=0.001) and d == pytest.approx(b + 0.2, abs=0.001)


def test_silence_has_no_speech() -> None:
    silence = io.BytesIO()
    with wave.open(silence, "wb") as writer:
        writer.setnchannels(1), writer.setsampwidth(2), writer.setframerate(16000)
        writer.writeframes(b"\0\0" * 32000)
    assert run("TASK_DETECT_ACTIVITY", {"audio": File(silence.getvalue())}) == {"segments": []}


def test_other_formats_go_through_ffmpeg_and_16k_wav_needs_no_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    speech = media.speech()
    ogg = File(media.convert(speech.wav, "-c:a", "libvorbis", "-f", "ogg"), filename="speech.ogg")
    assert ogg.mime_type == "audio/ogg"
    from_ogg = spans(run("TASK_DETECT_ACTIVITY", {"audio": ogg.data_uri()})["segments"])
    assert len(from_ogg) == 2 and all(map(covers, from_ogg, speech.spoken))

    stereo_16k = File(media.convert(speech.wav, "-ar", "16000", "-ac", "2", "-f", "wav"))
    monkeypatch.setenv("PATH", "/nonexistent")
    found = spans(run("TASK_DETECT_ACTIVITY", {"audio": stereo_16k})["segments"])
    assert len(found) == 2 and all(map(covers, found, speech.spoken))
    with pytest.raises(ComponentError, match=r"TASK_DETECT_ACTIVITY needs ffmpeg.*apt-get install ffmpeg"):
        run("TASK_DETECT_ACTIVITY", {"audio": ogg})


def test_segment_cuts_the_audio_at_the_given_times() -> None:
    result = run(
        "TASK_SEGMENT",
        {
            "audio": speech_file(),
            "segments": [{"start-time": 0.5, "end-time": 1.75}, {"start-time": 3, "end-time": 99}],
        },
    )
    first, second = result["audio-segments"]
    assert first.mime_type == "audio/wav" and first.filename == "audio-segment-0.wav"
    assert wav_duration(first) == pytest.approx(1.25, abs=0.001)
    assert wav_duration(second) == pytest.approx(media.speech().duration - 3, abs=0.001)  # up to the end


def test_segments_adding_up_to_too_much_audio_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every piece is held in memory: segments that ask for the file over and over
    are refused before any is cut, naming ``segments``."""
    monkeypatch.setattr("pipelines.components.audio.MAX_SEGMENTS_BYTES", 1024 * 1024)
    audio = speech_file()
    whole = {"start-time": 0, "end-time": 99}
    size = len(audio.read())
    with pytest.raises(ComponentError, match=r"`segments` add up to more than 1 MB of audio"):
        run("TASK_SEGMENT", {"audio": audio, "segments": [whole] * (2 * 1024 * 1024 // size + 1)})
    assert len(run("TASK_SEGMENT", {"audio": audio, "segments": [whole]})["audio-segments"]) == 1


async def test_instills_example_recipe_cuts_out_each_phrase() -> None:
    """Instill's recipe, run by the engine (its tasks in the task processes)."""
    registry = default_registry()
    recipe = parse_recipe(yaml.safe_load(INSTILL_EXAMPLE), registry=registry)
    speech = media.speech()
    result = await execute(recipe, recipe.bind_rows([{"audio": File(speech.wav).data_uri()}]), registry=registry)
    assert not result.failed, result.error_message
    samples = result.rows[0].outputs["samples"]
    assert len(samples) == 2
    for sample, (first, last) in zip(samples, speech.spoken, strict=True):
        assert sample.mime_type == "audio/wav"
        assert last - first + 0.02 <= wav_duration(sample) <= last - first + 0.3


@pytest.mark.parametrize(
    ("task", "input", "message"),
    [
        ("TASK_DETECT_ACTIVITY", {}, r"`audio` is missing"),
        ("TASK_DETECT_ACTIVITY", {"audio": File(b"just text")}, r"`audio` must be an audio file, got text/plain"),
        ("TASK_DETECT_ACTIVITY", {"audio": "data:audio/wav;base64,@@"}, r"`audio` is not a data URI or base64"),
        ("TASK_DETECT_ACTIVITY", {"min-silence-duration": -1}, r"`min-silence-duration` must be 0 or more"),
        ("TASK_DETECT_ACTIVITY", {"speech-pad": 1.5}, r"`speech-pad` must be a whole number"),
        ("TASK_DETECT_ACTIVITY", {"audio": File(b"OggS" + b"\0" * 100)}, r"ffmpeg failed decoding the audio"),
        ("TASK_SEGMENT", {}, r"`segments` is missing"),
        ("TASK_SEGMENT", {"segments": [{"start-time": 2, "end-time": 1}]}, r"`segments\[0\].end-time` \(1\)"),
        ("TASK_SEGMENT", {"segments": [{"start-time": 0}]}, r"`segments\[0\].end-time` is missing"),
        ("TASK_SEGMENT", {"segments": [{"start-time": "a", "end-time": 1}]}, r"`segments\[0\].start-time` must be"),
    ],
)
def test_bad_input_is_a_clear_error(task: str, input: dict[str, Any], message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        run(task, {"audio": speech_file(), **input} if input else input)


INSTILL_FIXTURES = Path(__file__).parent / "fixtures" / "instill-audio"


def test_instills_voice_sample_gives_instills_phrases() -> None:
    """Instill's own VAD test (voice1, min-silence-duration 500, speech-pad 100): the
    same five phrases, each starting within 0.05 s of where Instill's Silero detector
    starts it. Ends differ more: WebRTC's detector counts the short noises after a
    phrase as speech (Silero ends the last phrase at 18.6 s, this one at the end of
    the recording, 20 s), so they are checked only to cover Instill's."""
    voice = File((INSTILL_FIXTURES / "voice1.flac").read_bytes(), filename="voice1.flac")
    expected = spans(json.loads((INSTILL_FIXTURES / "voice1-activity-segments.json").read_text())["segments"])
    found = spans(
        run("TASK_DETECT_ACTIVITY", {"audio": voice, "min-silence-duration": 500, "speech-pad": 100})["segments"]
    )
    assert len(found) == len(expected) == 5
    for (start, end), (instill_start, instill_end) in zip(found, expected, strict=True):
        assert start == pytest.approx(instill_start, abs=0.05)
        assert end >= instill_end - 0.25
    # Instill's segment test: its five segments give five audio files, each as long as its segment.
    segments = [{"start-time": start, "end-time": end} for start, end in expected]
    pieces = run("TASK_SEGMENT", {"audio": voice, "segments": segments})
    assert [round(wav_duration(p), 3) for p in pieces["audio-segments"]] == [round(b - a, 3) for a, b in expected]
