"""Integrations and connections over gRPC, in the messages the Instill SDK 0.18 sends
(its ``create_connection`` puts the namespace inside the connection; its
``get_connection`` asks for view 3): the REST answers, owner-only, secrets masked."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2, json_format

from pipelines.grpc.gen.pipeline.pipeline.v1beta import integration_pb2 as ipb
from tests.api.test_connections import KEY, MASK, PIPELINES, RECIPE, raw_rows

pytestmark = pytest.mark.django_db(transaction=True)


def sdk_connection(cid: str = "my-openai", key: str = KEY) -> ipb.Connection:
    connection = ipb.Connection(
        namespace_id="alice", integration_id="openai", id=cid, method=ipb.Connection.METHOD_DICTIONARY
    )
    connection.setup.update({"api-key": key, "base-url": "http://localhost:9/v1"})
    return connection


def test_integrations_are_the_rest_ones(pipeline_stub, anon):
    listed = pipeline_stub.ListIntegrations(ipb.ListIntegrationsRequest(page_size=1), timeout=30)
    rest = anon.get("/v1beta/integrations", {"pageSize": 1}).json()
    assert [i.id for i in listed.integrations] == [i["id"] for i in rest["integrations"]]
    assert (listed.total_size, listed.next_page_token) == (rest["totalSize"], rest["nextPageToken"])
    full = pipeline_stub.GetIntegration(ipb.GetIntegrationRequest(integration_id="openai", view=2), timeout=30)
    assert "api-key" in json_format.MessageToDict(full.integration.setup_schema)["properties"]
    with pytest.raises(grpc.RpcError) as caught:
        pipeline_stub.GetIntegration(ipb.GetIntegrationRequest(integration_id="nope"), timeout=30)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_connection_calls_as_the_sdk_makes_them(pipeline_stub, alice_md, api, alice):
    created = pipeline_stub.CreateNamespaceConnection(
        ipb.CreateNamespaceConnectionRequest(connection=sdk_connection()), metadata=alice_md, timeout=30
    ).connection
    assert (created.id, created.namespace_id, created.integration_title) == ("my-openai", "alice", "OpenAI")
    assert json_format.MessageToDict(created.setup)["api-key"] == MASK and KEY not in raw_rows()
    got = pipeline_stub.GetNamespaceConnection(
        ipb.GetNamespaceConnectionRequest(namespace_id="alice", connection_id="my-openai", view=3),
        metadata=alice_md,
        timeout=30,
    ).connection
    assert json_format.MessageToDict(got.setup) == {"api-key": MASK, "base-url": "http://localhost:9/v1"}
    update = sdk_connection(key=MASK)
    update.setup["base-url"] = "http://localhost:8/v1"
    updated = pipeline_stub.UpdateNamespaceConnection(
        ipb.UpdateNamespaceConnectionRequest(
            connection_id="my-openai",
            connection=update,
            update_mask=field_mask_pb2.FieldMask(paths=["setup", "scopes", "identity"]),
        ),
        metadata=alice_md,
        timeout=30,
    ).connection
    assert json_format.MessageToDict(updated.setup)["base-url"] == "http://localhost:8/v1"
    listed = pipeline_stub.ListNamespaceConnections(
        ipb.ListNamespaceConnectionsRequest(namespace_id="alice", filter='integrationId="openai"'),
        metadata=alice_md,
        timeout=30,
    )
    assert [c.id for c in listed.connections] == ["my-openai"] and listed.total_size == 1
    assert api.post(PIPELINES, {"id": "chat", "rawRecipe": RECIPE}).status_code == 201
    referenced = pipeline_stub.ListPipelineIDsByConnectionID(
        ipb.ListPipelineIDsByConnectionIDRequest(namespace_id="alice", connection_id="my-openai"),
        metadata=alice_md,
        timeout=30,
    )
    assert list(referenced.pipeline_ids) == ["chat"]
    pipeline_stub.DeleteNamespaceConnection(
        ipb.DeleteNamespaceConnectionRequest(namespace_id="alice", connection_id="my-openai"),
        metadata=alice_md,
        timeout=30,
    )
    with pytest.raises(grpc.RpcError) as caught:
        pipeline_stub.GetNamespaceConnection(
            ipb.GetNamespaceConnectionRequest(namespace_id="alice", connection_id="my-openai"),
            metadata=alice_md,
            timeout=30,
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == "Connection my-openai doesn't exist."


def test_errors_match_rest(pipeline_stub, alice_md, bob_token, alice):
    bad = sdk_connection()
    bad.setup["api-kee"] = "x"
    with pytest.raises(grpc.RpcError) as caught:
        pipeline_stub.CreateNamespaceConnection(
            ipb.CreateNamespaceConnectionRequest(connection=bad), metadata=alice_md, timeout=30
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "setup.api-kee" in caught.value.details()
    request = ipb.ListNamespaceConnectionsRequest(namespace_id="alice")
    with pytest.raises(grpc.RpcError) as caught:
        pipeline_stub.ListNamespaceConnections(request, metadata=[("authorization", f"Bearer {bob_token}")])
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as caught:
        pipeline_stub.ListNamespaceConnections(request, timeout=30)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
