"""Second factor for staff: TOTP authenticators (django-otp).

A staff member enrols one authenticator app; after that, every admin sign-in
needs a fresh code from it. A code is accepted once: django-otp remembers the
last time step used, so a replayed code is refused.
"""

import logging
import re
from typing import cast

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

log = logging.getLogger("accounts.auth")

DEVICE_NAME = "Authenticator app"
_TOKEN_RE = re.compile(r"[0-9]{6,8}")


def mfa_required() -> bool:
    return bool(settings.ADMIN_MFA_REQUIRED)


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def is_verified(user: User | AnonymousUser) -> bool:
    """Signed in with a second factor in this session (set by OTPMiddleware or at login)."""
    return getattr(user, "otp_device", None) is not None


def needs_enrolment(user: User | AnonymousUser) -> bool:
    """A signed-in staff member who must set up an authenticator before using the admin."""
    return (
        mfa_required()
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and not is_verified(user)
        and confirmed_device(user) is None
    )


def totp_verify(*, device: TOTPDevice, token: str) -> bool:
    """Check a code against a device; True at most once per code.

    Side effects: on success the device records the time step (so the same
    code is refused next time) and its last use; on failure its throttle grows.
    """
    token = token.replace(" ", "")
    if not _TOKEN_RE.fullmatch(token):
        return False
    with transaction.atomic():
        # The row lock makes two simultaneous uses of one code accept only one.
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        return locked.verify_token(token)


def enrolment_device(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator being set up by this user (created once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def enrolment_confirm(*, user: User, token: str) -> TOTPDevice | None:
    """Confirm the user's new authenticator with a code it shows.

    Refused (None) when the user already has a confirmed authenticator: adding
    a second one must not be possible with a password alone.
    Side effects: marks the device confirmed; removes other unconfirmed ones.
    """
    with transaction.atomic():
        if confirmed_device(user) is not None:
            return None
        device = enrolment_device(user=user)
        if not totp_verify(device=device, token=token):
            return None
        device.refresh_from_db()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    log.info("authenticator enrolled user=%s", user.get_username())
    return device


class AdminLoginForm(AdminAuthenticationForm):
    """Username and password, then (when MFA is required and the user has an
    authenticator) a code from it."""

    otp_token = forms.CharField(
        label="Authenticator code",
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="The 6-digit code your authenticator app shows now.",
    )

    def clean_username(self) -> str:
        # AuthenticationForm sets max_length after the field is built, so it is
        # not enforced; an overlong name would reach the lockout table's column.
        username = self.cleaned_data["username"]
        limit = cast(forms.CharField, self.fields["username"]).max_length or 150
        if len(username) > limit:
            raise ValidationError(f"Usernames have at most {limit} characters.", code="max_length")
        return username

    def clean(self) -> dict:
        cleaned = super().clean()
        user = self.user_cache
        if user is None or not mfa_required():
            return cleaned
        device = confirmed_device(user)
        if device is None:
            return cleaned  # signs in unverified and is sent to enrolment
        token = (cleaned.get("otp_token") or "").strip()
        if not token:
            raise ValidationError("Enter the code from your authenticator app.", code="token_required")
        if not totp_verify(device=device, token=token):
            log.warning("second factor refused user=%s", user.get_username())
            # Counts towards the sign-in lockout like a wrong password.
            user_login_failed.send(
                sender=__name__,
                credentials={user.USERNAME_FIELD: user.get_username()},
                request=self.request,
            )
            self.user_cache = None
            raise ValidationError(
                "That code is not valid or has already been used. Wait for the next code.",
                code="invalid_token",
            )
        device.refresh_from_db()
        # django-otp marks the session verified on login; User does not declare the attribute.
        user.otp_device = device  # type: ignore[attr-defined]
        return cleaned


class EnrolmentForm(forms.Form):
    otp_token = forms.CharField(
        label="Code from your authenticator app",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )
