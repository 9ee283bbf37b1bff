"""Saving a recipe whose output would return a secret answers 400 naming the output."""

from __future__ import annotations

NS = "/v1beta/namespaces/alice/pipelines"

RAW = """
component:
  call:
    type: http
    task: TASK_GET
    input:
      endpoint-url: "https://api.example.com/v1"
      header: {Authorization: ["Bearer ${secret.api-key}"]}
output:
  status: {value: "${call.output.status-code}"}
  headers: {value: "${call.input.header}"}
  key: {value: "${secret.api-key}"}
"""


def test_an_output_returning_a_secret_is_refused(api, alice):
    """Creating the pipeline lists each output that would return a secret (the direct
    reference and the component input carrying one) in the error shape."""
    response = api.post(NS, {"id": "leaky", "rawRecipe": RAW})
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"code", "message", "details"}
    fields = {v["field"] for v in body["details"][0]["fieldViolations"]}
    assert fields == {"output.headers.value", "output.key.value"}
    assert "outputs cannot expose secrets" in body["message"]
    fixed = RAW.replace('  headers: {value: "${call.input.header}"}\n', "").replace(
        '  key: {value: "${secret.api-key}"}\n', ""
    )
    assert api.post(NS, {"id": "leaky", "rawRecipe": fixed}).status_code == 201
