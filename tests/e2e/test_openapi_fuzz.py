"""Schemathesis against our own ``/v1beta/openapi.json`` on a live ``manage.py serve``:
no answer is a 5xx, and every answer has a status, content type and body the schema
documents (issue 13 §4).

Each operation gets a small, fixed number of examples (derandomized, so a run is
repeatable and CI stays fast), twice: once with ids as generated (mostly unknown ones,
which exercise the refusal paths) and once with ids pinned to real resources — the
admin's ``hello`` pipeline, a release, a run, a secret, a token — so that validation
and the successful paths are fuzzed too. Before a case that deletes or renames, the
pinned resources are put back. Then a few stateful scenarios follow the links between
operations that schemathesis infers from the response bodies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pipelines.demo import HELLO
from tests.e2e.conftest import start_server

pytestmark = pytest.mark.e2e

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Per operation and pass; PIPELINE_FUZZ_EXAMPLES=200 fuzzes deeper by hand.
EXAMPLES = int(os.environ.get("PIPELINE_FUZZ_EXAMPLES", "8"))
# Scenarios of linked calls, each of a few steps.
SCENARIOS = int(os.environ.get("PIPELINE_FUZZ_SCENARIOS", "15"))
ADMIN_TOKEN = "fuzz-admin"
STATEFUL_TOKEN = "fuzzer-token"
ROOT = Path(__file__).resolve().parents[2]
PINNED = {
    "kind": "namespaces",
    "namespace_id": "admin",
    "pipeline_id": "hello",
    "release_id": "v1.0.0",
    "secret_id": "fuzz-secret",
    "token_id": "fuzz-token",
}


class Fixture:
    """The server, its admin token and the real resources the pinned ids name."""

    def __init__(self, data_dir: Path) -> None:
        self.server = start_server(data_dir, "openapi-fuzz")
        self.token = self.server.create_token(ADMIN_TOKEN)
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.client = httpx.Client(base_url=self.server.base_url, headers=self.headers, timeout=30)
        self._only_private_hello()
        self.restore()
        self.stateful = self._user("fuzzer")
        answer = self.client.post(
            "/v1beta/namespaces/admin/pipelines/hello/trigger-async", json={"data": [{"variable": {"prompt": "fuzz"}}]}
        )
        self.run_uid = answer.json()["operation"]["name"].removeprefix("operations/")

    def restore(self) -> None:
        """Create what the pinned ids name (a 409 means it is there already)."""
        base = "/v1beta/namespaces/admin"
        for path, body in (
            (f"{base}/pipelines", {"id": "hello", "rawRecipe": HELLO}),
            (f"{base}/pipelines/hello/releases", {"id": "v1.0.0"}),
            (f"{base}/secrets", {"id": "fuzz-secret", "value": "not a real one"}),
            ("/v1beta/tokens", {"id": "fuzz-token", "ttl": -1}),
        ):
            status = self.client.post(path, json=body).status_code
            assert status in (201, 409), (path, status)

    def _only_private_hello(self) -> None:
        """The demos go and ``hello`` is private: no pipeline is the stateful user's to
        trigger or list but its own (see test_stateful_workflows)."""
        listed = self.client.get("/v1beta/namespaces/admin/pipelines", params={"pageSize": 100}).json()["pipelines"]
        for pipeline in listed:
            if pipeline["id"] != "hello":
                assert self.client.delete(f"/v1beta/{pipeline['name']}").status_code == 204
        private = {"sharing": {"users": {"*/*": {"enabled": False, "role": "ROLE_VIEWER"}}}}
        assert self.client.patch("/v1beta/namespaces/admin/pipelines/hello", json=private).status_code == 200

    def _user(self, username: str) -> dict[str, str]:
        """A second user (``manage.py create_user``) and its token: the headers to send."""
        password = "fuzz-" + username + "-password"
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "create_user", username, "--password-stdin"],
            input=password + "\n",
            text=True,
            check=True,
            capture_output=True,
            env={**os.environ, "PIPELINE_DATA_DIR": str(self.server.data_dir)},
        )
        answer = httpx.post(
            self.server.base_url + "/v1beta/tokens", json={"id": STATEFUL_TOKEN, "ttl": -1}, auth=(username, password)
        )
        assert answer.status_code == 201, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']['accessToken']}"}

    def pin(self, case) -> None:
        ids = {**PINNED, "run_uid": self.run_uid, "operation_id": self.run_uid}
        for name in case.path_parameters or {}:
            if name in ids:
                case.path_parameters[name] = ids[name]

    def close(self) -> None:
        self.client.close()
        self.server.stop()


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    fixture = Fixture(tmp_path_factory.mktemp("openapi-fuzz"))
    try:
        yield fixture
    finally:
        fixture.close()


def openapi() -> dict:
    """The document ``/v1beta/openapi.json`` serves, made the way it makes it. Built here
    rather than fetched: the tests are made when pytest collects them, before any
    server runs (test_served_schema_is_the_one_fuzzed checks they are the same)."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(openapi())
schema.config.generation.update(
    max_examples=EXAMPLES, deterministic=True, database="none", with_security_parameters=False
)
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def test_served_schema_is_the_one_fuzzed(fuzz: Fixture) -> None:
    import json

    served = fuzz.client.get("/v1beta/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(openapi()))


def destructive(case) -> bool:
    return case.method == "DELETE" or case.path.endswith("/rename")


@schema.parametrize()
@FUZZ_SETTINGS
def test_generated_ids(case, fuzz: Fixture) -> None:
    """Whatever ids and bodies are sent: a documented answer, never a 5xx."""
    case.call_and_validate(base_url=fuzz.server.base_url, headers=fuzz.headers, checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_real_ids(case, fuzz: Fixture) -> None:
    """The same against real resources: bodies reach validation and the services."""
    fuzz.pin(case)
    if destructive(case):
        fuzz.restore()
    case.call_and_validate(base_url=fuzz.server.base_url, headers=fuzz.headers, checks=CHECKS)


def test_stateful_workflows(fuzz: Fixture) -> None:
    """Chains of calls linked by the schema's responses: create a pipeline, then read,
    change, release, trigger, rename or delete it; list tokens or secrets, then read or
    delete one. Each answer as documented, none a 5xx.

    The scenarios run as a user of their own, in its namespace, and each ends by
    deleting all the user has made (runs go with their pipelines). So every scenario
    starts from the same state: Hypothesis rejects generation that a changed server
    state would make unrepeatable."""
    client = httpx.Client(base_url=fuzz.server.base_url, headers=fuzz.stateful, timeout=30)

    def reset() -> None:
        for path, key in (
            ("/v1beta/namespaces/fuzzer/pipelines", "pipelines"),
            ("/v1beta/namespaces/fuzzer/secrets", "secrets"),
        ):
            for item in client.get(path, params={"pageSize": 100}).json()[key]:
                client.delete(f"/v1beta/{item['name']}")
        for token in client.get("/v1beta/tokens", params={"pageSize": 100}).json()["tokens"]:
            if token["id"] != STATEFUL_TOKEN:
                client.delete(f"/v1beta/tokens/{token['id']}")

    class Workflow(schema.as_state_machine()):
        def before_call(self, case) -> None:
            parameters = case.path_parameters or {}
            for name, value in (("kind", "namespaces"), ("namespace_id", "fuzzer")):
                if name in parameters:
                    parameters[name] = value
            if case.method == "DELETE" and parameters.get("token_id") == STATEFUL_TOKEN:
                parameters["token_id"] = "not-this-one"  # never sign the scenarios out

        def teardown(self) -> None:
            reset()

        def get_call_kwargs(self, case) -> dict:
            return {"base_url": fuzz.server.base_url, "headers": fuzz.stateful}

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    with client:
        Workflow.run(
            settings=settings(
                max_examples=SCENARIOS,
                stateful_step_count=6,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
        )
