"""A pipeline saved through the API with a recipe that cannot run (a component type
this server lacks, as Instill's API accepts it): the console says what is wrong."""

from __future__ import annotations

import pytest

from tests.api.test_instill_compat import UNKNOWN_COMPONENT

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailer(alice, make_pipeline):
    return make_pipeline(alice, "mailer", raw_recipe=UNKNOWN_COMPONENT, runtime_errors=True)


def test_overview_names_the_problem_and_offers_no_run(alice_client, mailer):
    page = alice_client.get("/alice/pipelines/mailer/").content.decode()
    assert "This version's recipe cannot run" in page and "unknown component type &quot;asana&quot;" in page
    assert 'href="/alice/pipelines/mailer/editor"' in page
    assert 'id="run-config"' not in page


def test_editor_checker_lists_it_as_an_error(alice_client, mailer):
    answer = alice_client.post("/alice/pipelines/mailer/editor/validate", {"rawRecipe": UNKNOWN_COMPONENT}).json()
    assert answer["valid"] is False
    [error] = answer["problems"]
    assert error["severity"] == "error" and error["location"] == "component.mail.type"


def test_editor_save_stays_strict(alice_client, hello):
    saved = alice_client.post("/alice/pipelines/hello/editor/save", {"rawRecipe": UNKNOWN_COMPONENT})
    assert saved.status_code == 400 and saved.json()["saved"] is False
