"""Audio and video values for components, and ffmpeg run safely.

ffmpeg runs as a subprocess (never through a shell) on files this module writes
into a private temporary directory: a user's path or URL never reaches it. Each
input is opened with ``-protocol_whitelist file`` and a whitelist of container
demuxers, so a crafted upload (an HLS or concat playlist) cannot make ffmpeg read
other files or the network. Every call has a time limit (:data:`FFMPEG_TIMEOUT`)
and every output a size limit (``-fs``, :data:`MAX_OUTPUT_BYTES`).

ffmpeg is an optional system dependency (Debian package ``ffmpeg``): the server
starts without it, and a task that needs it says so (:data:`FFMPEG_MISSING`).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pipelines.engine.components import ComponentError
from pipelines.engine.values import File, FileDecodeError

__all__ = [
    "FFMPEG_MISSING",
    "FFMPEG_TIMEOUT",
    "MAX_OUTPUT_BYTES",
    "MAX_SEGMENTS_BYTES",
    "SEGMENT",
    "Workdir",
    "media_file",
    "seconds",
    "segments_of",
    "too_much",
    "workdir",
]

FFMPEG_MISSING = (
    "The {component} component's {task} needs ffmpeg, which is not installed on this server "
    "(Debian: apt-get install ffmpeg)."
)
#: One ffmpeg call that takes longer than this (seconds) is stopped.
FFMPEG_TIMEOUT = 300
#: The largest file one ffmpeg call may write (bytes); a larger result is an error.
MAX_OUTPUT_BYTES = 512 * 1024 * 1024
#: The most bytes the pieces of one segmenting task may add up to: each piece is held in
#: memory (and sent back to the server), and ``segments`` may ask for the whole file
#: again and again.
MAX_SEGMENTS_BYTES = MAX_OUTPUT_BYTES
#: The container formats ffmpeg may read (its demuxer names): audio and video files,
#: no playlists (hls, concat, ...) that would name other files.
DEMUXERS = (
    "mov,mp4,m4a,3gp,3g2,mj2",
    "matroska,webm",
    "avi",
    "ogg",
    "mp3",
    "wav",
    "flac",
    "aac",
    "mpegts",
    "mpegps",
    "flv",
    "asf",
    "aiff",
    "amr",
    "au",
    "caf",
    "w64",
)
_PR_SET_PDEATHSIG = 1
#: What ffmpeg gets of the server's environment (no keys nor database URL).
_PASSED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
#: File extensions for inputs, so a reader of ffmpeg's messages sees what it was given.
_EXTENSIONS = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/webm": "webm",
    "audio/aac": "aac",
    "audio/mp4": "m4a",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "video/x-matroska": "mkv",
    "video/ogg": "ogv",
}


#: Instill's ``segment`` object (audio and video alike).
SEGMENT = {
    "type": "object",
    "title": "Segment",
    "description": "A time segment of audio data, defined by its start and end times in seconds.",
    "properties": {
        "start-time": {
            "type": "number",
            "title": "Start Time",
            "description": "The number of seconds from the beginning of the audio file to the start of this segment.",
        },
        "end-time": {
            "type": "number",
            "title": "End Time",
            "description": "The number of seconds from the beginning of the audio file to the end of this segment.",
        },
    },
    "required": ["start-time", "end-time"],
}


def media_file(value: Any, kind: str, field: str) -> File:
    """``value`` (a File, data URI or base64 string) as a File whose type is ``kind``
    (``audio`` or ``video``); errors name ``field``."""
    a_kind = f"{'an' if kind == 'audio' else 'a'} {kind} file"
    file: File | None = None
    if isinstance(value, File):
        file = value
    elif isinstance(value, str) and value:
        try:
            file = File.from_data_uri(value) if value.startswith("data:") else File.from_base64(value)
        except FileDecodeError:
            raise ComponentError(f"`{field}` is not a data URI or base64 string.") from None
    elif value is None:
        raise ComponentError(f"`{field}` is missing: give {a_kind}.")
    if file is None:
        raise ComponentError(f"`{field}` must be {a_kind}, got {value!r:.40}.")
    mime = file.mime_type.split(";")[0].strip().lower()
    # A video's sound is audio too; a WebM or MP4 may be labelled either way.
    fits = mime.startswith(f"{kind}/") or (kind == "audio" and mime.startswith("video/"))
    if not fits and mime != "application/octet-stream":
        raise ComponentError(
            f"`{field}` must be {a_kind}, got {file.mime_type}{f' ({file.filename})' if file.filename else ''}."
        )
    return file


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ComponentError(f"`{where}` must be a number of seconds, got {value!r}.")
    return float(value)


def segments_of(value: Any, field: str = "segments") -> list[tuple[float, float]]:
    """Instill's ``segments`` (``[{start-time, end-time}]``, seconds) as pairs."""
    if not isinstance(value, list | tuple):
        raise ComponentError(f"`{field}` must be an array of {{start-time, end-time}} objects.")
    pairs = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ComponentError(f"`{field}[{i}]` must be an object with start-time and end-time.")
        for key in ("start-time", "end-time"):
            if key not in item:
                raise ComponentError(f"`{field}[{i}].{key}` is missing.")
        start = _number(item["start-time"], f"{field}[{i}].start-time")
        end = _number(item["end-time"], f"{field}[{i}].end-time")
        if start < 0:
            raise ComponentError(f"`{field}[{i}].start-time` must be 0 or more, got {start:g}.")
        if end <= start:
            raise ComponentError(f"`{field}[{i}].end-time` ({end:g}) must be after its start-time ({start:g}).")
        pairs.append((start, end))
    return pairs


def too_much(kind: str, limit: int) -> ComponentError:
    """The error for ``segments`` whose pieces would add up to more than ``limit`` bytes."""
    return ComponentError(
        f"`segments` add up to more than {limit / (1024 * 1024):g} MB of {kind}: ask for fewer or shorter segments."
    )


def seconds(value: float) -> str:
    """A time for ffmpeg's command line: plain decimal seconds."""
    return f"{value:.6f}"


class Workdir:
    """A private temporary directory for one task: inputs written here, ffmpeg run on them."""

    def __init__(self, path: str, component: str, task: str) -> None:
        self.path = path
        self.component = component
        self.task = task
        self._count = 0

    def write(self, file: File, stem: str = "input") -> str:
        """``file``'s bytes in a new file of this directory; its path."""
        self._count += 1
        extension = _EXTENSIONS.get(file.mime_type.split(";")[0].strip().lower(), "bin")
        path = os.path.join(self.path, f"{stem}-{self._count}.{extension}")
        if file.path is not None:
            shutil.copyfile(file.path, path)
        else:
            with open(path, "wb") as fh:
                fh.write(file.read())
        return path

    def out(self, name: str) -> str:
        return os.path.join(self.path, name)

    def _program(self, name: str) -> str:
        program = shutil.which(name)
        if program is None:
            raise ComponentError(FFMPEG_MISSING.format(component=self.component, task=self.task))
        return program

    def _input(self, options: Sequence[str], path: str) -> list[str]:
        if not os.path.realpath(path).startswith(os.path.realpath(self.path) + os.sep):
            raise ValueError("ffmpeg reads only files of its working directory")
        whitelists = ["-protocol_whitelist", "file", "-format_whitelist", ",".join(DEMUXERS)]
        return [*options, *whitelists, "-i", f"file:{path}"]

    def _run(self, command: list[str], what: str) -> bytes:
        """Run ``command`` in this directory; its standard output."""
        env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
        # Its own process group, so a timeout stops it whole.
        process = subprocess.Popen(  # noqa: S603 - a fixed program, arguments as a list, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=self.path,
            start_new_session=True,
            preexec_fn=_killed_with_its_parent,  # noqa: PLW1509 - task processes run one thread
        )
        try:
            stdout, stderr = process.communicate(timeout=FFMPEG_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise ComponentError(f"ffmpeg took longer than {FFMPEG_TIMEOUT} s {what}.") from None
        if process.returncode != 0:
            raise ComponentError(f"ffmpeg failed {what}: {_ffmpeg_reason(stderr, self.path)}")
        return stdout

    def ffmpeg(self, inputs: Sequence[tuple[Sequence[str], str]], outputs: Sequence[str], *, what: str) -> None:
        """Run ffmpeg: ``inputs`` are (input options, path written by :meth:`write`),
        ``outputs`` the output options and file(s). ``what`` completes its error
        messages ("extracting the audio")."""
        command = [self._program("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
        for options, path in inputs:
            command += self._input(options, path)
        self._run([*command, "-fs", str(MAX_OUTPUT_BYTES), *outputs], what)
        for name in os.listdir(self.path):
            if not name.startswith("input-") and os.path.getsize(os.path.join(self.path, name)) >= MAX_OUTPUT_BYTES:
                raise ComponentError(
                    f"The result of {what} would be larger than {MAX_OUTPUT_BYTES // (1024 * 1024)} MB."
                )

    def duration(self, path: str) -> float | None:
        """The length in seconds of a file written by :meth:`write` (ffprobe); None
        when the file does not say (a WebM recorded by a browser)."""
        command = [self._program("ffprobe"), "-hide_banner", "-loglevel", "error"]
        command += [*self._input((), path)[:-2], "-show_entries", "format=duration", "-of", "csv=p=0"]
        output = self._run([*command, f"file:{path}"], "reading the file's length")
        try:
            return float(output.decode().strip())
        except ValueError:
            return None


def _killed_with_its_parent() -> None:
    """In ffmpeg's process, before it starts: be killed (SIGKILL) when the task process
    that started it is — as it is at a run's time limit or cancel, when no timeout of
    ours runs any more."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _ffmpeg_reason(stderr: bytes, directory: str) -> str:
    """ffmpeg's last lines, without our temporary directory."""
    text = stderr.decode("utf-8", "replace").strip()
    text = text.replace(f"file:{directory}{os.sep}", "").replace(f"{directory}{os.sep}", "")
    lines = [line for line in text.splitlines() if line.strip()]
    reason = " ".join(lines[-3:])[-400:]
    refused = re.search(r"\[(\w+) @ 0x[0-9a-f]+\] Format not on whitelist", reason)
    if refused:
        return f"the file is {refused.group(1)} data, which this server does not read (audio and video files only)."
    if "Invalid data found" in reason or "not in allowed list" in reason:
        return "the file is not an audio or video file ffmpeg can read."
    if "does not contain any stream" in reason or "matches no streams" in reason:
        return "the file has no such stream (" + reason + ")."
    return reason or "no reason given."


@contextmanager
def workdir(component: str, task: str) -> Iterator[Workdir]:
    """A :class:`Workdir`, removed with everything in it at the end."""
    with tempfile.TemporaryDirectory(prefix=f"pipeline-{component}-") as path:
        yield Workdir(path, component, task)
