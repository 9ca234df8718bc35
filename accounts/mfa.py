"""Second factor for staff: TOTP authenticators (django-otp).

A staff member enrols one authenticator app; after that, every admin sign-in
needs a fresh code from it. A code is accepted once: django-otp remembers the
last time step used, so a replayed code is refused.

The secret of an authenticator being set up lives only in the session that is
setting it up (`ENROLMENT_SESSION_KEY`); no device row exists before a code
from it is confirmed, so two sessions signed in with the same password never
see the same secret.
"""

import logging
import re
import time
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

log = logging.getLogger("accounts.auth")

DEVICE_NAME = "Authenticator app"
ENROLMENT_SESSION_KEY = "accounts_mfa_enrolment_key"
_TOKEN_RE = re.compile(r"[0-9]{6,8}")
_KEY_RE = re.compile(r"[0-9a-f]{40}")


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


def enrolment_key(session: Any) -> str:
    """The secret of the authenticator this session is setting up: made
    fresh for the session on first use, never stored anywhere else."""
    key = session.get(ENROLMENT_SESSION_KEY)
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        key = default_key()
        session[ENROLMENT_SESSION_KEY] = key
    return key


def device_for_key(*, user: User, key: str) -> TOTPDevice:
    """An unsaved device for `key`: what the enrolment page shows and checks."""
    return TOTPDevice(user=user, name=DEVICE_NAME, key=key, confirmed=False)


def matching_step(*, device: TOTPDevice, token: str) -> int | None:
    """The time step at which `device` shows `token` (within its tolerance), or None."""
    token = token.replace(" ", "")
    if not _TOKEN_RE.fullmatch(token):
        return None
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if not totp.verify(int(token), device.tolerance):
        return None
    device.drift = totp.drift
    return totp.t()


class OneTimeCodeInput(forms.TextInput):
    """A code field that never shows what was typed: a refused sign-in answers
    the same whatever code was entered."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": "16", **(attrs or {})})

    def format_value(self, value: Any) -> None:
        return None


class AdminLoginForm(AdminAuthenticationForm):
    """Username and password, then (when MFA is required and the user has an
    authenticator) a code from it.

    Every refusal is the same: a wrong password, a right password with no
    code, a wrong code or a used one all give Django's "enter the correct
    username and password" error, count once towards the sign-in lockout and
    show the form without the code. Only a right password for an account
    without an authenticator goes on, to enrolment.
    """

    otp_token = forms.CharField(
        label="Authenticator code",
        required=False,
        widget=OneTimeCodeInput(),
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
        if totp_verify(device=device, token=cleaned.get("otp_token") or ""):
            device.refresh_from_db()
            user.otp_device = device  # type: ignore[attr-defined]  # django-otp reads it to mark the session verified
            return cleaned
        log.warning("second factor refused user=%s", user.get_username())
        # Counts towards the sign-in lockout like a wrong password.
        user_login_failed.send(
            sender=__name__,
            credentials={user.USERNAME_FIELD: user.get_username()},
            request=self.request,
        )
        self.user_cache = None
        raise self.get_invalid_login_error()


class EnrolmentForm(forms.Form):
    otp_token = forms.CharField(
        label="Code from your authenticator app",
        max_length=16,
        widget=OneTimeCodeInput(attrs={"autofocus": True}),
    )
