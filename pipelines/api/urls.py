"""v1beta routes. The first segment of namespace paths may be ``namespaces`` (canonical),
``namespace`` (as Instill's user docs write it), ``users`` or ``organizations``."""

from django.urls import path, re_path
from django.views.decorators.gzip import gzip_page
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from pipelines.api.views import (
    common,
    component_definitions,
    connections,
    events,
    health,
    integrations,
    operations,
    pipelines,
    releases,
    runs,
    secrets,
    tokens,
    triggers,
    users,
)

NS = r"(?P<kind>namespaces|namespace|users|organizations)/(?P<namespace_id>[^/]+)"
PIPE = NS + r"/pipelines/(?P<pipeline_id>[^/]+)"
REL = PIPE + r"/releases/(?P<release_id>[^/]+)"
TARGET = r"(?:/releases/(?P<release_id>[^/]+))?"

urlpatterns = [
    path("__liveness", health.liveness),
    path("__readiness", health.readiness),
    path("health/pipeline", health.liveness),
    # Gzipped: 256 KB of JSON that the API docs page waits for (no secret in it to leak).
    path("openapi.json", gzip_page(SpectacularJSONAPIView.as_view()), name="openapi-schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="openapi-schema"), name="api-docs"),
    path("pipelines", pipelines.PipelineListAllApi.as_view()),
    path("component-definitions", component_definitions.ComponentDefinitionListApi.as_view()),
    path("component-definitions/<str:definition_id>", component_definitions.ComponentDefinitionDetailApi.as_view()),
    path("integrations", integrations.IntegrationListApi.as_view()),
    path("integrations/<str:integration_id>", integrations.IntegrationDetailApi.as_view()),
    path("user", users.AuthenticatedUserApi.as_view()),
    path("users/<str:user_id>", users.UserDetailApi.as_view()),
    path("tokens", tokens.TokenListCreateApi.as_view()),
    path("tokens/<str:token_id>", tokens.TokenDetailApi.as_view()),
    path("pipeline-runs/<uuid:run_uid>/component-runs", runs.ComponentRunListApi.as_view()),
    path("pipeline-runs/<uuid:run_uid>/files/<str:name>", runs.RunFileApi.as_view()),
    path("pipeline-runs/<uuid:run_uid>/events", events.run_events),
    re_path(rf"^{NS}/pipelines$", pipelines.NamespacePipelineListCreateApi.as_view()),
    re_path(rf"^{NS}/secrets$", secrets.SecretListCreateApi.as_view()),
    re_path(rf"^{NS}/secrets/(?P<secret_id>[^/]+)$", secrets.SecretDetailApi.as_view()),
    re_path(rf"^{NS}/connections$", connections.ConnectionListCreateApi.as_view()),
    re_path(rf"^{NS}/connections/(?P<connection_id>[^/]+)$", connections.ConnectionDetailApi.as_view()),
    re_path(
        rf"^{NS}/connections/(?P<connection_id>[^/]+)/referenced-pipelines$",
        connections.ConnectionReferencedPipelinesApi.as_view(),
    ),
    re_path(rf"^{PIPE}$", pipelines.PipelineDetailApi.as_view()),
    re_path(rf"^{PIPE}/releases$", releases.ReleaseListCreateApi.as_view()),
    re_path(rf"^{REL}$", releases.ReleaseDetailApi.as_view()),
    # Latest or a release: release_id is absent (None in the view) for the former.
    re_path(rf"^{PIPE}{TARGET}/trigger$", triggers.pipeline_trigger),
    re_path(rf"^{PIPE}{TARGET}/(?:trigger-async|triggerAsync)$", triggers.pipeline_trigger_async),
    re_path(r"^operations/(?P<operation_id>[^/:]+)(?::cancel|/cancel)$", operations.OperationCancelApi.as_view()),
    re_path(r"^operations/(?P<operation_id>[^/:]+)$", operations.OperationApi.as_view()),
    re_path(rf"^{PIPE}/validate$", pipelines.PipelineValidateApi.as_view()),
    re_path(rf"^{PIPE}/rename$", pipelines.PipelineRenameApi.as_view()),
    re_path(rf"^{PIPE}/clone$", pipelines.PipelineCloneApi.as_view()),
    re_path(rf"^{PIPE}/runs$", runs.PipelineRunListApi.as_view()),
    re_path(rf"^{PIPE}/runs/(?P<run_uid>[0-9a-fA-F-]{{36}})/component-runs$", runs.ComponentRunListApi.as_view()),
    re_path(rf"^{PIPE}/runs/(?P<run_uid>[0-9a-fA-F-]{{36}})$", runs.PipelineRunDetailApi.as_view()),
    re_path(r"^.*$", common.api_not_found),
]
