"""The trigger service every adapter calls: one reading of a trigger's options, one
rule for who may follow a run."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http.request import HttpHeaders

from pipelines.errors import InvalidArgument, NotFound, Unauthenticated
from pipelines.selectors import run_for_follower
from pipelines.services.triggers import TriggerOptions, trigger_options


def test_http_headers_and_grpc_metadata_give_the_same_options() -> None:
    """Instill-User-Agent, Instill-Return-Traces, Idempotency-Key and the stream request
    mean the same from REST headers (any case) and from gRPC metadata (lower case)."""
    http = HttpHeaders(
        {
            "HTTP_INSTILL_USER_AGENT": "run_source_console",
            "HTTP_INSTILL_RETURN_TRACES": "TRUE",
            "HTTP_IDEMPOTENCY_KEY": "k1",
            "HTTP_ACCEPT": "text/event-stream",
        }
    )
    grpc = {
        "instill-user-agent": "RUN_SOURCE_CONSOLE",
        "instill-return-traces": "true",
        "idempotency-key": "k1",
        "instill-use-sse": "true",
    }
    expected = TriggerOptions(source="RUN_SOURCE_CONSOLE", return_traces=True, idempotency_key="k1", stream=True)
    assert trigger_options(http) == trigger_options(grpc) == expected
    assert trigger_options({}) == TriggerOptions(
        source="RUN_SOURCE_API", return_traces=False, idempotency_key=None, stream=False
    )


def test_a_malformed_idempotency_key_is_invalid_whatever_the_wire() -> None:
    with pytest.raises(InvalidArgument):
        trigger_options({"idempotency-key": "x" * 256})


def test_following_a_run_needs_a_requester_who_may_see_it(hello, alice, bob, api) -> None:
    """Anonymous: Unauthenticated; another user's run: NotFound, as for no run at all;
    the requester: the run."""
    run_uid = (
        api.post("/v1beta/namespaces/alice/pipelines/hello/trigger-async", {"data": [{"variable": {"prompt": "you"}}]})
        .json()["operation"]["name"]
        .removeprefix("operations/")
    )
    with pytest.raises(Unauthenticated):
        run_for_follower(requester=AnonymousUser(), run_uid=run_uid)
    with pytest.raises(Unauthenticated):
        run_for_follower(requester=None, run_uid=run_uid)
    with pytest.raises(NotFound):
        run_for_follower(requester=bob, run_uid=run_uid)
    assert str(run_for_follower(requester=alice, run_uid=run_uid).uid) == run_uid
