from django.urls import include, path

urlpatterns = [
    path("v1beta/", include("pipelines.api.urls")),
]

handler404 = "pipelines.api.views.api_not_found"
handler500 = "pipelines.api.views.api_server_error"
