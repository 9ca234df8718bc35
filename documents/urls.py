"""Document downloads and access requests under /documents/."""

from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    path("<slug:slug>/", views.public_download, name="public_download"),
    path("<slug:slug>/request/", views.request_access, name="request_access"),
    path("<slug:slug>/download/<str:token>/", views.gated_download, name="gated_download"),
]
