"""The admin site: Django's, plus a second factor for staff when required."""

from base64 import b32encode
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login

from . import mfa, services


class TrustAdminSite(admin.AdminSite):
    site_header = "Trust center administration"
    site_title = "Trust center"
    index_title = "Content, requests and evidence"
    login_form = mfa.AdminLoginForm
    login_template = "admin/trust_login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return not mfa.mfa_required() or mfa.is_verified(request.user)

    def get_urls(self) -> list[URLPattern | URLResolver]:
        return [
            path("mfa/enrol/", never_cache(csrf_protect(self.mfa_enrol_view)), name="mfa_enrol"),
            *super().get_urls(),
        ]

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if mfa.needs_enrolment(request.user):
            return self._to_enrolment(request)
        context = {**(extra_context or {}), "mfa_required": mfa.mfa_required()}
        response = super().login(request, context)
        if request.method == "POST" and response.status_code == 302 and mfa.needs_enrolment(request.user):
            return self._to_enrolment(request)
        return response

    def _to_enrolment(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponseRedirect(reverse(f"{self.name}:mfa_enrol"))
        add_never_cache_headers(response)
        return response

    def mfa_enrol_view(self, request: HttpRequest) -> HttpResponse:
        """Set up an authenticator app: shows the secret as text, confirms with a code.

        The secret is this session's own (mfa.enrolment_key): someone else
        signed in with the same password sees a different one, and only the
        authenticator whose code is confirmed becomes the account's.
        """
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse(f"{self.name}:login"), REDIRECT_FIELD_NAME)
        if mfa.confirmed_device(user) is not None:
            # Already enrolled: sign in with that authenticator (a lost one is
            # removed by an administrator, then enrolled again).
            return HttpResponseRedirect(reverse(f"{self.name}:index"))
        key = mfa.enrolment_key(request.session)
        form = mfa.EnrolmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            device = services.authenticator_enrol(
                user=user,
                key=key,
                token=form.cleaned_data["otp_token"],
                keep_session_key=request.session.session_key,
            )
            if device is not None:
                request.session.pop(mfa.ENROLMENT_SESSION_KEY, None)
                otp_login(request, device)
                request.session.cycle_key()
                messages.success(request, "Your authenticator app is set up. Use it every time you sign in.")
                return HttpResponseRedirect(reverse(f"{self.name}:index"))
            form.add_error(
                "otp_token",
                ValidationError(
                    "That code is not valid or has already been used. Wait for the next code.",
                    code="invalid_token",
                ),
            )
        device = mfa.device_for_key(user=user, key=key)
        secret = b32encode(device.bin_key).decode("ascii")
        context = {
            **self.each_context(request),
            "title": "Set up your authenticator app",
            "form": form,
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
            "otpauth_uri": device.config_url,
            "mfa_required": mfa.mfa_required(),
        }
        return TemplateResponse(request, "admin/mfa_enrol.html", context)
