from django.urls import path

from . import views

app_name = "compliance"

urlpatterns = [
    path("", views.trust_page, name="page"),
    path("changelog/", views.changelog, name="changelog"),
    path("as-of/<str:day>/", views.as_of, name="as_of"),
    path("preview/", views.preview, name="preview"),
]
