"""``manage.py grpcserver``: the gRPC API alone, for scale-out (``serve`` runs it too)."""

from __future__ import annotations

import asyncio
import signal

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Serve the Instill-compatible gRPC API alone (manage.py serve also serves it, beside HTTP)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
        parser.add_argument("--port", type=int, default=None, help="gRPC port (default PIPELINE_GRPC_PORT, 8081)")

    def handle(self, *args, host: str, port: int | None, **options):
        call_command("migrate", interactive=False, verbosity=0)
        asyncio.run(self._serve(host, settings.PIPELINE_GRPC_PORT if port is None else port))

    async def _serve(self, host: str, port: int) -> None:
        from pipelines.grpc.server import start_server

        try:
            server, bound = await start_server(host=host, port=port)
        except OSError as exc:  # the port is taken: build_server's message names it
            raise CommandError(f"{exc} Choose another with --port (default PIPELINE_GRPC_PORT).") from exc
        shown = "localhost" if host in ("0.0.0.0", "::") else host
        self.stdout.write(f"gRPC API (Instill SDK) on {shown}:{bound}")
        self.stdout.flush()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        await stopping.wait()
        await server.stop(5)  # calls in flight get 5 s to finish
