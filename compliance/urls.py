from django.urls import path

from . import views
from .views import formats as format_views
from .views import updates as update_views

app_name = "compliance"

# Most requested first (URLs are matched in order): the page and its formats.
urlpatterns = [
    path("", views.trust_page, name="page"),
    path("trust.json", format_views.trust_json, name="trust-json"),
    path(".well-known/security.txt", format_views.security_txt, name="security-txt"),
    path("feed.atom", format_views.publication_feed, name="feed"),
    path("changelog/", views.changelog, name="changelog"),
    path("updates/", update_views.updates_list, name="updates"),
    path("updates/<slug:slug>/", update_views.update_detail, name="update"),
    path("as-of/<str:moment>/", views.as_of, name="as_of"),
    path("as-of/<str:moment>/security.txt", format_views.security_txt_as_of, name="security-txt-as-of"),
    path("as-of/<str:moment>/trust.json", format_views.trust_json_as_of, name="trust-json-as-of"),
    path("preview/", views.preview, name="preview"),
    path("preview/request/<int:pk>/", views.preview_request, name="preview-request"),
    path("security.txt", format_views.security_txt_redirect, name="security-txt-redirect"),
    path(".well-known/trust.json", format_views.trust_json, name="trust-json-well-known"),
    path("trust.schema.json", format_views.trust_schema, name="trust-schema"),
]
