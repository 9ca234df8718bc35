from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from trustcenter.health import healthz, readyz

from .views import bench_floor

admin.site.site_header = "Trust center administration"
admin.site.site_title = "Trust center"
admin.site.index_title = "Content, requests and evidence"

# Error pages come from templates/<code>.html; 403 also answers rate limits with 429.
handler403 = "trustcenter.views.permission_denied"
# 500, or 503 with Retry-After when the database is unavailable.
handler500 = "trustcenter.views.server_error"

# The public page and its formats first: URLs are matched in order, and these
# take nearly all the traffic. (No compliance URL shares a prefix with the rest.)
urlpatterns = [
    path("", include("compliance.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="health"),
    path("readyz", readyz, name="ready"),
    path("requests/", include("requests_app.urls")),
    path("subscribe/", include("subscriptions.urls")),
    path("customers/", include("customers.urls")),
    path("documents/", include("documents.urls")),
    path("evidence/", include("evidence.urls")),
]
if settings.BENCH_FLOOR_FILE:  # set by `make bench` only (see settings)
    urlpatterns.insert(0, path("bench/floor", bench_floor))
