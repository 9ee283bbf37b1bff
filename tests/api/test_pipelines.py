"""Pipeline resources: create, list, get, patch, delete, validate, rename, clone, permissions."""

from __future__ import annotations

from tests.conftest import HELLO_RECIPE

NS = "/v1beta/namespaces/alice/pipelines"


def test_create_from_raw_recipe_and_get(api):
    response = api.post(NS, {"id": "greeter", "description": "says hello", "rawRecipe": HELLO_RECIPE})
    assert response.status_code == 201
    pipeline = response.json()["pipeline"]
    assert pipeline["id"] == "greeter" and pipeline["name"] == "users/alice/pipelines/greeter"
    assert pipeline["rawRecipe"] == HELLO_RECIPE
    assert pipeline["recipe"]["component"]["greet"]["type"] == "json"
    assert pipeline["visibility"] == "VISIBILITY_PRIVATE"
    assert pipeline["permission"] == {"canEdit": True, "canTrigger": True, "canRelease": True}
    spec = pipeline["dataSpecification"]
    assert "prompt" in spec["input"]["properties"] and "answer" in spec["output"]["properties"]
    got = api.get(f"{NS}/greeter").json()["pipeline"]
    assert got["uid"] == pipeline["uid"] and got["stats"]["numberOfRuns"] == 0


def test_create_from_recipe_json(api):
    recipe = {
        "version": "v1beta",
        "variable": {"x": {"type": "string"}},
        "component": {"m": {"type": "json", "task": "TASK_MARSHAL", "input": {"json": "${variable.x}"}}},
        "output": {"y": {"value": "${m.output.string}"}},
    }
    response = api.post(NS, {"id": "from-json", "recipe": recipe})
    assert response.status_code == 201, response.json()
    assert "TASK_MARSHAL" in response.json()["pipeline"]["rawRecipe"]


def test_create_errors(api, alice, make_pipeline):
    make_pipeline(alice, "taken")
    cases = [
        ({"id": "Bad_ID", "rawRecipe": HELLO_RECIPE}, 400, "id"),
        ({"id": "x" * 64}, 400, "id"),
        ({"id": "taken"}, 409, "taken"),
        ({"id": "bad-recipe", "rawRecipe": "component: {a: {type: json, task: T}}"}, 400, "component.a"),
        ({"id": "bad-yaml", "rawRecipe": "variable: [unclosed"}, 400, "recipe"),
    ]
    for body, status, word in cases:
        response = api.post(NS, body)
        assert response.status_code == status, (body, response.json())
        assert word in response.json()["message"], response.json()


def test_invalid_recipe_lists_every_problem(api):
    raw = """
variable: {}
component:
  a: {type: json, task: TASK_NOPE, input: {}}
  b: {type: json, task: TASK_JQ, input: {jq-filter: ".", json-value: "${variable.missing}"}}
"""
    response = api.post(NS, {"id": "broken", "rawRecipe": raw})
    assert response.status_code == 400
    violations = response.json()["details"][0]["fieldViolations"]
    fields = {v["field"] for v in violations}
    assert any(f.startswith("component.a") for f in fields) and any(f.startswith("component.b") for f in fields)
    # The message shows the first problem and counts the others as problems: "(and 1
    # more)" after "known tasks: ..." would read as one more task.
    message = response.json()["message"]
    assert message.startswith('invalid recipe: component.a.task: unknown task "TASK_NOPE"'), message
    assert message.endswith("(and 1 more problem)"), message


def test_plaintext_credential_refused(api):
    raw = """
component:
  call:
    type: http
    task: TASK_GET
    input: {endpoint-url: "https://example.com"}
    setup:
      authentication: {auth-type: BEARER_TOKEN, token: "plaintext-secret"}
"""
    response = api.post(NS, {"id": "leaky", "rawRecipe": raw})
    assert response.status_code == 400
    assert "Plaintext values are forbidden" in response.json()["message"]


def test_list_namespace_and_all_readable(api, bob_api, alice, bob, make_pipeline):
    make_pipeline(alice, "mine-private")
    make_pipeline(bob, "bobs-public", public="ROLE_VIEWER")
    make_pipeline(bob, "bobs-private")
    ids = {p["id"] for p in api.get("/v1beta/pipelines").json()["pipelines"]}
    assert ids == {"mine-private", "bobs-public"}
    bob_ns = api.get("/v1beta/namespaces/bob/pipelines").json()
    assert [p["id"] for p in bob_ns["pipelines"]] == ["bobs-public"] and bob_ns["totalSize"] == 1


def test_list_pagination(api, alice, make_pipeline):
    for i in range(5):
        make_pipeline(alice, f"p{i}")
    first = api.get(NS, {"pageSize": 2}).json()
    assert len(first["pipelines"]) == 2 and first["totalSize"] == 5 and first["nextPageToken"]
    seen = [p["id"] for p in first["pipelines"]]
    token = first["nextPageToken"]
    while token:
        page = api.get(NS, {"pageSize": 2, "pageToken": token}).json()
        seen += [p["id"] for p in page["pipelines"]]
        token = page["nextPageToken"]
    assert sorted(seen) == [f"p{i}" for i in range(5)]
    assert api.get(NS, {"pageToken": "garbage!"}).status_code == 400


def test_search_filter(api, alice, make_pipeline):
    make_pipeline(alice, "alpha", description="first one")
    make_pipeline(alice, "beta", description="second")
    assert [p["id"] for p in api.get(NS, {"filter": "alp"}).json()["pipelines"]] == ["alpha"]
    assert [p["id"] for p in api.get(NS, {"filter": "second"}).json()["pipelines"]] == ["beta"]


def test_private_pipeline_of_another_user_is_404(bob_api, hello):
    for method, path in (
        ("get", f"{NS}/hello"),
        ("patch", f"{NS}/hello"),
        ("delete", f"{NS}/hello"),
        ("post", f"{NS}/hello/trigger"),
    ):
        response = (
            getattr(bob_api, method)(path)
            if method != "post"
            else bob_api.post(path, {"data": [{"variable": {"prompt": "x"}}]})
        )
        assert response.status_code == 404, (method, response.content)
        assert response.json()["code"] == 5


def test_public_viewer_can_read_not_edit_or_trigger(bob_api, alice, make_pipeline, anon):
    make_pipeline(alice, "shown", public="ROLE_VIEWER")
    got = bob_api.get(f"{NS}/shown").json()["pipeline"]
    assert got["permission"] == {"canEdit": False, "canTrigger": False, "canRelease": False}
    assert anon.get(f"{NS}/shown").status_code == 200
    assert bob_api.patch(f"{NS}/shown", {"description": "mine now"}).status_code == 403
    response = bob_api.post(f"{NS}/shown/trigger", {"data": [{"variable": {"prompt": "x"}}]})
    assert response.status_code == 403 and response.json()["code"] == 7


def test_public_executor_can_trigger(bob_api, alice, make_pipeline, anon):
    make_pipeline(alice, "open", public="ROLE_EXECUTOR")
    response = bob_api.post(f"{NS}/open/trigger", {"data": [{"variable": {"prompt": "bob"}}]})
    assert response.status_code == 200 and response.json()["outputs"] == [{"answer": "Hello bob"}]
    assert anon.post(f"{NS}/open/trigger", {"data": [{"variable": {"prompt": "x"}}]}).status_code == 401


def test_patch_updates_recipe_and_visibility(api, hello):
    new = HELLO_RECIPE.replace("Hello", "Hi")
    response = api.patch(f"{NS}/hello", {"rawRecipe": new, "description": "hi", "visibility": "VISIBILITY_PUBLIC"})
    assert response.status_code == 200
    pipeline = response.json()["pipeline"]
    assert pipeline["description"] == "hi" and pipeline["visibility"] == "VISIBILITY_PUBLIC"
    out = api.post(f"{NS}/hello/trigger", {"data": [{"variable": {"prompt": "you"}}]}).json()
    assert out["outputs"] == [{"answer": "Hi you"}]


def test_patch_with_invalid_recipe_keeps_the_old_one(api, hello):
    response = api.patch(f"{NS}/hello", {"rawRecipe": "component: {x: {type: json, task: NOPE}}"})
    assert response.status_code == 400
    assert api.get(f"{NS}/hello?view=VIEW_FULL").json()["pipeline"]["rawRecipe"] == HELLO_RECIPE


def test_sharing_validation(api, hello):
    bad = {"sharing": {"users": {"bob": {"enabled": True, "role": "ROLE_VIEWER"}}}}
    assert api.patch(f"{NS}/hello", bad).status_code == 400
    bad_role = {"sharing": {"users": {"*/*": {"enabled": True, "role": "ROLE_GOD"}}}}
    assert "role" in api.patch(f"{NS}/hello", bad_role).json()["message"]


def test_delete(api, hello):
    assert api.delete(f"{NS}/hello").status_code == 204
    assert api.get(f"{NS}/hello").status_code == 404


def test_validate_endpoint(api, hello):
    assert api.post(f"{NS}/hello/validate", {}).json() == {"success": True, "errors": [], "warnings": []}
    draft = "component:\n  a: {type: json, task: TASK_NOPE}\n"
    result = api.post(f"{NS}/hello/validate", {"rawRecipe": draft}).json()
    assert result["success"] is False and result["errors"][0]["location"].startswith("component.a")


def test_rename(api, hello):
    response = api.post(f"{NS}/hello/rename", {"newPipelineId": "hi"})
    assert response.status_code == 200 and response.json()["pipeline"]["id"] == "hi"
    assert api.get(f"{NS}/hello").status_code == 404
    assert api.post(f"{NS}/hi/rename", {"newPipelineId": "Not Valid"}).status_code == 400


def test_clone_public_pipeline_into_own_namespace(bob_api, alice, make_pipeline):
    make_pipeline(alice, "source", public="ROLE_VIEWER")
    response = bob_api.post(f"{NS}/source/clone", {"targetNamespaceId": "bob", "targetPipelineId": "copy"})
    assert response.status_code == 201
    copy = bob_api.get("/v1beta/namespaces/bob/pipelines/copy").json()["pipeline"]
    assert copy["visibility"] == "VISIBILITY_PRIVATE" and copy["permission"]["canEdit"]
    # cloning into someone else's namespace is refused
    assert (
        bob_api.post(f"{NS}/source/clone", {"targetNamespaceId": "alice", "targetPipelineId": "x"}).status_code == 403
    )


def test_path_forms(api, hello):
    """`namespaces`, `namespace`, `users` and `organizations` reach the same pipeline."""
    for kind in ("namespaces", "namespace", "users", "organizations"):
        assert api.get(f"/v1beta/{kind}/alice/pipelines/hello").status_code == 200


def test_unknown_namespace_is_404(api):
    response = api.get("/v1beta/namespaces/nobody/pipelines/x")
    assert response.status_code == 404 and "nobody" in response.json()["message"]


def test_cannot_create_in_another_namespace(bob_api, alice):
    response = bob_api.post(NS, {"id": "intruder"})
    assert response.status_code == 403
