"""The project's URLs plus views that fail in each way, to render the error pages."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest
from django.urls import path

from trustcenter.urls import handler403, handler500  # noqa: F401
from trustcenter.urls import urlpatterns as project_urlpatterns

SECRET_DETAIL = "db-password=hunter2 at /srv/trust/settings.py line 42"


def bad_request(request: HttpRequest):
    raise SuspiciousOperation(SECRET_DETAIL)


def forbidden(request: HttpRequest):
    raise PermissionDenied(SECRET_DETAIL)


def not_found(request: HttpRequest):
    raise Http404(SECRET_DETAIL)


def crash(request: HttpRequest):
    raise RuntimeError(SECRET_DETAIL)


def rate_limited(request: HttpRequest):
    from django_ratelimit.exceptions import Ratelimited

    raise Ratelimited(SECRET_DETAIL)


urlpatterns = [
    path("boom/400", bad_request),
    path("boom/403", forbidden),
    path("boom/404", not_found),
    path("boom/500", crash),
    path("boom/429", rate_limited),
    *project_urlpatterns,
]
