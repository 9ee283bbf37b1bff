"""The static files app: django.contrib.staticfiles without the files no page links.

A module of its own, apart from the storage and the ASGI handler (pipelines/staticfiles.py),
so that loading the apps — all a run worker does with static files — does not import
WhiteNoise (~10 MB)."""

from django.contrib.staticfiles.apps import StaticFilesConfig as DjangoStaticFilesConfig


class StaticFilesConfig(DjangoStaticFilesConfig):
    """ReDoc and DRF's browsable API (both off here) are 17 MB that every start-up would
    copy and gzip."""

    ignore_patterns = [*DjangoStaticFilesConfig.ignore_patterns, "redoc", "rest_framework"]
