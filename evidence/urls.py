from django.urls import path

from . import views

app_name = "evidence"

urlpatterns = [
    path("checkpoint", views.checkpoint, name="checkpoint"),
    path("head", views.head, name="head"),
    path("proof/inclusion/<int:seq>", views.inclusion, name="inclusion-proof"),
    path("proof/consistency", views.consistency, name="consistency-proof"),
    path("keys", views.keys, name="keys"),
]
