"""Static files as pages link them: hashed names once collected, plain names with DEBUG,
and an error that says what to run when nothing was collected."""

from __future__ import annotations

import pytest
from django.templatetags.static import static

from pipelines.staticfiles import StaticFilesNotCollected


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
