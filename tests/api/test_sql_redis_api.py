"""The ``sql`` and ``redis`` components through the API: listed by
``/v1beta/component-definitions`` with Instill's ids, tasks and types, offered as
integrations, and a saved pipeline whose setup is a connection triggered over REST
against a real PostgreSQL and a real Redis (tests/servers.py), the password masked in
every answer and in the stored run."""

from __future__ import annotations

import pytest
from django.db import connection as db

pytestmark = pytest.mark.django_db(transaction=True)

CONNECTIONS = "/v1beta/namespaces/alice/connections"
PIPELINES = "/v1beta/namespaces/alice/pipelines"
MASK = "*****MASK*****"

SQL_TASKS = [
    "TASK_INSERT",
    "TASK_INSERT_MANY",
    "TASK_UPDATE",
    "TASK_SELECT",
    "TASK_DELETE",
    "TASK_CREATE_TABLE",
    "TASK_DROP_TABLE",
]
REDIS_TASKS = ["TASK_RETRIEVE_CHAT_HISTORY", "TASK_WRITE_CHAT_MESSAGE", "TASK_WRITE_MULTI_MODAL_CHAT_MESSAGE"]


@pytest.mark.parametrize(
    ("type_", "tasks", "title", "setup_fields"),
    [
        ("sql", SQL_TASKS, "SQL", {"engine", "username", "password", "database-name", "host", "port", "ssl-tls"}),
        ("redis", REDIS_TASKS, "Redis", {"host", "port", "username", "password", "ssl"}),
    ],
)
def test_listed_with_instills_ids_and_tasks(anon, db, type_, tasks, title, setup_fields):
    body = anon.get(f"/v1beta/component-definitions/{type_}?view=VIEW_FULL").json()["componentDefinition"]
    assert body["id"] == type_ and body["title"] == title and body["type"] == "COMPONENT_TYPE_DATA"
    assert [t["name"] for t in body["tasks"]] == tasks
    # Other components may have the task too (weaviate's TASK_INSERT): it is among those listed.
    listed = anon.get(f'/v1beta/component-definitions?filter=tasks:"{tasks[0]}"&pageSize=100').json()
    assert type_ in [d["id"] for d in listed["componentDefinitions"]]
    integration = anon.get(f"/v1beta/integrations/{type_}?view=VIEW_FULL").json()["integration"]
    assert set(integration["setupSchema"]["properties"]) == setup_fields


RECIPE = """\
version: v1beta
variable:
  name: {instill-format: string}
  session: {instill-format: string}
component:
  save:
    type: sql
    task: TASK_INSERT
    input: {table-name: api_people, data: {name: "${variable.name}"}}
    setup: ${connection.people-db}
  find:
    type: sql
    task: TASK_SELECT
    condition: ${save.output.status} != ""
    input: {table-name: api_people, columns: [name]}
    setup: ${connection.people-db}
  remember:
    type: redis
    task: TASK_WRITE_CHAT_MESSAGE
    input: {session-id: "${variable.session}", role: user, content: "${variable.name}"}
    setup: ${connection.chat}
  recall:
    type: redis
    task: TASK_RETRIEVE_CHAT_HISTORY
    condition: ${remember.output.status} == true
    input: {session-id: "${variable.session}"}
    setup: ${connection.chat}
output:
  rows: {value: "${find.output.rows}"}
  messages: {value: "${recall.output.messages}"}
"""


def test_a_pipeline_on_connections_runs_over_rest_with_the_password_masked(
    api, alice, settings, postgres_server, redis_server
):
    from tests.components.test_sql_component import sql

    setup = postgres_server.setup()
    allowed = {"http_allowed_hosts": ["127.0.0.1"]}
    try:
        sql("TASK_DROP_TABLE", {"table-name": "api_people"}, setup, allowed)
    except Exception:  # noqa: BLE001 - not there yet
        pass
    sql("TASK_CREATE_TABLE", {"table-name": "api_people", "columns-structure": {"name": "TEXT"}}, setup, allowed)
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = [f"127.0.0.1:{postgres_server.port}", f"127.0.0.1:{redis_server.port}"]

    created = api.post(CONNECTIONS, {"id": "people-db", "integrationId": "sql", "setup": setup})
    assert created.status_code == 201, created.content
    assert created.json()["connection"]["setup"]["password"] == MASK
    chat = {"id": "chat", "integrationId": "redis", "setup": {"host": "127.0.0.1", "port": redis_server.port}}
    assert api.post(CONNECTIONS, chat).status_code == 201
    assert api.post(PIPELINES, {"id": "people", "rawRecipe": RECIPE}).status_code == 201

    row = {"data": [{"variable": {"name": "Grace", "session": "api-session"}}]}
    response = api.post(f"{PIPELINES}/people/trigger", row, HTTP_INSTILL_RETURN_TRACES="true")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["outputs"] == [
        {"rows": [{"name": "Grace"}], "messages": [{"role": "user", "content": [{"type": "text", "text": "Grace"}]}]}
    ]
    runs = api.get(f"{PIPELINES}/people/runs").json()
    run_uid = runs["pipelineRuns"][0]["pipelineRunUid"]
    component_runs = api.get(f"{PIPELINES}/people/runs/{run_uid}/component-runs").json()
    for answer in (body, runs, component_runs):
        assert postgres_server.password not in str(answer)
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM pipelines_connection")
        stored = repr(cursor.fetchall())
        cursor.execute("SELECT payload FROM pipelines_runevent")
        stored += repr(cursor.fetchall())
    assert postgres_server.password not in stored
    sql("TASK_DROP_TABLE", {"table-name": "api_people"}, setup, allowed)


def test_a_pipeline_without_the_allow_list_fails_naming_the_host_and_setting(api, alice, postgres_server):
    setup = postgres_server.setup()
    assert api.post(CONNECTIONS, {"id": "people-db", "integrationId": "sql", "setup": setup}).status_code == 201
    assert (
        api.post(
            CONNECTIONS, {"id": "chat", "integrationId": "redis", "setup": {"host": "localhost", "port": 6379}}
        ).status_code
        == 201
    )
    assert api.post(PIPELINES, {"id": "people", "rawRecipe": RECIPE}).status_code == 201
    row = {"data": [{"variable": {"name": "Grace", "session": "s"}}]}
    response = api.post(f"{PIPELINES}/people/trigger", row, HTTP_INSTILL_RETURN_TRACES="true")
    assert response.status_code in (200, 400, 422), response.content
    text = response.content.decode()
    assert "setup.host: request to 127.0.0.1 refused" in text and "PIPELINE_HTTP_ALLOWED_HOSTS" in text
    assert "setup.host: request to localhost refused" in text
