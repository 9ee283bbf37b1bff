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
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.apps import StaticFilesConfig as DjangoStaticFilesConfig
from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.storage import CompressedManifestStaticFilesStorage

NOT_COLLECTED = (
    "Static files are not collected in STATIC_ROOT ({root}): run `python manage.py collectstatic --noinput` "
    "(`manage.py serve` and `make run` do it at start-up, the test suite once per session), or set DEBUG=true "
    "to serve them from static/ as they are."
)


class StaticFilesConfig(DjangoStaticFilesConfig):
    """django.contrib.staticfiles without the files no page links: ReDoc and DRF's
    browsable API (both off here) are 17 MB that every start-up would copy and gzip."""

    ignore_patterns = [*DjangoStaticFilesConfig.ignore_patterns, "redoc", "rest_framework"]


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
