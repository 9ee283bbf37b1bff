from django.urls import include, path

urlpatterns = [
    path("v1beta/", include("pipelines.api.urls")),
    path("", include("pipelines.urls")),
]

# JSON under /v1beta/, HTML pages elsewhere.
handler403 = "pipelines.views.errors.permission_denied"
handler404 = "pipelines.views.errors.not_found"
handler500 = "pipelines.views.errors.server_error"
