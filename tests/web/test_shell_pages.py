"""The page shell and the Toolkit: menu button, favicon, run filters for signed-in
users only, one Trigger Snippet heading, distinct sample values."""

from __future__ import annotations

import re

import pytest

from pipelines.components import default_registry
from pipelines.engine import parse_recipe
from pipelines.snippets import example_row

pytestmark = pytest.mark.django_db


def test_every_page_links_the_favicon_and_has_a_menu_button(client):
    page = client.get("/").content.decode()
    assert re.search(r'<link rel="icon" href="/static/pipelines/favicon\.svg[^"]*" type="image/svg\+xml">', page)
    button = re.search(r"<button[^>]*menu-toggle[^>]*>", page).group(0)
    assert 'aria-expanded="false"' in button and 'aria-controls="site-menu"' in button
    # Hidden until menu.js takes over: without script the menu is a plain visible list.
    assert " hidden" in button and 'id="site-menu"' in page
    assert re.search(r'<script src="/static/pipelines/menu\.js[^"]*"></script>', page)


def test_favicon_ico_points_at_the_svg(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 302 and answer["Location"].startswith("/static/pipelines/favicon.svg")


def test_signed_out_visitors_see_no_run_filters(client, alice_client, alice, make_pipeline):
    make_pipeline(alice, "hello", public="ROLE_EXECUTOR")
    page = client.get("/alice/pipelines/hello/runs/").content.decode()
    assert "Sign in to see runs" in page and 'class="filters"' not in page
    assert 'class="filters"' in alice_client.get("/alice/pipelines/hello/runs/").content.decode()


def test_the_editor_toolkit_has_one_trigger_snippet_heading(alice_client, hello):
    page = alice_client.get("/alice/pipelines/hello/editor").content.decode()
    assert page.count(">Trigger Snippet</h") == 1


def test_copy_buttons_come_before_the_code_they_copy(alice_client, hello):
    page = alice_client.get("/alice/pipelines/hello/").content.decode()
    blocks = re.findall(r'<div class="trigger-snippet__block">\s*<(\w+)', page)
    assert blocks and set(blocks) == {"button"}


def test_text_variables_get_their_own_samples():
    recipe = parse_recipe(
        """\
variable:
  first: {type: string, title: Alpha}
  second: {type: string, title: Beta}
  third: {type: string, title: Gamma}
  city: {type: string, title: City, description: "Where to go, e.g. Porto"}
  sku: {type: string, description: "The product code (for example: AB-123)."}
  tag: {type: string, title: Tag, default: urgent}
  again: {type: string, title: Delta, default: urgent}
output: {}
""",
        registry=default_registry(),
    )
    row = example_row(recipe)
    assert row["city"] == "Porto" and row["sku"] == "AB-123"
    assert row["tag"] == row["again"] == "urgent"  # a declared default is kept as it is
    guessed = [row["first"], row["second"], row["third"]]
    assert len(set(guessed)) == 3 and row["third"] == "Example Gamma"
