"""The video component on ffmpeg: a generated clip (2 s red, then 2 s blue, with a
440 Hz tone; tests/media.py) is cut, subsampled, split into its sound and its frames,
and given a new sound track — checked as a person would: durations, sizes, frame
counts and colours."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from pipelines.components import default_registry
from pipelines.components.video import COMPONENT, MAX_FRAMES
from pipelines.engine import File, execute, parse_recipe
from pipelines.engine.components import ComponentError, TaskContext
from tests import media

RED, BLUE = (255, 0, 0), (0, 0, 255)


def run(task: str, input: dict[str, Any]) -> dict[str, Any]:
    return COMPONENT.tasks[task].run(input, TaskContext(component_id="v", task=task))  # type: ignore[return-value]


def clip(**kwargs: Any) -> File:
    return File(media.clip(**kwargs), filename="clip.mp4")


def colour(frame: File) -> tuple[int, int, int]:
    assert frame.mime_type == "image/png"
    image = Image.open(io.BytesIO(frame.read())).convert("RGB")
    return image.getpixel((image.width // 2, image.height // 2))  # type: ignore[return-value]


def near(actual: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - e) <= 40 for a, e in zip(actual, expected, strict=True))


def test_tasks_are_instills() -> None:
    assert set(COMPONENT.tasks) == {
        "TASK_SEGMENT",
        "TASK_SUBSAMPLE",
        "TASK_EXTRACT_AUDIO",
        "TASK_EXTRACT_FRAMES",
        "TASK_EMBED_AUDIO",
    }
    assert all(task.blocking for task in COMPONENT.tasks.values())
    assert set(COMPONENT.tasks["TASK_SUBSAMPLE"].input_schema["properties"]) == {
        "video",
        "video-bitrate",
        "audio-bitrate",
        "fps",
        "width",
        "height",
    }
    assert default_registry().get("video") is COMPONENT


def test_segment_cuts_clips_of_the_given_times() -> None:
    result = run(
        "TASK_SEGMENT",
        {"video": clip(), "segments": [{"start-time": 0, "end-time": 1.5}, {"start-time": 2.5, "end-time": 10}]},
    )
    first, second = result["video-segments"]
    assert first.mime_type == "video/mp4" and first.filename == "clip-segment-0.mp4"
    assert media.duration(first.read()) == pytest.approx(1.5, abs=0.11)
    assert media.duration(second.read()) == pytest.approx(1.5, abs=0.11)  # up to the end at 4 s
    assert int(media.stream(first.read(), "video")["nb_read_frames"]) == 15
    # What each clip shows: red in the first, blue in the second.
    assert near(colour(run("TASK_EXTRACT_FRAMES", {"video": first, "timestamps": [0.5]})["frames"][0]), RED)
    assert near(colour(run("TASK_EXTRACT_FRAMES", {"video": second, "timestamps": [0.5]})["frames"][0]), BLUE)


def test_segments_adding_up_to_too_much_video_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every piece is held in memory: segments that ask for the video over and over
    stop at the limit, naming ``segments``."""
    video = clip()
    monkeypatch.setattr("pipelines.components.video.MAX_SEGMENTS_BYTES", 2 * len(video.read()))
    whole = {"start-time": 0, "end-time": 10}
    with pytest.raises(ComponentError, match=r"`segments` add up to more than .* MB of video"):
        run("TASK_SEGMENT", {"video": video, "segments": [whole] * 4})
    assert len(run("TASK_SEGMENT", {"video": video, "segments": [whole]})["video-segments"]) == 1


def test_segment_without_segments_is_the_whole_video() -> None:
    video = clip()
    assert run("TASK_SEGMENT", {"video": video})["video-segments"] == [video]
    assert run("TASK_SEGMENT", {"video": video, "segments": []})["video-segments"] == [video]


def test_subsample_lowers_the_frame_rate_and_size() -> None:
    video = run("TASK_SUBSAMPLE", {"video": clip(), "fps": 5, "width": 32})["video"]
    stream = media.stream(video.read(), "video")
    assert (stream["width"], stream["height"]) == (32, 24)
    assert stream["avg_frame_rate"] == "5/1"
    assert int(stream["nb_read_frames"]) == pytest.approx(4 * 5, abs=2)  # 4 s at 5 fps
    assert media.stream(video.read(), "audio") is not None
    low = run("TASK_SUBSAMPLE", {"video": clip(), "audio-bitrate": 32})["video"]
    assert int(media.stream(low.read(), "audio")["bit_rate"]) <= 40_000


def test_extract_audio_gives_the_sound_alone() -> None:
    audio = run("TASK_EXTRACT_AUDIO", {"video": clip()})["audio"]
    assert audio.mime_type == "audio/ogg" and audio.filename == "clip-audio.ogg"
    assert media.stream(audio.read(), "video") is None
    assert media.duration(audio.read()) == pytest.approx(4, abs=0.1)
    with pytest.raises(ComponentError, match="The video has no audio track"):
        run("TASK_EXTRACT_AUDIO", {"video": clip(tone=False)})


def test_extract_frames_at_an_interval_and_at_timestamps() -> None:
    frames = run("TASK_EXTRACT_FRAMES", {"video": clip(), "interval": 1})["frames"]
    assert [f.filename for f in frames] == [f"frame-{i:04d}.png" for i in range(4)]
    assert [near(colour(f), RED) for f in frames] == [True, True, False, False]
    assert all(near(colour(f), BLUE) for f in frames[2:])
    frames = run("TASK_EXTRACT_FRAMES", {"video": clip(), "timestamps": [3.5, 0.2]})["frames"]
    assert near(colour(frames[0]), BLUE) and near(colour(frames[1]), RED)


def test_embed_audio_gives_a_silent_video_a_sound_track() -> None:
    sound = run("TASK_EXTRACT_AUDIO", {"video": clip()})["audio"]
    silent = clip(tone=False)
    assert media.stream(silent.read(), "audio") is None
    video = run("TASK_EMBED_AUDIO", {"video": silent, "audio": sound})["video"]
    assert video.mime_type == "video/mp4"
    assert media.stream(video.read(), "audio")["codec_name"] == "aac"
    assert media.stream(video.read(), "video")["codec_name"] == "h264"


@pytest.mark.parametrize(
    ("task", "input", "message"),
    [
        ("TASK_SEGMENT", {"video": None}, r"`video` is missing"),
        ("TASK_SEGMENT", {"video": File(b"text")}, r"`video` must be a video file, got text/plain"),
        ("TASK_SEGMENT", {"segments": [{"start-time": 9, "end-time": 12}]}, r"start-time` \(9 s\) is past the end"),
        ("TASK_SEGMENT", {"segments": [{"start-time": 1, "end-time": 1}]}, r"`segments\[0\].end-time` \(1\) must be"),
        ("TASK_SUBSAMPLE", {}, r"at least one of video-bitrate, audio-bitrate, fps, width or height"),
        ("TASK_SUBSAMPLE", {"fps": -1}, r"`fps` must not be negative"),
        ("TASK_SUBSAMPLE", {"width": 10.5}, r"`width` must be a whole number"),
        ("TASK_SUBSAMPLE", {"fps": float("inf")}, r"`fps` must be a finite number"),
        ("TASK_SUBSAMPLE", {"width": 1e12}, r"`width` may be at most 16384 pixels"),
        ("TASK_EXTRACT_FRAMES", {}, r"either interval or timestamps must be provided"),
        ("TASK_EXTRACT_FRAMES", {"interval": 1, "timestamps": [1]}, r"cannot be used together"),
        ("TASK_EXTRACT_FRAMES", {"timestamps": [1, 9]}, r"`timestamps\[1\]` \(9 s\) is past the end"),
        ("TASK_EXTRACT_FRAMES", {"timestamps": ["x"]}, r"`timestamps\[0\]` must be a number"),
        ("TASK_EXTRACT_FRAMES", {"timestamps": [0] * (MAX_FRAMES + 1)}, r"at most 1000 frames"),
        ("TASK_EMBED_AUDIO", {}, r"`audio` is missing"),
        (
            "TASK_EXTRACT_AUDIO",
            {"video": File(b"\0\0\0\x18ftypisom" + b"\1" * 200)},
            r"ffmpeg failed extracting the audio: the file is not an audio or video file",
        ),
    ],
)
def test_bad_input_is_a_clear_error(task: str, input: dict[str, Any], message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        run(task, {"video": clip(), **input})


def test_a_playlist_posing_as_a_video_is_not_followed(tmp_path) -> None:
    """ffmpeg reads only the file written for it: an HLS or concat playlist naming
    another file (uploaded as video/mp4) is refused, not followed."""
    other = tmp_path / "other.mp4"
    other.write_bytes(media.clip())
    for playlist, kind in (
        (f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nfile:{other}\n#EXT-X-ENDLIST\n", "hls"),
        (f"ffconcat version 1.0\nfile {other}\n", "concat"),
    ):
        with pytest.raises(ComponentError, match=rf"the file is {kind} data, which this server does not read"):
            run("TASK_EXTRACT_AUDIO", {"video": File(playlist.encode(), mime_type="video/mp4")})


def test_without_ffmpeg_each_task_says_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    video = clip()
    monkeypatch.setenv("PATH", "/nonexistent")
    inputs = {
        "TASK_SEGMENT": {"segments": [{"start-time": 0, "end-time": 1}]},
        "TASK_SUBSAMPLE": {"fps": 5},
        "TASK_EXTRACT_AUDIO": {},
        "TASK_EXTRACT_FRAMES": {"interval": 1},
        "TASK_EMBED_AUDIO": {"audio": File(b"OggS" + b"\0" * 50)},
    }
    for task, input in inputs.items():
        with pytest.raises(ComponentError) as caught:
            run(task, {"video": video, **input})
        assert str(caught.value) == (
            f"The video component's {task} needs ffmpeg, which is not installed on this server "
            "(Debian: apt-get install ffmpeg)."
        )


async def test_a_recipe_extracts_frames_in_the_task_processes() -> None:
    registry = default_registry()
    recipe = parse_recipe(
        {
            "variable": {"clip": {"type": "video"}},
            "component": {
                "frames": {
                    "type": "video",
                    "task": "TASK_EXTRACT_FRAMES",
                    "input": {"video": "${variable.clip}", "interval": 2},
                }
            },
            "output": {"frames": {"value": "${frames.output.frames}"}},
        },
        registry=registry,
    )
    result = await execute(recipe, recipe.bind_rows([{"clip": clip().data_uri()}]), registry=registry)
    assert not result.failed, result.error_message
    frames = result.rows[0].outputs["frames"]
    assert [near(colour(f), c) for f, c in zip(frames, (RED, BLUE), strict=True)] == [True, True]


def test_ffmpeg_dies_with_the_task_process_that_started_it(tmp_path) -> None:
    """A run stopped at its time limit (or cancelled) kills its task process; the ffmpeg
    it started goes with it instead of running on."""
    import os
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "clip.mp4").write_bytes(media.clip())
    script = f"""
from pipelines.components.media import workdir
from pipelines.engine.values import File
with workdir("video", "TASK_SUBSAMPLE") as wd:
    source = wd.write(File(open({str(tmp_path / "clip.mp4")!r}, "rb").read()))
    wd.ffmpeg([(("-stream_loop", "-1"), source)], ["-f", "null", "-"], what="looping")
"""
    task = subprocess.Popen([sys.executable, "-c", script], cwd=os.getcwd())

    def ffmpeg_children() -> list[str]:
        found = subprocess.run(["pgrep", "-P", str(task.pid), "ffmpeg"], capture_output=True, text=True)
        return found.stdout.split()

    deadline = time.monotonic() + 10
    while not ffmpeg_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    [ffmpeg] = ffmpeg_children()
    os.kill(task.pid, signal.SIGKILL)
    task.wait()
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{ffmpeg}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{ffmpeg}")


def test_the_server_starts_without_ffmpeg() -> None:
    """What serve loads before it listens (its ASGI application and the registry) needs
    no ffmpeg: audio and video are registered on a PATH without it."""
    import os
    import subprocess
    import sys

    from tests.components.test_lazy_imports import ROOT, SERVE

    code = SERVE + "print(sorted({'audio', 'video'} & set(default_registry().types())))\n"
    env = {**os.environ, "PATH": "/nonexistent"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "['audio', 'video']"
