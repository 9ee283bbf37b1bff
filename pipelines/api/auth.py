"""DRF authentication classes: thin adapters over :mod:`pipelines.auth`."""

from __future__ import annotations

from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed

from pipelines.auth import authenticate_header
from pipelines.errors import Unauthenticated


class TokenAuthentication(authentication.BaseAuthentication):
    """DRF adapter for Bearer / raw tokens and Basic credentials."""

    def authenticate(self, request):
        try:
            user = authenticate_header(request._request)
        except Unauthenticated as exc:
            raise AuthenticationFailed(exc.message) from exc
        return (user, None) if user is not None else None

    def authenticate_header(self, request):
        return 'Bearer realm="pipeline"'


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """Session auth for our own pages calling the API; CSRF enforced by DRF."""
