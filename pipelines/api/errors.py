"""One error shape for the whole API: ``{"code", "message", "details"}`` (google.rpc.Status)."""

from __future__ import annotations

import logging
import uuid

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from pipelines.errors import INTERNAL, ServiceError

logger = logging.getLogger("pipelines.api")

HTTP_TO_CODE = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 409: 6, 413: 8, 415: 3, 429: 8, 500: 13, 501: 12, 503: 14}


def error_body(code: int, message: str, details: list | None = None) -> dict:
    return {"code": code, "message": message, "details": details or []}


def error_json(status: int, message: str, *, code: int | None = None, details: list | None = None) -> JsonResponse:
    response = JsonResponse(
        error_body(code if code is not None else HTTP_TO_CODE.get(status, INTERNAL), message, details), status=status
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="pipeline"'
    return response


def service_error_json(exc: ServiceError) -> JsonResponse:
    response = error_json(exc.http_status, exc.message, code=exc.code, details=exc.details)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def too_big_message(limit: int) -> str:
    mb = limit / (1024 * 1024)
    return (
        f"the request body is larger than the {mb:g} MB limit (PIPELINE_MAX_REQUEST_BYTES); "
        f"base64 in JSON carries about {mb * 3 / 4:g} MB of file, multipart/form-data carries files unencoded"
    )


def exception_handler(exc, context) -> Response | None:
    """DRF's exception handler: every error in the contract's shape and status."""
    if isinstance(exc, ServiceError):
        headers = {**_auth_headers(exc.http_status), **exc.headers}
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.http_status, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        from django.conf import settings

        return Response(error_body(8, too_big_message(settings.PIPELINE_MAX_REQUEST_BYTES)), status=413)
    if isinstance(exc, Http404):
        return Response(error_body(5, str(exc) or "not found"), status=404)
    if isinstance(exc, drf.ParseError):
        return Response(error_body(3, f"malformed request body: {exc.detail}"), status=400)
    if isinstance(exc, drf.ValidationError):
        return Response(error_body(3, _validation_message(exc.detail)), status=400)
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        return Response(error_body(16, str(exc.detail)), status=401, headers=_auth_headers(401))
    if isinstance(exc, drf.APIException):
        status = exc.status_code
        return Response(error_body(HTTP_TO_CODE.get(status, INTERNAL), str(exc.detail)), status=status)
    request_id = uuid.uuid4().hex
    logger.error("unhandled error (request id %s)", request_id, exc_info=exc)
    return Response(error_body(INTERNAL, f"internal error (request id {request_id})"), status=500)


def _auth_headers(status: int) -> dict:
    return {"WWW-Authenticate": 'Bearer realm="pipeline"'} if status == 401 else {}


def _validation_message(detail, prefix: str = "") -> str:
    """The first problem of a DRF validation error, as ``field: message``."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            return _validation_message(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
    if isinstance(detail, list) and detail:
        return _validation_message(detail[0], prefix)
    return f"{prefix}: {detail}" if prefix else str(detail)
