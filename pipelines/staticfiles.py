"""Static files: collected with content-hashed names and gzip copies (WhiteNoise's
compressed manifest storage), served over ASGI in front of Django.

``manage.py serve`` runs ``collectstatic`` at start-up into ``STATIC_ROOT``; pages then
link ``app.3f9c….css`` and the server answers it compressed when the browser accepts
gzip, with ``Cache-Control: max-age=315360000, public, immutable`` (a changed file gets
a new name). With ``DEBUG`` the files are found in ``static/`` at each request instead
(edits show on reload, unhashed names, no caching) and nothing needs collecting.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.storage import CompressedManifestStaticFilesStorage

NOT_COLLECTED = (
    "Static files are not collected in STATIC_ROOT ({root}): run `python manage.py collectstatic --noinput` "
    "(`manage.py serve` and `make run` do it at start-up, the test suite once per session), or set DEBUG=true "
    "to serve them from static/ as they are."
)


STAMP = ".collected-from"


def _sources_fingerprint() -> str:
    """A digest of every file collectstatic would copy (its name, size and mtime): cheap to
    compute (a stat per file), and it changes whenever collecting would change anything."""
    from django.contrib.staticfiles.finders import get_finders

    from pipelines.static_app import StaticFilesConfig

    ignore = StaticFilesConfig.ignore_patterns
    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list(ignore):
            stat = Path(storage.path(path)).stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def collect_if_changed() -> bool:
    """``collectstatic`` for ``serve``'s start-up, only when a static file changed since the
    last collection, and in a child process: hashing and gzipping every file leaves
    ~15 MB of freed-but-kept heap behind in the process that does it, and serve lives on.
    True when it collected."""
    root = Path(settings.STATIC_ROOT)
    fingerprint = _sources_fingerprint()
    stamp = root / STAMP
    if (root / "staticfiles.json").is_file() and stamp.is_file() and stamp.read_text() == fingerprint:
        return False
    manage_py = Path(__file__).resolve().parent.parent / "manage.py"
    done = subprocess.run(
        [sys.executable, str(manage_py), "collectstatic", "--noinput", "--verbosity", "0"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"collectstatic failed: {done.stderr.strip() or done.stdout.strip()}")
    stamp.write_text(fingerprint)
    return True


class StaticFilesNotCollected(ValueError):
    """A page links a static file while STATIC_ROOT has no manifest: collectstatic has not run."""


class Storage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's storage, with an error that says what to do when nothing was collected
    (Django's own says "Missing staticfiles manifest entry for 'pipelines/app.css'").

    ES module imports (``import … from "./live_run.js"``) are rewritten to the hashed
    names too, so a cached module never meets a stale import."""

    support_js_module_import_aggregation = True

    def stored_name(self, name: str) -> str:
        if not getattr(self, "hashed_files", None):
            # Collected since this process started (serve's own start-up, a test session).
            self.hashed_files, self.manifest_hash = self.load_manifest()
            if not self.hashed_files:
                raise StaticFilesNotCollected(NOT_COLLECTED.format(root=settings.STATIC_ROOT))
        return super().stored_name(name)


class _Files(WhiteNoiseMiddleware):
    """WhiteNoise's index of the files and their headers (as its Django middleware has it,
    from the settings: DEBUG finds files at each request and caches nothing), plus
    ``nosniff`` as every other answer of ours has."""

    def add_mime_headers(self, headers: Any, path: str, url: str) -> None:
        super().add_mime_headers(headers, path, url)
        headers["X-Content-Type-Options"] = "nosniff"


class StaticFilesASGI:
    """Answers ``STATIC_URL`` requests for collected files (or, with DEBUG, files found in
    the static folders) and passes everything else to ``app``. WhiteNoise finds the file,
    picks the gzip copy by Accept-Encoding, answers 304/Range and sets cache headers; the
    file is read off the event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.whitenoise = _Files(get_response=None)
        self.prefix: str = self.whitenoise.static_prefix

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        answer = await asyncio.to_thread(self._respond, scope)
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _respond(self, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        whitenoise = self.whitenoise
        path = scope["path"]
        static_file = whitenoise.find_file(path) if whitenoise.autorefresh else whitenoise.files.get(path)
        if static_file is None:
            return None
        meta = {
            "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        response = static_file.get_response(scope["method"], meta)
        body = b""
        if response.file is not None:
            with response.file as file:
                body = file.read()
        headers = [(name.lower().encode("latin-1"), str(value).encode("latin-1")) for name, value in response.headers]
        return int(response.status), headers, body
