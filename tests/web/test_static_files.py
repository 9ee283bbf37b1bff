"""Static files as pages link them: hashed names once collected, plain names with DEBUG,
and an error that says what to run when nothing was collected."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from django.templatetags.static import static

from pipelines.staticfiles import StaticFilesASGI, StaticFilesNotCollected


def test_pages_link_hashed_names_once_collected(client):
    html = client.get("/accounts/login/").content.decode()
    assert static("pipelines/app.css") in html
    assert static("pipelines/app.css").startswith("/static/pipelines/app.") and static("pipelines/app.css") != (
        "/static/pipelines/app.css"
    )


def test_debug_links_the_files_as_they_are(client, settings):
    settings.DEBUG = True
    assert 'href="/static/pipelines/app.css"' in client.get("/accounts/login/").content.decode()


def test_not_collected_says_what_to_run(client, settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "empty"
    with pytest.raises(StaticFilesNotCollected, match=r"run `python manage.py collectstatic --noinput`"):
        client.get("/accounts/login/")


class Answer:
    def __init__(self, messages: list[dict]):
        self.status = messages[0]["status"]
        self.headers = {name.decode(): value.decode() for name, value in messages[0]["headers"]}
        self.body = b"".join(message.get("body", b"") for message in messages[1:])


async def get(app, path: str, **headers: str) -> Answer | None:
    """One GET through the ASGI app; None when it passed the request on to Django."""
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "headers": [(name.replace("_", "-").lower().encode(), value.encode()) for name, value in headers.items()],
    }
    await app(scope, receive, send)
    return Answer(sent) if sent else None


async def passed_on(scope, receive, send):
    pass


async def test_collected_files_are_served_gzipped_with_a_long_immutable_lifetime():
    app = StaticFilesASGI(passed_on)
    url = static("pipelines/app.css")
    plain = await get(app, url)
    assert plain.status == 200 and plain.headers["content-type"].startswith("text/css")
    assert plain.headers["cache-control"] == "max-age=315360000, public, immutable"
    assert plain.headers["x-content-type-options"] == "nosniff"
    zipped = await get(app, url, accept_encoding="gzip, br")
    assert zipped.headers["content-encoding"] == "gzip" and gzip.decompress(zipped.body) == plain.body
    assert len(zipped.body) < len(plain.body) / 2
    again = await get(app, url, if_none_match=plain.headers["etag"])
    assert again.status == 304 and again.body == b""
    # A name without its hash (no page links one) may change: a minute.
    assert (await get(app, "/static/pipelines/app.css")).headers["cache-control"] == "max-age=60, public"
    assert await get(app, "/static/pipelines/no-such-file.css") is None
    assert await get(app, "/accounts/login/") is None


async def test_debug_serves_static_as_it_is_without_caching(settings):
    settings.DEBUG = True
    app = StaticFilesASGI(passed_on)
    answer = await get(app, "/static/pipelines/app.css")
    assert answer.status == 200 and answer.body == (Path(settings.BASE_DIR) / "static/pipelines/app.css").read_bytes()
    assert answer.headers["cache-control"] == "max-age=0, public"


def test_serve_collects_only_when_a_static_file_changed(settings, tmp_path, monkeypatch):
    """serve's start-up collects in a child process the first time, then not again until
    the sources change (their names, sizes and mtimes, stamped beside the manifest)."""
    from pipelines.staticfiles import STAMP, collect_if_changed

    root = tmp_path / "collected"
    monkeypatch.setenv("PIPELINE_STATIC_ROOT", str(root))  # the child process's settings
    settings.STATIC_ROOT = root
    assert collect_if_changed() is True
    assert (root / "staticfiles.json").is_file() and any(root.glob("pipelines/app.*.css.gz"))
    assert collect_if_changed() is False
    (root / STAMP).write_text("sources as they were before an upgrade")
    assert collect_if_changed() is True
    assert collect_if_changed() is False
