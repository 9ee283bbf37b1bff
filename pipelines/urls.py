"""Page routes. The API lives under /v1beta/ (pipelines.api.urls)."""

from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.urls import path

from pipelines.views import account, connections, editor, pipeline_settings, pipelines, runs

PIPE = "<str:namespace_id>/pipelines/<str:pipeline_id>/"


def favicon(request):
    """``/favicon.ico``, asked for by clients that do not read the page's icon link."""
    return HttpResponseRedirect(static("pipelines/favicon.svg"))


urlpatterns = [
    path("", pipelines.pipeline_list, name="pipeline-list"),
    path("new", pipelines.pipeline_new, name="pipeline-new"),
    path("favicon.ico", favicon, name="favicon"),
    path("accounts/login/", account.login, name="login"),
    path("accounts/logout/", account.logout, name="logout"),
    path("accounts/signup/", account.signup, name="signup"),
    path("settings/tokens", account.token_list, name="token-list"),
    path("settings/tokens/<str:token_id>/delete", account.token_delete, name="token-delete"),
    path("settings/connections", connections.connection_list, name="connection-list"),
    path("settings/connections/<str:connection_id>", connections.connection_edit, name="connection-edit"),
    path("settings/connections/<str:connection_id>/delete", connections.connection_delete, name="connection-delete"),
    path("settings/secrets", account.secret_list, name="secret-list"),
    path("settings/secrets/<str:secret_id>/update", account.secret_update, name="secret-update"),
    path("settings/secrets/<str:secret_id>/delete", account.secret_delete, name="secret-delete"),
    path(PIPE, pipelines.pipeline_overview, name="pipeline-overview"),
    path(PIPE + "run", pipelines.pipeline_run, name="pipeline-run"),
    path(PIPE + "editor", editor.pipeline_editor, name="pipeline-editor"),
    path(PIPE + "editor/validate", editor.pipeline_validate, name="pipeline-validate"),
    path(PIPE + "editor/save", editor.pipeline_save, name="pipeline-save"),
    path(PIPE + "editor/release", editor.pipeline_release, name="pipeline-release"),
    path(PIPE + "editor/run", editor.pipeline_run_start, name="pipeline-run-start"),
    path(PIPE + "editor/run-form", editor.pipeline_run_form, name="pipeline-run-form"),
    path(PIPE + "settings", pipeline_settings.pipeline_settings, name="pipeline-settings"),
    path(PIPE + "settings/<str:action>", pipeline_settings.pipeline_settings_update, name="pipeline-settings-update"),
    path(PIPE + "runs/", runs.run_list, name="run-list"),
    path(PIPE + "runs/<uuid:run_uid>/", runs.run_detail, name="run-detail"),
]
