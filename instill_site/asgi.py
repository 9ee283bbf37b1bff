"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instill_site.settings")
django.setup(set_prefix=False)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from pipelines.api.limits import BodyLimitASGI  # noqa: E402
from pipelines.asgi import BrowserOriginValidator, PipelineASGIHandler  # noqa: E402
from pipelines.routing import websocket_urlpatterns  # noqa: E402
from pipelines.staticfiles import StaticFilesASGI  # noqa: E402

django_asgi_app = PipelineASGIHandler()

application = ProtocolTypeRouter(
    {
        # Static files (the UI's CSS/JS, Swagger UI) come from the same server: one process to
        # run. Collected, hashed and gzipped at start-up (pipelines/staticfiles.py).
        "http": BodyLimitASGI(StaticFilesASGI(django_asgi_app)),
        "websocket": BrowserOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
