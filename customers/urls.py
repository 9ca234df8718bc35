"""Public URLs under /customers/."""

from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("confirm/<str:token>/", views.confirm, name="confirm"),
]
