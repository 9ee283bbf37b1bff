"""The gRPC lists page and filter as the REST ones do: ``page_size``/``page_token``
(``page`` for component definitions), AIP-160 ``filter``, a bad filter an
INVALID_ARGUMENT naming where it goes wrong."""

from __future__ import annotations

import grpc
import pytest

from pipelines.grpc.gen.pipeline.pipeline.v1beta import component_definition_pb2 as cd
from pipelines.grpc.gen.pipeline.pipeline.v1beta import integration_pb2 as ipb
from pipelines.services.connections import connection_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_connections_walk_by_token_with_an_expression(pipeline_stub, alice_md, alice):
    for n in range(5):
        connection_create(
            namespace=alice.namespace,
            data={"id": f"c{n}", "integrationId": "openai", "method": "METHOD_DICTIONARY", "setup": {"api-key": "k"}},
        )
    seen, token = [], ""
    while True:
        page = pipeline_stub.ListNamespaceConnections(
            ipb.ListNamespaceConnectionsRequest(
                namespace_id="alice", page_size=2, page_token=token, filter='id="c1" OR NOT qConnection="c1"'
            ),
            metadata=alice_md,
            timeout=30,
        )
        assert page.total_size == 5
        seen += [c.id for c in page.connections]
        token = page.next_page_token
        if not token:
            break
    assert seen == ["c0", "c1", "c2", "c3", "c4"]
    only = pipeline_stub.ListNamespaceConnections(
        ipb.ListNamespaceConnectionsRequest(namespace_id="alice", filter='-(id="c0" OR id="c1") id!="c4"'),
        metadata=alice_md,
        timeout=30,
    )
    assert [c.id for c in only.connections] == ["c2", "c3"]


def test_catalog_lists_take_expressions(pipeline_stub):
    found = pipeline_stub.ListComponentDefinitions(
        cd.ListComponentDefinitionsRequest(filter='qTitle="jso" OR qTitle="base6"', page_size=1, page=1), timeout=30
    )
    assert (found.total_size, found.page, [d.id for d in found.component_definitions]) == (2, 1, ["json"])
    integrations = pipeline_stub.ListIntegrations(ipb.ListIntegrationsRequest(filter="open OR cohere"), timeout=30)
    assert sorted(i.id for i in integrations.integrations) == ["cohere", "openai"]


@pytest.mark.parametrize(
    ("call", "request_", "message"),
    [
        (
            "ListComponentDefinitions",
            cd.ListComponentDefinitionsRequest(filter="qTitle=json)"),
            'filter cannot be parsed at column 12: ")" closes no "("',
        ),
        ("ListIntegrations", ipb.ListIntegrationsRequest(filter="vendor:x"), "filter cannot use 'vendor' (column 1)"),
        ("ListIntegrations", ipb.ListIntegrationsRequest(page_token="nope"), "pageToken is not a token"),
    ],
)
def test_bad_lists_are_invalid_argument(pipeline_stub, db, call, request_, message):
    with pytest.raises(grpc.RpcError) as caught:
        getattr(pipeline_stub, call)(request_, timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in caught.value.details()
