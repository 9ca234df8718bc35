"""Staff sign-in: login throttling and the sign-in event log.

Events are logged on the "accounts.auth" logger. They never carry a password
or a one-time code; an attempted username is logged only when it names an
existing account, because people sometimes type their password into the
username field.
"""

import logging
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from core.ratelimits import client_ip

log = logging.getLogger("accounts.auth")


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for sign-ins that come over HTTP.

    Code that authenticates without a request (the test client's `login`, a
    shell) has no client to throttle, so it is not refused for lack of one.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def loggable_username(username: object) -> str:
    """The attempted username if it names an account, else a placeholder."""
    if not isinstance(username, str) or not username:
        return "-"
    User = get_user_model()
    if User._default_manager.filter(**{User.USERNAME_FIELD: username}).exists():
        return username
    return "<unknown>"


def _ip(request: HttpRequest | None) -> str:
    return client_ip(request) if request is not None else "-"


@receiver(user_logged_in, dispatch_uid="accounts.auth.logged_in")
def _log_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    verified = bool(getattr(user, "otp_device", None))
    log.info(
        "sign-in succeeded user=%s ip=%s second_factor=%s",
        user.get_username(),
        _ip(request),
        "yes" if verified else "no",
    )


@receiver(user_logged_out, dispatch_uid="accounts.auth.logged_out")
def _log_logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        log.info("sign-out user=%s ip=%s", user.get_username(), _ip(request))


@receiver(user_login_failed, dispatch_uid="accounts.auth.login_failed")
def _log_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = credentials.get(get_user_model().USERNAME_FIELD)
    log.warning("sign-in failed user=%s ip=%s", loggable_username(username), _ip(request))


@receiver(user_locked_out, dispatch_uid="accounts.auth.locked_out")
def _log_locked_out(
    sender: Any, request: HttpRequest | None, username: str | None = None, ip_address: str | None = None, **kwargs: Any
) -> None:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    log.warning(
        "sign-in locked out user=%s ip=%s cool_off_minutes=%d",
        loggable_username(username),
        ip_address or _ip(request),
        minutes,
    )


def acting_user(request: HttpRequest) -> User:
    """The signed-in account behind an admin or staff request, as services expect it.

    Admin views run only for signed-in staff, so an anonymous user here means a
    view was wired without that guard: refuse rather than act for nobody.
    """
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user
