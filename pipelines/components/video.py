"""The ``video`` operator on ffmpeg (Instill ``video`` v0): segment, subsample,
extract the audio, extract frames, embed an audio track.

Every task runs ffmpeg in the task processes through :mod:`.media` (inputs are
files it writes, with time and size limits); ffmpeg is an optional system
dependency, and a task run without it says so. Videos come out as MP4 (H.264 and
AAC), the audio as Ogg Vorbis, frames as PNG, as in Instill. Segments are cut at
the exact times given (re-encoded), where Instill copies the streams and cuts at
the nearest key frames.
"""

from __future__ import annotations

import math
import os
from typing import Any

from pipelines.components.media import (
    MAX_SEGMENTS_BYTES,
    SEGMENT,
    Workdir,
    media_file,
    seconds,
    segments_of,
    too_much,
    workdir,
)
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext
from pipelines.engine.values import File

#: The most frames TASK_EXTRACT_FRAMES returns.
MAX_FRAMES = 1000
#: How videos are written: H.264 and AAC in MP4, playable in every browser.
VIDEO_CODECS = ("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac")
MP4 = ("-movflags", "+faststart", "-f", "mp4")


def _video(description: str) -> dict[str, Any]:
    return {"title": "Video", "description": description, "instillAcceptFormats": ["video/*"]}


def _schema(properties: dict[str, Any], required: list[str], title: str = "Input") -> dict[str, Any]:
    return {"type": "object", "title": title, "properties": properties, "required": required}


def _subsample_field(kind: str, title: str, description: str) -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "description": f"{description} Must provide at least one of: video-bitrate, audio-bitrate, fps, width, "
        "or height.",
    }


SEGMENT_INPUT = _schema(
    {
        "video": _video(
            "The source video file to be segmented. This video will be split into multiple clips based on the "
            "specified time segments."
        ),
        "segments": {
            "type": "array",
            "title": "Segments",
            "description": "An array of time segments defining the portions of the video to be extracted. Each "
            "segment specifies a start and end time, and the task will create separate video clips for each of "
            "these segments. If not provided, the entire video will be treated as a single segment.",
            "items": SEGMENT,
        },
    },
    ["video"],
)
SEGMENT_OUTPUT = _schema(
    {
        "video-segments": {
            "type": "array",
            "title": "Videos",
            "description": "An array of video clips resulting from the segmentation process.",
            "items": {"instillFormat": "video/mp4"},
        }
    },
    ["video-segments"],
    "Output",
)
SUBSAMPLE_INPUT = _schema(
    {
        "video": _video("The source video file to be subsampled."),
        "video-bitrate": _subsample_field(
            "number", "Video Bitrate", "The target video bitrate for the subsampled video, in kilobits per second."
        ),
        "audio-bitrate": _subsample_field(
            "number", "Audio Bitrate", "The target audio bitrate for the subsampled video, in kilobits per second."
        ),
        "fps": _subsample_field(
            "number", "FPS", "The target frame rate for the subsampled video, in frames per second."
        ),
        "width": _subsample_field(
            "integer",
            "Width",
            "The width of the subsampled video, in pixels. If only width is provided, height is auto-calculated "
            "to maintain aspect ratio.",
        ),
        "height": _subsample_field(
            "integer",
            "Height",
            "The height of the subsampled video, in pixels. If only height is provided, width is auto-calculated "
            "to maintain aspect ratio.",
        ),
    },
    ["video"],
)
VIDEO_OUTPUT = _schema(
    {"video": {"title": "Video", "description": "The resulting video.", "instillFormat": "video/mp4"}},
    ["video"],
    "Output",
)
EXTRACT_AUDIO_INPUT = _schema(
    {
        "video": _video(
            "The source video file from which the audio will be extracted. The video's visual content will be "
            "discarded, and only the audio track will be processed."
        )
    },
    ["video"],
)
EXTRACT_AUDIO_OUTPUT = _schema(
    {
        "audio": {
            "title": "Audio",
            "description": "The extracted audio data from the input video (Ogg Vorbis).",
            "instillFormat": "audio/ogg",
        }
    },
    ["audio"],
    "Output",
)
EXTRACT_FRAMES_INPUT = _schema(
    {
        "video": _video("The source video file from which frames will be extracted."),
        "interval": {
            "type": "number",
            "title": "Interval",
            "description": "The time interval between extracted frames, in seconds. If specified, frames will be "
            "extracted at regular intervals throughout the video. This parameter is mutually exclusive with "
            "`timestamps`.",
        },
        "timestamps": {
            "type": "array",
            "title": "Timestamps",
            "description": "An array of specific timestamps (in seconds) at which to extract frames from the video. "
            "This parameter is mutually exclusive with `interval`.",
            "items": {"type": "number"},
        },
    },
    ["video"],
)
EXTRACT_FRAMES_OUTPUT = _schema(
    {
        "frames": {
            "type": "array",
            "title": "Frames",
            "description": "Extracted video frames.",
            "items": {"title": "Frame", "instillFormat": "image/png"},
        }
    },
    ["frames"],
    "Output",
)
EMBED_AUDIO_INPUT = _schema(
    {
        "audio": {"title": "Audio", "description": "Audio data to embed to video", "instillAcceptFormats": ["audio/*"]},
        "video": _video("Video input to be embedded with provided audio"),
    },
    ["video", "audio"],
)


def _read(path: str, mime: str, filename: str) -> File:
    with open(path, "rb") as fh:
        return File(fh.read(), mime_type=mime, filename=filename)


def _stem(file: File) -> str:
    stem = os.path.splitext(os.path.basename(file.filename or ""))[0]
    return stem or "video"


def segment(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    video = media_file(input.get("video"), "video", "video")
    raw = input.get("segments")
    if raw is None or raw == []:
        return {"video-segments": [video]}
    pairs = segments_of(raw)
    stem = _stem(video)
    pieces = []
    size = 0
    with workdir("video", ctx.task) as wd:
        source = wd.write(video)
        length = wd.duration(source)
        for i, (start, end) in enumerate(pairs):
            if length is not None and start >= length:
                raise ComponentError(
                    f"`segments[{i}].start-time` ({start:g} s) is past the end of the video ({length:g} s)."
                )
            target = wd.out(f"segment-{i}.mp4")
            wd.ffmpeg(
                [(("-ss", seconds(start), "-to", seconds(end if length is None else min(end, length))), source)],
                [*VIDEO_CODECS, *MP4, target],
                what=f"cutting segment {i} ({start:g}-{end:g} s)",
            )
            size += os.path.getsize(target)
            if size > MAX_SEGMENTS_BYTES:
                raise too_much("video", MAX_SEGMENTS_BYTES)
            pieces.append(_read(target, "video/mp4", f"{stem}-segment-{i}.mp4"))
            os.remove(target)
    return {"video-segments": pieces}


#: The largest width or height asked for (ffmpeg's encoders stop at 16384 and less).
_MAX_PIXELS = 16384


def _positive(input: dict[str, Any], key: str, *, integer: bool = False) -> float:
    value = input.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ComponentError(f"`{key}` must be a number, got {value!r}.")
    if not math.isfinite(value):
        raise ComponentError(f"`{key}` must be a finite number, got {value!r}.")
    if integer and not float(value).is_integer():
        raise ComponentError(f"`{key}` must be a whole number of pixels, got {value!r}.")
    if integer and value > _MAX_PIXELS:
        raise ComponentError(f"`{key}` may be at most {_MAX_PIXELS} pixels, got {value:g}.")
    if value < 0:
        raise ComponentError(f"`{key}` must not be negative, got {value:g}.")
    return float(value)


def subsample(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    video_bitrate, audio_bitrate = _positive(input, "video-bitrate"), _positive(input, "audio-bitrate")
    fps = _positive(input, "fps")
    width, height = int(_positive(input, "width", integer=True)), int(_positive(input, "height", integer=True))
    if not (video_bitrate or audio_bitrate or fps or width or height):
        raise ComponentError("at least one of video-bitrate, audio-bitrate, fps, width or height must be provided")
    options: list[str] = []
    if fps:
        options += ["-r", f"{fps:g}"]
    if video_bitrate:
        options += ["-b:v", f"{int(video_bitrate)}k"]
    if audio_bitrate:
        options += ["-b:a", f"{int(audio_bitrate)}k"]
    if width or height:
        # -2: the other side keeps the aspect ratio, rounded to the even size H.264 needs.
        options += ["-vf", f"scale={width or -2}:{height or -2}"]
    video = media_file(input.get("video"), "video", "video")
    with workdir("video", ctx.task) as wd:
        source = wd.write(video)
        target = wd.out("subsampled.mp4")
        wd.ffmpeg([((), source)], [*VIDEO_CODECS, *options, *MP4, target], what="subsampling the video")
        return {"video": _read(target, "video/mp4", f"{_stem(video)}-subsampled.mp4")}


def extract_audio(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    video = media_file(input.get("video"), "video", "video")
    with workdir("video", ctx.task) as wd:
        source = wd.write(video)
        target = wd.out("audio.ogg")
        _without_missing_stream(
            wd,
            [((), source)],
            ["-vn", "-c:a", "libvorbis", "-q:a", "5", "-f", "ogg", target],
            what="extracting the audio",
            missing="The video has no audio track.",
        )
        return {"audio": _read(target, "audio/ogg", f"{_stem(video)}-audio.ogg")}


def _without_missing_stream(
    wd: Workdir, inputs: list[tuple[tuple[str, ...], str]], outputs: list[str], *, what: str, missing: str
) -> None:
    """Run ffmpeg; a missing stream is ``missing``, in plain words."""
    try:
        wd.ffmpeg(inputs, outputs, what=what)
    except ComponentError as exc:
        if "has no such stream" in str(exc):
            raise ComponentError(missing) from None
        raise


def _interval_frames(wd: Workdir, source: str, interval: float) -> list[str]:
    # The first frame, then each first frame at least `interval` after the last one taken.
    selection = f"select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,{interval:.6f})'"
    wd.ffmpeg(
        [((), source)],
        ["-vf", selection, "-fps_mode", "vfr", "-frames:v", str(MAX_FRAMES + 1), wd.out("frame-%04d.png")],
        what="extracting frames",
    )
    names = sorted(name for name in os.listdir(wd.path) if name.startswith("frame-") and name.endswith(".png"))
    if len(names) > MAX_FRAMES:
        raise ComponentError(
            f"An interval of {interval:g} s gives more than {MAX_FRAMES} frames of this video; take a longer one."
        )
    return [wd.out(name) for name in names]


def _timestamp_frames(wd: Workdir, source: str, timestamps: list[float]) -> list[str]:
    paths = []
    for i, timestamp in enumerate(timestamps):
        target = wd.out(f"frame-{i:04d}.png")
        wd.ffmpeg(
            [(("-ss", seconds(timestamp)), source)],
            ["-frames:v", "1", "-update", "1", target],
            what=f"extracting the frame at {timestamp:g} s",
        )
        if not os.path.exists(target):
            raise ComponentError(f"`timestamps[{i}]` ({timestamp:g} s) is past the end of the video.")
        paths.append(target)
    return paths


def extract_frames(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    interval = _positive(input, "interval")
    raw = input.get("timestamps") or []
    if not isinstance(raw, list | tuple):
        raise ComponentError("`timestamps` must be an array of numbers of seconds.")
    timestamps = []
    for i, value in enumerate(raw):
        timestamp = _positive({f"timestamps[{i}]": value}, f"timestamps[{i}]")
        timestamps.append(timestamp)
    if interval and timestamps:
        raise ComponentError("interval and timestamps cannot be used together")
    if not interval and not timestamps:
        raise ComponentError("either interval or timestamps must be provided")
    if len(timestamps) > MAX_FRAMES:
        raise ComponentError(f"`timestamps` may name at most {MAX_FRAMES} frames, got {len(timestamps)}.")
    video = media_file(input.get("video"), "video", "video")
    with workdir("video", ctx.task) as wd:
        source = wd.write(video)
        paths = _interval_frames(wd, source, interval) if interval else _timestamp_frames(wd, source, timestamps)
        frames = [_read(path, "image/png", f"frame-{i:04d}.png") for i, path in enumerate(paths)]
    return {"frames": frames}


def embed_audio(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    video = media_file(input.get("video"), "video", "video")
    audio = media_file(input.get("audio"), "audio", "audio")
    with workdir("video", ctx.task) as wd:
        video_path, audio_path = wd.write(video), wd.write(audio)
        target = wd.out("embedded.mp4")
        _without_missing_stream(
            wd,
            [((), video_path), ((), audio_path)],
            ["-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", *MP4, target],
            what="embedding the audio",
            missing="The video has no picture, or the audio no sound track.",
        )
        return {"video": _read(target, "video/mp4", f"{_stem(video)}-with-audio.mp4")}


#: (name, title, description, input schema, output schema, run) of each task.
_TASKS: tuple[tuple[str, str, str, dict[str, Any], dict[str, Any], Any], ...] = (
    (
        "TASK_SEGMENT",
        "Segment",
        "Split a video into multiple shorter clips based on user-defined time segments.",
        SEGMENT_INPUT,
        SEGMENT_OUTPUT,
        segment,
    ),
    (
        "TASK_SUBSAMPLE",
        "Subsample",
        "Reduce video file size by adjusting frame rate, bitrate, and dimensions while maintaining visual content.",
        SUBSAMPLE_INPUT,
        VIDEO_OUTPUT,
        subsample,
    ),
    (
        "TASK_EXTRACT_AUDIO",
        "Extract Audio",
        "Extract the audio track from a video file, creating a standalone audio output.",
        EXTRACT_AUDIO_INPUT,
        EXTRACT_AUDIO_OUTPUT,
        extract_audio,
    ),
    (
        "TASK_EXTRACT_FRAMES",
        "Extract Frames",
        "Extract image frames from a video at regular intervals or specified timestamps.",
        EXTRACT_FRAMES_INPUT,
        EXTRACT_FRAMES_OUTPUT,
        extract_frames,
    ),
    (
        "TASK_EMBED_AUDIO",
        "Embed Audio",
        "Embed an audio to the existing video",
        EMBED_AUDIO_INPUT,
        VIDEO_OUTPUT,
        embed_audio,
    ),
)

COMPONENT = ComponentDefinition(
    type="video",
    title="Video",
    description="Operate video data.",
    tasks={
        name: Task(
            name=name,
            title=title,
            description=description,
            input_schema=input_schema,
            output_schema=output_schema,
            run=run,
            blocking=True,
        )
        for name, title, description, input_schema, output_schema, run in _TASKS
    },
)
