"""Users and their namespaces."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from pipelines.errors import AlreadyExists, InvalidArgument
from pipelines.models import RESOURCE_ID_PATTERN, Namespace

if TYPE_CHECKING:
    from django.contrib.auth.models import User
else:
    User = get_user_model()

# First path segments that are not in the root URL conf but still mean something to
# this server or to a browser: websockets (mounted in the ASGI app), static files, and
# the API's own resource words, so that /<namespace>/ never reads like another route.
RESERVED_USERNAMES = frozenset(
    {
        "ws",
        "static",
        "media",
        "api",
        "v1",
        "v1alpha",
        "v1beta",
        "v1beta1",
        "v2",
        "namespaces",
        "namespace",
        "users",
        "organizations",
        "operations",
        "pipeline-runs",
        "pipelines",
        "health",
        "login",
        "logout",
        "signup",
        "favicon",
        "robots",
        "well-known",
        "_",
    }
)


@functools.cache
def reserved_usernames() -> frozenset[str]:
    """Names a user may not take: every literal first path segment of the URL conf (so a
    new route is reserved without anyone remembering to), ``STATIC_URL``'s, and
    :data:`RESERVED_USERNAMES`. ``admin`` stays allowed: it is the default user."""
    from django.urls import URLResolver, get_resolver

    found = set(RESERVED_USERNAMES)
    found.add(settings.STATIC_URL.strip("/").split("/")[0])

    def visit(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^")
            segment = re.split(r"[/<(?$\\]", route, maxsplit=1)[0]
            if segment:
                found.add(segment)
            elif isinstance(pattern, URLResolver):  # include("") : its routes are first segments too
                visit(pattern.url_patterns, route)

    visit(get_resolver().url_patterns, "")
    return frozenset(name.lower() for name in found)


@transaction.atomic
def user_create(*, username: str, password: str | None, is_staff: bool = False) -> User:
    """Create a user and the namespace of the same id; the username must be a valid id."""
    if not re.match(RESOURCE_ID_PATTERN, username or ""):
        raise InvalidArgument(
            f'username "{username}" is not a valid id: use 1-32 lowercase letters, digits, "-" or "_", '
            "starting with a letter or _",
            field="username",
        )
    if username in reserved_usernames():
        raise InvalidArgument(
            f'username "{username}" is reserved: it is a path of this server; choose another', field="username"
        )
    if User.objects.filter(username=username).exists() or Namespace.objects.filter(slug=username).exists():
        raise AlreadyExists(f'namespace "{username}" already exists', field="username")
    try:
        user = User.objects.create_user(username=username, password=password, is_staff=is_staff, is_superuser=is_staff)
    except IntegrityError as exc:  # a concurrent create won the race
        raise AlreadyExists(f'namespace "{username}" already exists', field="username") from exc
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    Namespace.objects.create(slug=username, user=user, kind=Namespace.Kind.USER)
    return user


def user_namespace(user: User) -> Namespace:
    """The user's own namespace, created on first use for users made outside user_create."""
    try:
        return user.namespace
    except Namespace.DoesNotExist:
        namespace, _ = Namespace.objects.get_or_create(slug=user.username, defaults={"user": user})
        return namespace


def admin_ensure(*, username: str, password: str) -> tuple[User, bool]:
    """Make sure the admin user exists; returns (user, created). Never resets a password."""
    user = User.objects.filter(username=username).first()
    if user is not None:
        user_namespace(user)
        return user, False
    return user_create(username=username, password=password, is_staff=True), True


def _ts(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def user_profile_json(user: Any) -> dict[str, Any]:
    """Instill's ``mgmt.v1beta.UserProfile`` of a user (the same object wherever the
    user appears: ``GET /v1beta/user``, a pipeline's ``owner.user``)."""
    profile: dict[str, Any] = {"displayName": user.get_full_name() or user.username, "socialProfileLinks": {}}
    if user.get_full_name():
        profile["fullName"] = user.get_full_name()
    return profile


def user_json(user: Any, *, authenticated: bool = False) -> dict[str, Any]:
    """Instill's ``mgmt.v1beta.User`` (``authenticated``: ``AuthenticatedUser``, with
    the email and account fields only its owner sees)."""
    namespace = getattr(user, "namespace", None)
    out: dict[str, Any] = {
        "name": f"users/{user.username}",
        "uid": str(namespace.uid) if namespace is not None else None,
        "id": user.username,
        "displayName": user.get_full_name() or user.username,
        "slug": user.username,
        "aliases": [],
        "description": "",
        "createTime": _ts(user.date_joined),
        "updateTime": _ts(user.date_joined),
        "profile": user_profile_json(user),
    }
    if authenticated:
        out.update(
            email=user.email,
            role="",
            newsletterSubscription=False,
            onboardingStatus="ONBOARDING_STATUS_COMPLETED",
            isEligibleForOrganizationTrial=False,
        )
    return out
