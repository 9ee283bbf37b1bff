"""v1beta routes. The first segment of namespace paths may be ``namespaces`` (canonical),
``namespace`` (as Instill's user docs write it), ``users`` or ``organizations``."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from pipelines.api import views

NS = r"(?P<kind>namespaces|namespace|users|organizations)/(?P<namespace_id>[^/]+)"
PIPE = NS + r"/pipelines/(?P<pipeline_id>[^/]+)"
REL = PIPE + r"/releases/(?P<release_id>[^/]+)"
TARGET = r"(?:/releases/(?P<release_id>[^/]+))?"

urlpatterns = [
    path("__liveness", views.liveness),
    path("__readiness", views.readiness),
    path("health/pipeline", views.liveness),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="openapi-schema"), name="api-docs"),
    path("pipelines", views.PipelineListAllApi.as_view()),
    path("tokens", views.TokenListCreateApi.as_view()),
    path("tokens/<str:token_id>", views.TokenDetailApi.as_view()),
    path("pipeline-runs/<uuid:run_uid>/component-runs", views.ComponentRunListApi.as_view()),
    path("pipeline-runs/<uuid:run_uid>/files/<str:name>", views.RunFileApi.as_view()),
    path("pipeline-runs/<uuid:run_uid>/events", views.run_events),
    re_path(rf"^{NS}/pipelines$", views.NamespacePipelineListCreateApi.as_view()),
    re_path(rf"^{NS}/secrets$", views.SecretListCreateApi.as_view()),
    re_path(rf"^{NS}/secrets/(?P<secret_id>[^/]+)$", views.SecretDetailApi.as_view()),
    re_path(rf"^{PIPE}$", views.PipelineDetailApi.as_view()),
    re_path(rf"^{PIPE}/releases$", views.ReleaseListCreateApi.as_view()),
    re_path(rf"^{REL}$", views.ReleaseDetailApi.as_view()),
    # Latest or a release: release_id is absent (None in the view) for the former.
    re_path(rf"^{PIPE}{TARGET}/trigger$", views.pipeline_trigger),
    re_path(rf"^{PIPE}{TARGET}/(?:trigger-async|triggerAsync)$", views.pipeline_trigger_async),
    re_path(r"^operations/(?P<operation_id>[^/:]+)(?::cancel|/cancel)$", views.OperationCancelApi.as_view()),
    re_path(r"^operations/(?P<operation_id>[^/:]+)$", views.OperationApi.as_view()),
    re_path(rf"^{PIPE}/validate$", views.PipelineValidateApi.as_view()),
    re_path(rf"^{PIPE}/rename$", views.PipelineRenameApi.as_view()),
    re_path(rf"^{PIPE}/clone$", views.PipelineCloneApi.as_view()),
    re_path(rf"^{PIPE}/runs$", views.PipelineRunListApi.as_view()),
    re_path(rf"^{PIPE}/runs/(?P<run_uid>[0-9a-fA-F-]{{36}})/component-runs$", views.ComponentRunListApi.as_view()),
    re_path(rf"^{PIPE}/runs/(?P<run_uid>[0-9a-fA-F-]{{36}})$", views.PipelineRunDetailApi.as_view()),
    re_path(r"^.*$", views.api_not_found),
]
