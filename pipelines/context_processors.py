"""Template context every page needs."""

from django.conf import settings


def ui(request) -> dict:
    return {"signup_enabled": settings.PIPELINE_SIGNUP_ENABLED}
