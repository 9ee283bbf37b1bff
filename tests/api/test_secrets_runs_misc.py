"""Secrets, run history, health, the OpenAPI schema and error shapes for unknown paths."""

from __future__ import annotations

from pipelines.models import Secret

SECRETS = "/v1beta/namespaces/alice/secrets"
TRIGGER = "/v1beta/namespaces/alice/pipelines/hello/trigger"


def test_secret_crud_value_write_only_and_encrypted(api):
    response = api.post(SECRETS, {"id": "openai", "value": "sk-very-secret", "description": "key"})
    assert response.status_code == 201
    assert "value" not in response.json()["secret"]
    row = Secret.objects.get()
    assert "sk-very-secret" not in row.encrypted_value
    listed = api.get(SECRETS).json()
    assert listed["totalSize"] == 1 and "sk-very-secret" not in str(listed)
    assert api.patch(f"{SECRETS}/openai", {"value": "sk-new"}).status_code == 200
    assert "sk-new" not in str(api.get(f"{SECRETS}/openai").json())
    assert api.post(SECRETS, {"id": "openai", "value": "x"}).status_code == 409
    assert api.post(SECRETS, {"id": "Bad Id", "value": "x"}).status_code == 400
    assert api.post(SECRETS, {"id": "empty", "value": ""}).status_code == 400
    assert api.delete(f"{SECRETS}/openai").status_code == 204
    assert api.get(f"{SECRETS}/openai").status_code == 404


def test_other_users_cannot_touch_secrets(bob_api, alice):
    assert bob_api.get(SECRETS).status_code == 403
    assert bob_api.post(SECRETS, {"id": "x", "value": "y"}).status_code == 403


def test_runs_listed_newest_first_with_access_rules(api, bob_api, alice, make_pipeline):
    make_pipeline(alice, "hello", public="ROLE_EXECUTOR")
    for prompt in ("one", "two"):
        api.post(TRIGGER, {"data": [{"variable": {"prompt": prompt}}]})
    bob_api.post(TRIGGER, {"data": [{"variable": {"prompt": "bob"}}]})
    runs = api.get("/v1beta/namespaces/alice/pipelines/hello/runs").json()
    assert runs["totalSize"] == 3 and runs["page"] == 0 and runs["pageSize"] == 10
    first = runs["pipelineRuns"][0]
    assert first["inputs"] == [{"prompt": "bob"}] and first["status"] == "RUN_STATUS_COMPLETED"
    assert (
        first["pipelineRunUid"] == first["id"] and first["pipelineVersion"] == "latest" and first["runnerId"] == "bob"
    )
    # bob sees only his own run
    bobs = bob_api.get("/v1beta/namespaces/alice/pipelines/hello/runs").json()
    assert bobs["totalSize"] == 1 and bobs["pipelineRuns"][0]["runnerId"] == "bob"
    paged = api.get("/v1beta/namespaces/alice/pipelines/hello/runs", {"pageSize": 1, "page": 2}).json()
    assert paged["pipelineRuns"][0]["inputs"] == [{"prompt": "one"}]
    assert (
        api.get("/v1beta/namespaces/alice/pipelines/hello/runs", {"status": "RUN_STATUS_FAILED"}).json()["totalSize"]
        == 0
    )
    assert api.get("/v1beta/namespaces/alice/pipelines/hello/runs", {"status": "NOPE"}).status_code == 400


def test_component_runs_both_paths_and_access(api, bob_api, hello):
    api.post(TRIGGER, {"data": [{"variable": {"prompt": "x"}}]})
    uid = api.get("/v1beta/namespaces/alice/pipelines/hello/runs").json()["pipelineRuns"][0]["pipelineRunUid"]
    for path in (
        f"/v1beta/pipeline-runs/{uid}/component-runs",
        f"/v1beta/namespaces/alice/pipelines/hello/runs/{uid}/component-runs",
    ):
        body = api.get(path).json()
        assert body["totalSize"] == 1
        component = body["componentRuns"][0]
        assert component["componentId"] == "greet" == component["id"] and component["status"] == "RUN_STATUS_COMPLETED"
        assert component["outputs"] == [{"results": ["Hello x"]}]
    assert bob_api.get(f"/v1beta/pipeline-runs/{uid}/component-runs").status_code == 404


def test_stats_count_runs(api, hello):
    api.post(TRIGGER, {"data": [{"variable": {"prompt": "x"}}]})
    stats = api.get("/v1beta/namespaces/alice/pipelines/hello").json()["pipeline"]["stats"]
    assert stats["numberOfRuns"] == 1 and stats["lastRunTime"]


def test_health(anon, db):
    assert anon.get("/v1beta/__liveness").json() == {"healthCheckResponse": {"status": "SERVING_STATUS_SERVING"}}
    assert anon.get("/v1beta/__readiness").status_code == 200


def test_openapi_schema_and_docs(anon, db):
    response = anon.get("/v1beta/openapi.json")
    assert response.status_code == 200
    schema = response.json() if response["Content-Type"].startswith("application/json") else None
    if schema is None:
        import yaml

        schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert any("/tokens" in p for p in schema["paths"])
    assert "/v1beta/namespaces/{namespace_id}/pipelines/{pipeline_id}/trigger" in schema["paths"]
    assert anon.get("/v1beta/docs").status_code == 200


def test_unknown_api_path_is_json_404(anon, db):
    response = anon.get("/v1beta/no/such/thing")
    assert response.status_code == 404 and response.json()["code"] == 5
