"""Rate limits and the sign-in throttle over gRPC: RESOURCE_EXHAUSTED naming the limit."""

from __future__ import annotations

import base64

import grpc
import pytest

from tests.conftest import PASSWORD
from tests.grpc.test_grpc_api import call, rows

pytestmark = pytest.mark.django_db(transaction=True)


def _trigger(stub, metadata, method: str = "TriggerNamespacePipeline"):
    return call(stub, method, metadata, namespace_id="alice", pipeline_id="hello", data=rows({"prompt": "x"}))


def test_trigger_rate_limit_is_resource_exhausted_with_retry_after(pipeline_stub, alice_md, hello, settings):
    settings.PIPELINE_RATE_LIMIT_TRIGGERS = "2/minute"
    _trigger(pipeline_stub, alice_md)
    _trigger(pipeline_stub, alice_md, "TriggerAsyncNamespacePipeline")
    for method in ("TriggerNamespacePipeline", "TriggerNamespacePipelineWithStream"):
        with pytest.raises(grpc.RpcError) as refused:
            _trigger(pipeline_stub, alice_md, method)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "PIPELINE_RATE_LIMIT_TRIGGERS" in refused.value.details()
        trailers = dict(refused.value.trailing_metadata())
        assert 1 <= int(trailers["retry-after"]) <= 60 and trailers["ratelimit-limit"] == "2"


def test_wrong_basic_passwords_are_throttled(pipeline_stub, alice, hello, settings):
    settings.PIPELINE_LOGIN_FAILURES_PER_USER = 2

    def basic(password: str) -> list[tuple[str, str]]:
        return [("authorization", "Basic " + base64.b64encode(f"alice:{password}".encode()).decode())]

    for _ in range(2):
        with pytest.raises(grpc.RpcError) as wrong:
            _trigger(pipeline_stub, basic("wrong"))
        assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as refused:
        _trigger(pipeline_stub, basic(PASSWORD))
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "too many failed sign-ins" in refused.value.details()
