"""Users over gRPC (``core.mgmt.v1beta.MgmtPublicService``), in the messages the Instill
SDK 0.18 speaks: the same users as ``GET /v1beta/user`` and ``GET /v1beta/users/{id}``."""

from __future__ import annotations

import grpc
import pytest

from pipelines.grpc.gen.core.mgmt.v1beta import mgmt_pb2

pytestmark = pytest.mark.django_db(transaction=True)


def test_authenticated_user_is_the_rest_one(mgmt_stub, alice_md, api):
    me = mgmt_stub.GetAuthenticatedUser(mgmt_pb2.GetAuthenticatedUserRequest(), metadata=alice_md, timeout=30).user
    rest = api.get("/v1beta/user").json()["user"]
    assert (me.name, me.id, me.uid, me.email) == (rest["name"], rest["id"], rest["uid"], rest["email"])
    assert me.profile.display_name == rest["profile"]["displayName"]
    assert me.onboarding_status == mgmt_pb2.ONBOARDING_STATUS_COMPLETED
    with pytest.raises(grpc.RpcError) as caught:
        mgmt_stub.GetAuthenticatedUser(mgmt_pb2.GetAuthenticatedUserRequest(), timeout=30)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_get_user_by_id_or_name(mgmt_stub, alice_md, anon, alice):
    rest = anon.get("/v1beta/users/alice").json()["user"]
    by_id = mgmt_stub.GetUser(mgmt_pb2.GetUserRequest(user_id="alice"), metadata=alice_md, timeout=30).user
    by_name = mgmt_stub.GetUser(mgmt_pb2.GetUserRequest(name="users/alice"), timeout=30).user
    assert by_id == by_name and (by_id.name, by_id.id, by_id.uid) == (rest["name"], rest["id"], rest["uid"])
    with pytest.raises(grpc.RpcError) as caught:
        mgmt_stub.GetUser(mgmt_pb2.GetUserRequest(user_id="nobody"), timeout=30)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == anon.get("/v1beta/users/nobody").json()["message"]
