"""Django's standard middleware, without a thread hop per request.

Under ASGI, ``MiddlewareMixin.__acall__`` runs every ``process_request`` and
``process_response`` through ``sync_to_async``: with seven middlewares that is over a
dozen thread round-trips per request, which profiling showed to be most of a small
request's cost. These subclasses keep the same behaviour but call the hooks inline
when they do no I/O, and still use a thread when they might (a session to save).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asgiref.sync import sync_to_async
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.middleware import clickjacking, common, csp, csrf, security

if TYPE_CHECKING:
    from django.utils.deprecation import _AnyGetResponseCallable


class _InlineHooks:
    get_response: _AnyGetResponseCallable  # MiddlewareMixin's, here always async

    def response_needs_thread(self, request) -> bool:
        return False

    async def __acall__(self, request):
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        # The handler adapts the chain to async: get_response is a coroutine function here.
        response = response or await self.get_response(request)  # type: ignore[misc]
        if hasattr(self, "process_response"):
            if self.response_needs_thread(request):
                response = await sync_to_async(self.process_response, thread_sensitive=True)(request, response)
            else:
                response = self.process_response(request, response)
        return response


class SecurityMiddleware(_InlineHooks, security.SecurityMiddleware):
    pass


class SessionMiddleware(_InlineHooks, sessions.SessionMiddleware):
    """Creating the lazy session store is free; saving it is database work."""

    def response_needs_thread(self, request) -> bool:
        session = getattr(request, "session", None)
        return bool(session is not None and (session.accessed or session.modified))


class CommonMiddleware(_InlineHooks, common.CommonMiddleware):
    pass


class CsrfViewMiddleware(_InlineHooks, csrf.CsrfViewMiddleware):
    """``process_view`` is async so the handler does not wrap it in a thread; it reads
    only the cookie, headers and (for form posts) the already-received body."""

    async def process_view(self, request, callback, callback_args, callback_kwargs):  # type: ignore[override]  # django-stubs types the hook sync only
        return super().process_view(request, callback, callback_args, callback_kwargs)


class AuthenticationMiddleware(_InlineHooks, auth.AuthenticationMiddleware):
    """Sets a lazy ``request.user``; the lookup happens where it is used."""


class MessageMiddleware(_InlineHooks, messages.MessageMiddleware):
    """Storing messages may touch the session: only then use a thread."""

    def response_needs_thread(self, request) -> bool:
        storage = getattr(request, "_messages", None)
        return bool(storage is not None and (storage.used or storage.added_new))


class XFrameOptionsMiddleware(_InlineHooks, clickjacking.XFrameOptionsMiddleware):
    pass


class ContentSecurityPolicyMiddleware(_InlineHooks, csp.ContentSecurityPolicyMiddleware):
    """``SECURE_CSP`` on HTML answers only: a policy governs what a document may load,
    and JSON, files and event streams load nothing — so API calls (triggers above all)
    skip building the header."""

    def process_response(self, request, response):
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)
