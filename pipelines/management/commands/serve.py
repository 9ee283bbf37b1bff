"""``manage.py serve``: migrate, make sure the admin and the demos exist, then serve
HTTP and websockets with daphne."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from pipelines.demo import demo_ensure
from pipelines.services.users import admin_ensure, user_namespace


def _body_as_is_request():
    from daphne.http_protocol import WebRequest

    class BodyAsIsRequest(WebRequest):
        """Django parses request bodies itself. Left on, Twisted parses every form POST
        first — a multipart upload whole, in memory — and the Content-Type of every POST
        through the email package, which costs more than a small trigger's run."""

        def __init__(self, *args, **kwargs):
            kwargs["parsePOSTFormSubmission"] = False
            super().__init__(*args, **kwargs)

    return BodyAsIsRequest


class Command(BaseCommand):
    help = "Run Pipeline: migrations, admin user, demo pipelines, then the HTTP/websocket server."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
        parser.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")
        parser.add_argument("--no-demo", action="store_true", help="do not install the demo pipelines")

    def handle(self, *args, host: str, port: int, no_demo: bool, **options):
        settings.PIPELINE_DATA_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        username = settings.PIPELINE_ADMIN_USER
        user, created = admin_ensure(username=username, password=settings.PIPELINE_ADMIN_PASSWORD)
        if created:
            self.stdout.write(f"Created the admin user {username!r} with password {settings.PIPELINE_ADMIN_PASSWORD!r}.")
            if settings.PIPELINE_ADMIN_PASSWORD == "password":
                self.stderr.write(
                    self.style.WARNING(
                        "WARNING: the admin password is the default 'password'. Change it (manage.py changepassword "
                        f"{username}) or set PIPELINE_ADMIN_PASSWORD before the first start."
                    )
                )
        if not no_demo:
            for pipeline_id in demo_ensure(namespace=user_namespace(user)):
                self.stdout.write(f"Installed demo pipeline {username}/{pipeline_id}.")
        self._recover()
        self._serve(host, port)

    def _recover(self) -> None:
        """Runs left PROCESSING by a dead process are failed; queued ones resume here."""
        from pipelines.executors import get_executor
        from pipelines.services.operations import runs_recover

        from pipelines.services.run_files import cleanup_run_files

        cleanup_run_files()
        failed = runs_recover()
        if failed:
            self.stdout.write(f"Marked {failed} run(s) interrupted by a restart as failed.")
        resumed = get_executor().resume_queued()
        if resumed:
            self.stdout.write(f"Resumed {resumed} queued run(s).")

    def _serve(self, host: str, port: int) -> None:
        from daphne import http_protocol
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        http_protocol.WebRequest = _body_as_is_request()

        from instill_site.asgi import application

        shown = "localhost" if host in ("0.0.0.0", "::") else host
        self.stdout.write(f"Pipeline is serving on http://{shown}:{port}/ (API under /v1beta/, docs at /v1beta/docs)")
        self.stdout.flush()
        Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            http_timeout=None,
            websocket_handshake_timeout=10,
            application_close_timeout=10,
            server_name="pipeline",
            verbosity=0,
        ).run()
