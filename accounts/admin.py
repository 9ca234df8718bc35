"""Authenticators in the admin: seen and removed, never added or edited.

An authenticator is added only by its owner, through enrolment with a code
from it; an administrator creating one for someone else would hold a second
factor for that account. Removing one (a lost phone) goes through the service
that records it in the audit log and tells the owner.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.admin_readonly import ReadOnlyAdmin

from . import services
from .auth import acting_user
from .models import StaffSecurityEvent

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class AuthenticatorAdmin(TOTPDeviceAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: TOTPDevice) -> None:
        services.authenticator_remove(device=obj, actor=acting_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TOTPDevice]) -> None:
        for device in queryset.select_related("user"):
            services.authenticator_remove(device=device, actor=acting_user(request))


@admin.register(StaffSecurityEvent)
class StaffSecurityEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "subject_username", "actor_username", "device_name", "sessions_ended"]
    list_filter = ["kind"]
    search_fields = ["subject_username", "actor_username"]
    date_hierarchy = "created_at"
