"""``manage.py create_user USERNAME [--password-stdin]``: a user and its namespace."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from pipelines.errors import ServiceError
from pipelines.services.users import user_create


class Command(BaseCommand):
    help = "Create a user and the namespace of the same id."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        parser.add_argument("--staff", action="store_true", help="make the user an administrator")

    def handle(self, *args, username: str, password_stdin: bool, staff: bool, **options):
        password = None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
            if not password:
                raise CommandError("no password on standard input")
        try:
            user_create(username=username, password=password, is_staff=staff)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Created user and namespace {username!r}.")
