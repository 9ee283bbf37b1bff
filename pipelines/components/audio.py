"""The ``audio`` operator: voice activity detection and segmenting (Instill ``audio`` v0).

``TASK_DETECT_ACTIVITY`` finds where people speak. The audio is brought to 16 kHz
mono (16-bit PCM WAV at 8, 16, 32 or 48 kHz is read as it is, anything else goes
through ffmpeg), and WebRTC's voice activity detector (``webrtcvad``) classifies
each 30 ms frame as speech or not. As Instill's Silero detector does, a segment
starts at the first speech frame and ends once silence has lasted
``min-silence-duration`` ms; each segment is then widened by ``speech-pad`` ms on
both sides (within the audio), and segments that the padding makes touch are
merged. Single speech frames (a click, a breath) make no segment.

``TASK_SEGMENT`` cuts the audio at the given times and returns each piece as a WAV
file of the input's sample rate, width and channels. WAV input needs nothing else;
other formats are decoded by ffmpeg first.

Both tasks run in the task processes; ``webrtcvad`` is imported by the task.
"""

from __future__ import annotations

import array
import io
import sys
import wave
from typing import Any

from pipelines.components.media import MAX_SEGMENTS_BYTES, SEGMENT, media_file, segments_of, too_much, workdir
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext
from pipelines.engine.values import File

#: The rate the detector works at, as Instill's.
SAMPLE_RATE = 16000
#: Rates WebRTC's detector takes as they are (16-bit mono PCM).
VAD_RATES = (8000, 16000, 32000, 48000)
FRAME_MS = 30
#: Speech shorter than this (ms) before a silence is a click, not a segment.
MIN_SPEECH_MS = 2 * FRAME_MS
#: WebRTC's aggressiveness, 0-3: 3 calls the fewest non-speech frames speech.
AGGRESSIVENESS = 3
DEFAULT_MIN_SILENCE_MS = 100
DEFAULT_SPEECH_PAD_MS = 30

_AUDIO = {"title": "Audio", "instillAcceptFormats": ["audio/*"]}

DETECT_ACTIVITY_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "audio": {**_AUDIO, "description": "Audio file to analyze for speech activity."},
        "min-silence-duration": {
            "type": "integer",
            "title": "Minimum Silence Duration",
            "description": "Minimum duration of silence (in milliseconds) required to split speech segments. "
            "Longer values result in fewer, longer segments.",
            "minimum": 0,
            "default": DEFAULT_MIN_SILENCE_MS,
        },
        "speech-pad": {
            "type": "integer",
            "title": "Speech Pad",
            "description": "Additional padding (in milliseconds) added to the start and end of each detected "
            "speech segment to prevent cutting off speech.",
            "minimum": 0,
            "default": DEFAULT_SPEECH_PAD_MS,
        },
    },
    "required": ["audio"],
}
DETECT_ACTIVITY_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "segments": {
            "type": "array",
            "title": "Segments",
            "description": "Array of time segments representing detected speech activity. "
            "Each segment contains start and end times in seconds.",
            "items": SEGMENT,
        }
    },
    "required": ["segments"],
}
SEGMENT_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "audio": {**_AUDIO, "description": "Audio data to segment."},
        "segments": {
            "type": "array",
            "title": "Segments",
            "description": "A list of time segments of audio data.",
            "items": SEGMENT,
        },
    },
    "required": ["audio", "segments"],
}
SEGMENT_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "audio-segments": {
            "type": "array",
            "title": "Audios",
            "description": "A list of segmented audio data.",
            "items": {"instillFormat": "audio/wav"},
        }
    },
    "required": ["audio-segments"],
}


def _milliseconds(input: dict[str, Any], key: str, default: int) -> int:
    value = input.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise ComponentError(f"`{key}` must be a whole number of milliseconds, got {value!r}.")
    if value < 0:
        raise ComponentError(f"`{key}` must be 0 or more, got {value}.")
    return int(value)


def _open_wav(data: bytes) -> wave.Wave_read | None:
    try:
        return wave.open(io.BytesIO(data), "rb")
    except (wave.Error, EOFError):
        return None


def _mono(frames: bytes, channels: int) -> bytes:
    """16-bit little-endian PCM of ``channels`` channels, averaged to one."""
    samples = array.array("h", frames[: len(frames) - len(frames) % (2 * channels)])  # whole frames only
    if sys.byteorder == "big":
        samples.byteswap()
    if channels > 1:
        per_channel = [samples[c::channels] for c in range(channels)]
        samples = array.array("h", (sum(frame) // channels for frame in zip(*per_channel, strict=True)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def _speech_pcm(file: File, task: str) -> tuple[bytes, int]:
    """Mono 16-bit PCM at a rate the detector takes, and that rate."""
    data = file.read()
    reader = _open_wav(data)
    if reader is not None:
        with reader:
            if reader.getsampwidth() == 2 and reader.getframerate() in VAD_RATES:
                frames = reader.readframes(reader.getnframes())
                return _mono(frames, reader.getnchannels()), reader.getframerate()
    with workdir("audio", task) as wd:
        source = wd.write(file)
        target = wd.out("speech.raw")
        wd.ffmpeg(
            [((), source)],
            ["-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "-acodec", "pcm_s16le", target],
            what="decoding the audio",
        )
        with open(target, "rb") as fh:
            return fh.read(), SAMPLE_RATE


def speech_frames(pcm: bytes, rate: int) -> list[bool]:
    """Per 30 ms frame: whether WebRTC's detector hears speech in it."""
    import webrtcvad

    detector = webrtcvad.Vad(AGGRESSIVENESS)
    size = rate * FRAME_MS // 1000 * 2
    return [detector.is_speech(pcm[i : i + size], rate) for i in range(0, len(pcm) - size + 1, size)]


def speech_segments(
    frames: list[bool], duration: float, min_silence_ms: int, speech_pad_ms: int
) -> list[dict[str, float]]:
    """Segments (seconds) from per-frame decisions, with Instill's silence and pad rules."""
    frame = FRAME_MS / 1000
    min_silence_frames = max(1, -(-min_silence_ms // FRAME_MS))
    raw: list[tuple[int, int]] = []  # [first speech frame, last speech frame + 1)
    start: int | None = None
    last_speech = 0
    for index, speech in enumerate(frames):
        if speech:
            if start is None:
                start = index
            last_speech = index + 1
        elif start is not None and index + 1 - last_speech >= min_silence_frames:
            raw.append((start, last_speech))
            start = None
    if start is not None:
        raw.append((start, last_speech))
    pad = speech_pad_ms / 1000
    segments: list[list[float]] = []
    for first, end in raw:
        if (end - first) * FRAME_MS < MIN_SPEECH_MS:
            continue
        begin, finish = max(0.0, first * frame - pad), min(duration, end * frame + pad)
        if segments and begin <= segments[-1][1]:
            segments[-1][1] = finish
        else:
            segments.append([begin, finish])
    return [{"start-time": round(a, 3), "end-time": round(b, 3)} for a, b in segments]


def detect_activity(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    min_silence = _milliseconds(input, "min-silence-duration", DEFAULT_MIN_SILENCE_MS)
    speech_pad = _milliseconds(input, "speech-pad", DEFAULT_SPEECH_PAD_MS)
    file = media_file(input.get("audio"), "audio", "audio")
    pcm, rate = _speech_pcm(file, ctx.task)
    duration = len(pcm) / 2 / rate
    frames = speech_frames(pcm, rate)
    return {"segments": speech_segments(frames, duration, min_silence, speech_pad)}


def _wav(file: File, task: str) -> tuple[wave._wave_params, bytes]:
    """The audio as WAV parameters and PCM frames (via ffmpeg unless it is PCM WAV)."""
    reader = _open_wav(file.read())
    if reader is None:
        with workdir("audio", task) as wd:
            source = wd.write(file)
            target = wd.out("audio.wav")
            wd.ffmpeg([((), source)], ["-vn", "-acodec", "pcm_s16le", "-f", "wav", target], what="decoding the audio")
            with open(target, "rb") as fh:
                reader = _open_wav(fh.read())
        if reader is None:
            raise ComponentError("ffmpeg could not turn the audio into WAV.")
    with reader:
        return reader.getparams(), reader.readframes(reader.getnframes())


def segment(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    if "segments" not in input or input["segments"] is None:
        raise ComponentError("`segments` is missing: give a list of {start-time, end-time} objects.")
    pairs = segments_of(input["segments"])
    file = media_file(input.get("audio"), "audio", "audio")
    params, frames = _wav(file, ctx.task)
    frame_size = params.sampwidth * params.nchannels
    total = len(frames) // frame_size
    spans = [
        (min(total, round(start * params.framerate)), min(total, round(end * params.framerate))) for start, end in pairs
    ]
    if sum(last - first for first, last in spans) * frame_size > MAX_SEGMENTS_BYTES:
        raise too_much("audio", MAX_SEGMENTS_BYTES)
    pieces = []
    for i, (first, last) in enumerate(spans):
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as writer:
            writer.setnchannels(params.nchannels)
            writer.setsampwidth(params.sampwidth)
            writer.setframerate(params.framerate)
            writer.writeframes(frames[first * frame_size : last * frame_size])
        pieces.append(File(buffer.getvalue(), mime_type="audio/wav", filename=f"audio-segment-{i}.wav"))
    return {"audio-segments": pieces}


COMPONENT = ComponentDefinition(
    type="audio",
    title="Audio",
    description="Operate audio data.",
    tasks={
        "TASK_DETECT_ACTIVITY": Task(
            name="TASK_DETECT_ACTIVITY",
            title="Detect Activity",
            description="Detect speech segments in audio data using Voice Activity Detection (VAD). This task "
            "processes the input audio to 16kHz mono format, identifies periods of human speech, and outputs "
            "time segments for each detected speech activity.",
            input_schema=DETECT_ACTIVITY_INPUT,
            output_schema=DETECT_ACTIVITY_OUTPUT,
            run=detect_activity,
            blocking=True,
        ),
        "TASK_SEGMENT": Task(
            name="TASK_SEGMENT",
            title="Segment",
            description="Segment audio data into pieces based on the provided time segments.",
            input_schema=SEGMENT_INPUT,
            output_schema=SEGMENT_OUTPUT,
            run=segment,
            blocking=True,
        ),
    },
)
