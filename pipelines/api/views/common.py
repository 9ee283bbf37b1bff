"""What the REST views share: the JSON answer, request bodies checked by a serializer,
the namespace or pipeline a write needs, and the API's own 404/500 answers."""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from pipelines.api.errors import error_json
from pipelines.engine import json_bytes
from pipelines.errors import InvalidArgument, PermissionDenied
from pipelines.selectors import namespace_get, pipeline_get_editable, user_owns_namespace


def json_response(payload: dict, status: int = 200) -> HttpResponse:
    """JSON straight to bytes (orjson): trigger answers carry files as data URIs, and
    the stdlib's str-then-encode would hold two more copies of them."""
    return HttpResponse(json_bytes(payload), status=status, content_type="application/json")


def owned_namespace(request, namespace_id: str):
    namespace = namespace_get(namespace_id=namespace_id)
    if not user_owns_namespace(request.user, namespace):
        raise PermissionDenied(f'you may not create or change resources in namespace "{namespace_id}"')
    return namespace


def editable(request, namespace_id: str, pipeline_id: str):
    return pipeline_get_editable(namespace_id=namespace_id, pipeline_id=pipeline_id, user=request.user)


def validated(serializer_class, data) -> dict:
    if not isinstance(data, dict):
        raise InvalidArgument("the request body must be a JSON object", field="body")
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def validated_raw(data) -> dict:
    if not isinstance(data, dict):
        raise InvalidArgument("the request body must be a JSON object", field="body")
    return data


@csrf_exempt  # a POST to no endpoint is a 404 in the error shape, not a CSRF page
def api_not_found(request, exception=None):
    return error_json(404, f"no API endpoint at {request.path}")


def api_server_error(request):
    return error_json(500, "internal error")
