"""An application component's setup as a connection made through the API: a pipeline
sends mail with ``setup: ${connection.mail}`` through a real SMTP server (aiosmtpd,
STARTTLS, login; tests/components/mail_servers.py), and the password shows in no answer,
run record or stored event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection as db

from tests.components.mail_servers import PASSWORD, USER, make_certificate, start_smtp

pytestmark = pytest.mark.django_db(transaction=True)

CONNECTIONS = "/v1beta/namespaces/alice/connections"
PIPELINES = "/v1beta/namespaces/alice/pipelines"
MASK = "*****MASK*****"

RECIPE = """
version: v1beta
variable:
  subject:
    type: string
component:
  send:
    type: email
    task: TASK_SEND_EMAIL
    input:
      recipients: [bob@example.com]
      subject: ${variable.subject}
      message: Sent by a pipeline.
    setup: ${connection.mail}
output:
  result:
    value: ${send.output.result}
"""


@pytest.fixture(scope="module")
def smtp(tmp_path_factory) -> Iterator[Any]:
    certificate = make_certificate(tmp_path_factory.mktemp("smtp-cert"))
    server = start_smtp(*certificate, implicit_tls=False)
    yield server
    server.stop()


def stored() -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM pipelines_connection")
        rows = cursor.fetchall()
        cursor.execute("SELECT payload FROM pipelines_runevent")
        return repr(rows) + repr(cursor.fetchall())


@pytest.mark.parametrize("password", [PASSWORD, "wrong-password-4242"], ids=["sent", "refused"])
def test_a_pipeline_sends_mail_on_its_connection(api, alice, smtp, settings, monkeypatch, password):
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = [f"localhost:{smtp.port}"]
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp.certificate[0]))
    smtp.received.clear()
    setup = {"server-address": "localhost", "server-port": smtp.port, "email-address": USER, "password": password}
    created = api.post(
        CONNECTIONS, {"id": "mail", "integrationId": "email", "method": "METHOD_DICTIONARY", "setup": setup}
    )
    assert created.status_code == 201, created.content
    assert created.json()["connection"]["setup"]["password"] == MASK
    assert api.post(PIPELINES, {"id": "mailer", "rawRecipe": RECIPE}).status_code == 201

    response = api.post(
        f"{PIPELINES}/mailer/trigger",
        {"data": [{"variable": {"subject": "Weekly"}}]},
        HTTP_INSTILL_RETURN_TRACES="true",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    if password == PASSWORD:
        assert body["outputs"] == [{"result": "Email sent successfully"}]
        (envelope,) = smtp.received
        assert envelope.rcpt_tos == ["bob@example.com"] and b"Subject: Weekly" in envelope.original_content
    else:
        assert smtp.received == []
        error = str(body["metadata"]["traces"]["send"])
        assert f"refused the login of {USER}" in error
    runs = api.get(f"{PIPELINES}/mailer/runs").json()
    run_uid = runs["pipelineRuns"][0]["pipelineRunUid"]
    component_runs = api.get(f"{PIPELINES}/mailer/runs/{run_uid}/component-runs").json()
    for answer in (body, runs, component_runs, api.get(f"{CONNECTIONS}/mail", {"view": "VIEW_FULL"}).json()):
        assert password not in str(answer)
    assert password not in stored()
