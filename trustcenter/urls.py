from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from .views import bench_floor


def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability for load balancers and operators."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


admin.site.site_header = "Trust center administration"
admin.site.site_title = "Trust center"
admin.site.index_title = "Content, requests and evidence"

# Error pages come from templates/<code>.html; 403 also answers rate limits with 429.
handler403 = "trustcenter.views.permission_denied"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health, name="health"),
    path("requests/", include("requests_app.urls")),
    path("subscribe/", include("subscriptions.urls")),
    path("documents/", include("documents.urls")),
    path("evidence/", include("evidence.urls")),
    path("", include("compliance.urls")),
]
if settings.BENCH_FLOOR_FILE:  # set by `make bench` only (see settings)
    urlpatterns.insert(0, path("bench/floor", bench_floor))
