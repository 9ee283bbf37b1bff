import sys

from django.apps import AppConfig
from django.conf import settings


class PipelinesConfig(AppConfig):
    name = "pipelines"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from pipelines import checks  # noqa: F401 - registers the deployment checks

        if not any("postg" in database["ENGINE"] for database in settings.DATABASES.values()):
            # DRF imports django.contrib.postgres.fields whenever it can (to map ArrayField
            # and its kin in model serializers), and with it psycopg and libpq: ~10 MB in
            # every process that serves the API, whenever psycopg is installed (the
            # "scale" extra). No model here has such a field, and without a PostgreSQL
            # database nothing else uses them; a None entry makes that optional import
            # fail at once, as if the module were not there.
            sys.modules.setdefault("django.contrib.postgres.fields", None)  # type: ignore[arg-type]  # None: not importable
