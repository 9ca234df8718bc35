"""Public request URLs under /requests/.

DPA and BAA each have a form; the six GDPR rights share one form class but each
has its own URL (/requests/new/data-subject/<right>/), so the trust page can link
straight to "erase my data" and every ticket's kind comes from the URL the
requester chose, never from a field they could get wrong.
"""

from django.urls import path

from . import views
from .enums import TicketKind
from .views import status as status_views

app_name = "requests_app"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/dpa/", views.intake, {"kind": TicketKind.DPA.value}, name="new_dpa"),
    path("new/baa/", views.intake, {"kind": TicketKind.BAA.value}, name="new_baa"),
    path("new/data-subject/<slug:right>/", views.intake, {"kind": "data_subject"}, name="new_data_subject"),
    path("submitted/", views.submitted, name="submitted"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path("verified/", views.verified, name="verified"),
    path("status/<str:token>/", status_views.status, name="status"),
    path("status/<str:token>/reply/", status_views.status_reply, name="status_reply"),
    path("status/<str:token>/files/<int:attachment_id>/", status_views.attachment_download, name="attachment"),
]
