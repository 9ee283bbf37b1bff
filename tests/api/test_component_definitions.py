"""``/v1beta/component-definitions``: the registry the engine runs, in Instill's shape.

The list checks replay Instill's own (pipeline-backend
integration-test/pipeline/rest-component-definition.js) where they apply to the
components this server has; every definition is checked against what the engine does
with a recipe, so the API and the engine cannot disagree.
"""

from __future__ import annotations

import pytest

from pipelines.components import default_registry
from pipelines.engine import RecipeInvalid, parse_recipe

URL = "/v1beta/component-definitions"
TOTAL = len(list(default_registry()))


@pytest.fixture
def client(anon, db):
    return anon  # public, as Instill's: no sign-in needed


def listing(client, query: str = "") -> dict:
    response = client.get(f"{URL}{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_default_page_is_basic_view_of_the_registry(client):
    body = listing(client)
    assert body["totalSize"] == TOTAL
    assert body["page"] == 0 and body["pageSize"] == 10
    assert len(body["componentDefinitions"]) == min(TOTAL, 10)
    first = body["componentDefinitions"][0]
    assert first["spec"] is None  # the default view is BASIC
    assert set(first) >= {
        "name", "uid", "id", "title", "documentationUrl", "icon", "type", "vendor", "version",
        "tasks", "description", "releaseStage", "public", "custom", "tombstone",
    }  # fmt: skip
    assert first["name"] == f"component-definitions/{first['id']}"
    assert listing(client, "?view=VIEW_BASIC")["componentDefinitions"][0]["spec"] is None


def test_page_size_and_page_as_instill_checks_them(client):
    default = listing(client)["componentDefinitions"]
    assert listing(client, "?pageSize=0")["componentDefinitions"] == default
    assert listing(client, "?pageSize=-1")["componentDefinitions"] == default
    assert len(listing(client, "?pageSize=1")["componentDefinitions"]) == 1
    assert len(listing(client, f"?pageSize={TOTAL + 10}")["componentDefinitions"]) == TOTAL
    second = listing(client, "?pageSize=2&page=2")
    assert second["page"] == 2 and len(second["componentDefinitions"]) == 2
    assert second["componentDefinitions"][0]["id"] != default[0]["id"]
    negative = listing(client, "?pageSize=2&page=-2")
    assert negative["page"] == 0 and len(negative["componentDefinitions"]) == 2
    assert listing(client, f"?pageSize={TOTAL + 10}&page=2")["componentDefinitions"] == []
    ids = [
        d["id"]
        for p in range(0, TOTAL, 3)
        for d in listing(client, f"?pageSize=3&page={p // 3}")["componentDefinitions"]
    ]
    assert ids == sorted(d.type for d in default_registry())


def test_page_token_walks_the_same_list(client):
    """Like every other list, a nextPageToken leads to the next page; the last has none."""
    ids, token = [], None
    while True:
        body = listing(client, "?pageSize=3" + (f"&pageToken={token}" if token else ""))
        ids += [d["id"] for d in body["componentDefinitions"]]
        token = body["nextPageToken"]
        if not token:
            break
    assert ids == sorted(d.type for d in default_registry())
    assert client.get(f"{URL}?pageToken=nonsense").status_code == 400


def test_full_view_carries_each_task_input_and_output_schema(client):
    """VIEW_FULL's spec is the schemas the recipe parser checks against."""
    for definition in default_registry():
        body = client.get(f"{URL}/{definition.type}?view=VIEW_FULL").json()["componentDefinition"]
        spec = body["spec"]
        assert [t["name"] for t in body["tasks"]] == list(definition.tasks)
        for task in definition.tasks.values():
            assert spec["dataSpecifications"][task.name] == {
                "input": task.input_schema,
                "output": task.output_schema,
            }
        branches = spec["componentSpecification"]["oneOf"]
        assert [b["properties"]["task"]["const"] for b in branches] == list(definition.tasks)
        assert all(("setup" in b["properties"]) == bool(definition.setup_schema) for b in branches)
    assert listing(client, "?pageSize=1&view=VIEW_FULL")["componentDefinitions"][0]["spec"] is not None


def test_what_the_api_lists_is_what_a_recipe_can_use(client):
    """Every listed type and task parses in a recipe; an unlisted type does not."""
    for definition in listing(client, "?pageSize=100")["componentDefinitions"]:
        task = definition["tasks"][0]["name"]
        recipe = {"component": {"c": {"type": definition["id"], "task": task, "input": {}}}}
        try:
            parse_recipe(recipe, registry=default_registry())
        except RecipeInvalid as exc:  # missing required inputs, never an unknown type or task
            assert "unknown component type" not in str(exc) and "task" not in {
                p.location.split(".")[-1] for p in exc.problems
            }
    assert client.get(f"{URL}/no-such-component").status_code == 404


def test_filter_by_fuzzy_title_type_stage_and_task(client):
    json_only = listing(client, '?pageSize=1&filter=qTitle="JSO"')
    assert json_only["totalSize"] == 1 and json_only["componentDefinitions"][0]["title"] == "JSON"
    assert listing(client, "?filter=q_title=%22jso%22")["totalSize"] == 1
    operators = listing(client, "?pageSize=1&filter=componentType=COMPONENT_TYPE_OPERATOR")
    assert 0 < operators["totalSize"] < TOTAL
    assert operators["componentDefinitions"][0]["type"] == "COMPONENT_TYPE_OPERATOR"
    ai = listing(client, '?filter=component_type="COMPONENT_TYPE_AI"')
    ai_types = sorted(d.type for d in default_registry() if d.kind == "ai")
    assert "openai" in ai_types
    assert [d["id"] for d in ai["componentDefinitions"]] == ai_types
    assert {"ollama", "cohere", "gemini", "universal-ai"} <= set(ai_types)
    alpha = listing(client, "?pageSize=1&filter=releaseStage=RELEASE_STAGE_ALPHA")
    assert alpha["totalSize"] == TOTAL and alpha["componentDefinitions"][0]["releaseStage"] == "RELEASE_STAGE_ALPHA"
    jq = listing(client, '?filter=tasks:"TASK_JQ"')
    assert [d["id"] for d in jq["componentDefinitions"]] == ["json"]
    both = listing(client, '?filter=componentType=COMPONENT_TYPE_OPERATOR AND qTitle="json"')
    assert [d["id"] for d in both["componentDefinitions"]] == ["json"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?filter=qTitle", "cannot be parsed"),
        ('?filter=colour="red"', "cannot use 'colour'"),
        ("?filter=componentType=COMPONENT_TYPE_ROBOT", "COMPONENT_TYPE_AI"),
        ('?filter=qTitle="json" AND', "cannot be parsed"),
        ("?view=VIEW_ALL", "view must be one of"),
        ("?pageSize=ten", "pageSize must be a whole number"),
    ],
)
def test_bad_query_is_a_clear_400(client, query, expected):
    response = client.get(URL + query)
    assert response.status_code == 400
    assert expected in response.json()["message"]


def test_get_one_and_unknown(client):
    body = client.get(f"{URL}/openai").json()["componentDefinition"]
    assert body["id"] == "openai" and body["type"] == "COMPONENT_TYPE_AI" and body["vendor"] == "OpenAI"
    assert body["spec"] is None
    assert {t["name"] for t in body["tasks"]} >= {"TASK_TEXT_GENERATION", "TASK_TEXT_EMBEDDINGS"}
    assert body["uid"] == listing(client, "?filter=qTitle=%22openai%22")["componentDefinitions"][0]["uid"]
    missing = client.get(f"{URL}/restapio")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Component definition does not exist."


def test_an_unknown_component_is_refused_at_trigger_naming_every_known_type(api, anon):
    """Saved as Instill saves it, refused when triggered: the refusal lists the same
    types the catalog does (plus iterator), as a closed list: nothing in it reads as
    "and N more" types."""
    listed = [d["id"] for d in anon.get(f"{URL}?pageSize=100").json()["componentDefinitions"]]
    raw = "component:\n  a: {type: asana, task: TASK_LIST_ISSUES}\n  b: {type: discord, task: TASK_X}\n"
    assert api.post("/v1beta/namespaces/alice/pipelines", {"id": "alien", "rawRecipe": raw}).status_code == 201
    response = api.post("/v1beta/namespaces/alice/pipelines/alien/trigger", {"data": [{"variable": {}}]})
    assert response.status_code == 400
    message = response.json()["message"]
    known = ", ".join(listed[:-1]) + f", {listed[-1]} and iterator"
    assert message == (
        f'invalid recipe: component.a.type: unknown component type "asana"; the known types are {known}'
        " (and 1 more problem)"
    ), message
    violations = response.json()["details"][0]["fieldViolations"]
    assert [v["field"] for v in violations] == ["component.a.type", "component.b.type"]
