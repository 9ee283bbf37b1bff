"""Files in the run history: small ones inline, large ones on disk, never both.

A run's stored inputs, outputs and traces hold a File either as a data URI (up to
``PIPELINE_RUN_FILE_INLINE_BYTES``) or as a marker ``{"@file": {...}}`` naming a file
under ``PIPELINE_DATA_DIR/run-files/<run uid>/``. Markers are rendered at the edges:
as a download URL in run listings, back as a data URI where the API contract wants
the file itself (an async operation's outputs). Stored files expire after
``PIPELINE_RUN_FILE_RETENTION_DAYS`` (``manage.py cleanup_run_files``).
"""

from __future__ import annotations

import mimetypes
import re
import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from pipelines.engine import File
from pipelines.engine.values import FileDecodeError

MARKER = "@file"
SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def run_dir(run_uid: uuid.UUID | str) -> Path:
    return Path(settings.PIPELINE_DATA_DIR) / "run-files" / str(run_uid)


class FileStore:
    """Renders the Files of one run for storage, writing each File once."""

    def __init__(self, run_uid: uuid.UUID | str) -> None:
        self.run_uid = str(run_uid)
        self._stored: dict[int, Any] = {}

    def __call__(self, file: File) -> Any:
        key = id(file)
        if key not in self._stored:
            self._stored[key] = self._store(file)
        return self._stored[key]

    def _store(self, file: File) -> Any:
        if file.size <= settings.PIPELINE_RUN_FILE_INLINE_BYTES:
            return file.data_uri()
        directory = run_dir(self.run_uid)
        if file.path and Path(file.path).parent == directory:
            name = Path(file.path).name  # already kept for this run (an async run's input)
        else:
            directory.mkdir(parents=True, exist_ok=True)
            name = f"{uuid.uuid4().hex[:12]}-{SAFE.sub('_', _named(file))[:80]}"
            if file.path:
                shutil.copyfile(file.path, directory / name)
            else:
                (directory / name).write_bytes(file.read())
        return {MARKER: {"name": name, "mimeType": file.mime_type, "filename": file.filename, "size": file.size}}


def _named(file: File) -> str:
    """The file's name, or ``file.<extension of its type>`` (``file.mp4``): the run page
    tells by it which kept files it can play."""
    if file.filename:
        return file.filename
    mime = file.mime_type.split(";")[0].strip().lower()
    extension = {"audio/wav": ".wav", "audio/ogg": ".ogg"}.get(mime) or mimetypes.guess_extension(mime) or ""
    return f"file{extension}"


class NeedsDisk(Exception):
    """An :class:`InlineFileStore` met a File too large to store inline."""


class InlineFileStore(FileStore):
    """A FileStore that writes nothing to disk: for rendering on the event loop, where
    a large file's copy must not block. Raises :class:`NeedsDisk` instead; the caller
    then renders in a thread with a :class:`FileStore`."""

    def _store(self, file: File) -> Any:
        if file.size > settings.PIPELINE_RUN_FILE_INLINE_BYTES or file.path:
            raise NeedsDisk(file.filename or "file")
        return file.data_uri()


def _walk(value: Any, render) -> Any:
    if isinstance(value, dict):
        if set(value) == {MARKER} and isinstance(value[MARKER], dict):
            return render(value[MARKER])
        return {k: _walk(v, render) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, render) for v in value]
    return value


def as_urls(value: Any, *, run_uid: uuid.UUID | str) -> Any:
    """Stored markers as download URLs (run listings)."""
    return _walk(value, lambda meta: f"/v1beta/pipeline-runs/{run_uid}/files/{meta['name']}")


def as_files(value: Any, *, run_uid: uuid.UUID | str) -> Any:
    """Stored markers back as File values over the stored bytes (to run them again)."""

    def restore(meta: dict) -> Any:
        path = run_dir(run_uid) / meta["name"]
        if not path.exists():
            return None
        return File(path=path, mime_type=meta.get("mimeType"), filename=meta.get("filename"))

    return _walk(value, restore)


def as_data_uris(value: Any, *, run_uid: uuid.UUID | str, cache: dict[str, str | None] | None = None) -> Any:
    """Stored markers as data URIs (where the API returns files themselves). Reads
    files: call it off the event loop. ``cache`` keeps each file's data URI for the
    next call (a replayed stream carries the same file in event after event)."""
    cache = {} if cache is None else cache

    def inline(meta: dict) -> Any:
        name = meta["name"]
        if name not in cache:
            path = run_dir(run_uid) / name
            cache[name] = (
                File(path=path, mime_type=meta.get("mimeType"), filename=meta.get("filename")).data_uri()
                if path.exists()
                else None
            )
        return cache[name]

    return _walk(value, inline)


class FileNotKept(Exception):
    """A file input of an earlier run that cannot be given again; the message says why."""


def stored_input_files(value: Any, *, run_uid: uuid.UUID | str) -> Any:
    """A file input as a run's history keeps it, back as what a trigger takes (to run it
    again): a File (a list of them for an array), or the URL it was given as.
    :class:`FileNotKept` when one of them can no longer be read."""

    def restore(item: Any) -> Any:
        if isinstance(item, dict) and set(item) == {MARKER} and isinstance(item[MARKER], dict):
            meta = item[MARKER]
            path = stored_file(run_uid=run_uid, name=str(meta.get("name", "")))
            if path is None:
                days = settings.PIPELINE_RUN_FILE_RETENTION_DAYS
                raise FileNotKept(
                    f"{meta.get('filename') or 'the file'} is no longer kept (run files are kept {days} days)"
                )
            return File(path=path, mime_type=meta.get("mimeType"), filename=meta.get("filename"))
        if isinstance(item, str) and item.startswith("data:"):
            try:
                return File.from_data_uri(item)
            except FileDecodeError as exc:
                raise FileNotKept(f"the stored file cannot be read ({exc})") from exc
        if isinstance(item, str) and item.startswith(("http://", "https://")):
            return item  # given as a URL: fetched again
        raise FileNotKept("the run kept no file for it")

    if isinstance(value, list):
        return [restore(item) for item in value]
    return restore(value)


# Stored names are a 12-digit prefix and at most 80 characters of the file's name; a
# longer one was never stored (and the file system would refuse to look it up).
MAX_NAME_LENGTH = 255


def stored_file(*, run_uid: uuid.UUID | str, name: str) -> Path | None:
    """The path of a run's stored file ``name``, or None: for any name a client sends."""
    if len(name) > MAX_NAME_LENGTH or SAFE.sub("_", name) != name:
        return None
    path = run_dir(run_uid) / name
    return path if path.is_file() else None


def remove_run_files(run_uids) -> None:
    """Delete the stored files of these runs (the runs themselves are gone)."""
    for run_uid in run_uids:
        shutil.rmtree(run_dir(run_uid), ignore_errors=True)


def cleanup_run_files(*, older_than_days: int | None = None) -> int:
    """Delete stored files of runs created before the retention period; returns how many runs."""
    from pipelines.models import PipelineRun

    days = settings.PIPELINE_RUN_FILE_RETENTION_DAYS if older_than_days is None else older_than_days
    root = Path(settings.PIPELINE_DATA_DIR) / "run-files"
    if not root.is_dir():
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    names = [p.name for p in root.iterdir() if p.is_dir()]
    keep = {
        str(uid)
        for uid in PipelineRun.objects.filter(uid__in=_uuids(names), create_time__gte=cutoff).values_list(
            "uid", flat=True
        )
    }
    removed = 0
    for name in names:
        if name not in keep:
            shutil.rmtree(root / name, ignore_errors=True)
            removed += 1
    return removed


def _uuids(names: list[str]) -> list[uuid.UUID]:
    out = []
    for name in names:
        try:
            out.append(uuid.UUID(name))
        except ValueError:
            continue
    return out
