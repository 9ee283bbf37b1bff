"""Deployment checks (``manage.py check --deploy``) for what Django's own cannot see.

Django's security checks look for its middleware by dotted path; this project runs
subclasses of them (pipelines/middleware.py), so those checks are silenced in settings
and replaced here: the middleware must be present (as itself or a subclass), and the
HTTPS settings they guard are named by the environment variables that set them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

REQUIRED_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
)


def _installed(base_path: str) -> bool:
    base = import_string(base_path)
    for path in settings.MIDDLEWARE:
        try:
            if issubclass(import_string(path), base):
                return True
        except ImportError:
            continue
    return False


@register(Tags.security, deploy=True)
def check_https_deployment(app_configs=None, **kwargs) -> list[Warning]:
    """Security middleware present, cookies HTTPS-only, HSTS on."""
    problems = [
        Warning(f"{path} (or a subclass) is not in MIDDLEWARE.", id="pipelines.W001")
        for path in REQUIRED_MIDDLEWARE
        if not _installed(path)
    ]
    if not (settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE):
        problems.append(
            Warning(
                "The session and CSRF cookies may travel over plain HTTP.",
                hint="Set PIPELINE_SECURE_COOKIES=true when the server is reached over HTTPS.",
                id="pipelines.W002",
            )
        )
    if not settings.SECURE_HSTS_SECONDS:
        problems.append(
            Warning(
                "Browsers are not told to use HTTPS only (no Strict-Transport-Security header).",
                hint="Set PIPELINE_HSTS_SECONDS (e.g. 31536000) once HTTPS works; behind a TLS proxy also "
                "PIPELINE_TRUST_PROXY_HEADERS=true.",
                id="pipelines.W003",
            )
        )
    return problems


@register()
def check_rate_settings(app_configs=None, **kwargs) -> list[Error]:
    """Rate limits that do not parse stop the server at start, not a request later."""
    from pipelines.ratelimits import RATE_SETTINGS, parse_rate

    problems = []
    for name in RATE_SETTINGS:
        try:
            parse_rate(getattr(settings, name), setting=name)
        except ImproperlyConfigured as exc:
            problems.append(Error(str(exc), id="pipelines.E001"))
    return problems
