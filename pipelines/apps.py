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
        _credentials_changes_forget_cached_tokens()


def _credentials_changes_forget_cached_tokens() -> None:
    """A deleted API token, or a changed or deleted user, is forgotten by the token
    cache of every process on this machine once committed (pipelines/services/tokens.py)."""
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save

    from pipelines.models import ApiToken
    from pipelines.services.tokens import cache_forget_on_commit

    def user_saved(sender, update_fields=None, **kwargs) -> None:
        if update_fields is not None and set(update_fields) <= {"last_login"}:
            return  # every sign-in saves last_login: nothing a token depends on
        cache_forget_on_commit()

    user = get_user_model()
    post_delete.connect(cache_forget_on_commit, sender=ApiToken, dispatch_uid="token-cache-token-deleted")
    post_save.connect(user_saved, sender=user, dispatch_uid="token-cache-user-saved", weak=False)
    post_delete.connect(cache_forget_on_commit, sender=user, dispatch_uid="token-cache-user-deleted")
