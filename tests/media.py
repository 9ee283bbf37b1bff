"""Small, deterministic audio and video files made for the tests: speech with
silences (espeak-ng), coloured clips with a tone (ffmpeg's lavfi sources).

Both programs are Debian packages that scripts/install-system-deps.sh installs."""

from __future__ import annotations

import array
import io
import json
import os
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from functools import cache

PHRASES = ("Hello, this is the first sentence.", "And here comes the second one.")


@dataclass(frozen=True)
class Speech:
    wav: bytes  # 16-bit mono WAV at espeak-ng's 22050 Hz
    spoken: tuple[tuple[float, float], ...]  # where each phrase is audible, in seconds
    duration: float


def _spoken_bounds(frames: bytes, rate: int, offset: float) -> tuple[float, float]:
    samples = array.array("h", frames)
    loud = [i for i, sample in enumerate(samples) if abs(sample) > 500]
    return offset + loud[0] / rate, offset + (loud[-1] + 1) / rate


@cache
def speech(gaps: tuple[float, ...] = (1.0, 1.5, 1.0)) -> Speech:
    """:data:`PHRASES` spoken by espeak-ng, with ``gaps[0]`` s of silence before the
    first, ``gaps[1]`` between them and ``gaps[2]`` after the last."""
    pieces = []
    with tempfile.TemporaryDirectory() as directory:
        for i, phrase in enumerate(PHRASES):
            path = os.path.join(directory, f"{i}.wav")
            subprocess.run(["espeak-ng", "-w", path, phrase], check=True)
            with wave.open(path) as reader:
                params = reader.getparams()
                pieces.append(reader.readframes(reader.getnframes()))
    rate = params.framerate
    out = io.BytesIO()
    spoken = []
    position = 0.0
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        for gap, piece in zip(gaps, [*pieces, b""], strict=True):
            writer.writeframes(b"\0\0" * round(gap * rate))
            position += round(gap * rate) / rate
            if piece:
                spoken.append(_spoken_bounds(piece, rate, position))
                writer.writeframes(piece)
                position += len(piece) / 2 / rate
    return Speech(out.getvalue(), tuple(spoken), position)


def ffmpeg(*args: str, input: bytes | None = None) -> bytes:
    """ffmpeg's standard output for ``args`` (inputs from standard input as ``pipe:``)."""
    command = ["ffmpeg", "-nostdin" if input is None else "-hide_banner", "-loglevel", "error", "-y", *args]
    return subprocess.run(command, input=input, capture_output=True, check=True).stdout


def convert(data: bytes, *options: str) -> bytes:
    """``data`` through ffmpeg with output ``options`` (ending with ``-f <format>``)."""
    return ffmpeg("-i", "pipe:", *options, "pipe:", input=data)


@cache
def clip(colours: tuple[str, ...] = ("red", "blue"), seconds: float = 2, tone: bool = True) -> bytes:
    """An MP4 (H.264, 64x48, 10 fps) showing each colour for ``seconds``, with a 440 Hz
    tone (AAC) for its whole length when ``tone``."""
    with tempfile.TemporaryDirectory() as directory:
        target = os.path.join(directory, "clip.mp4")
        args: list[str] = []
        for colour in colours:
            args += ["-f", "lavfi", "-i", f"color=c={colour}:s=64x48:r=10:d={seconds}"]
        graph = "".join(f"[{i}:v]" for i in range(len(colours))) + f"concat=n={len(colours)}:v=1:a=0[v]"
        maps = ["-map", "[v]"]
        if tone:
            total = seconds * len(colours)
            args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:duration={total}"]
            maps += ["-map", f"{len(colours)}:a", "-c:a", "aac"]
        ffmpeg(*args, "-filter_complex", graph, *maps, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "10", target)
        with open(target, "rb") as fh:
            return fh.read()


def probe(data: bytes) -> dict:
    """ffprobe's view of a file: ``format`` and ``streams`` (with frame counts)."""
    with tempfile.NamedTemporaryFile() as fh:
        fh.write(data)
        fh.flush()
        output = subprocess.run(
            ["ffprobe", "-v", "error", "-count_frames", "-show_format", "-show_streams", "-of", "json", fh.name],
            capture_output=True,
            check=True,
        ).stdout
    return json.loads(output)


def duration(data: bytes) -> float:
    return float(probe(data)["format"]["duration"])


def stream(data: bytes, kind: str) -> dict | None:
    """The first ``video`` or ``audio`` stream of a file, or None."""
    return next((s for s in probe(data)["streams"] if s["codec_type"] == kind), None)
