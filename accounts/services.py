import logging
import secrets
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import AbstractUser, Group, User
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.outbox import outbox_queue

from . import mfa
from .models import StaffSecurityEvent, StaffSecurityEventKind

log = logging.getLogger("accounts.auth")

# Demo usernames per role group; any other group gets a slug of its name.
DEMO_USERNAMES = {
    "Compliance editor": "editor",
    "Compliance approver": "approver",
    "Request handler": "handler",
    "Auditor": "auditor",
}


def demo_accounts_reset() -> list[tuple[str, str, str]]:
    """Create (or reset) one staff account per role group, plus an administrator.

    Returns (role, username, password) triples. New random passwords are set
    on every call so that printed credentials are always the working ones.
    """
    User = get_user_model()
    accounts: list[tuple[str, str, str]] = []
    with transaction.atomic():
        admin_password = secrets.token_urlsafe(12)
        admin = _reset(User, "admin", admin_password, superuser=True)
        accounts.append(("Administrator (all permissions)", admin.username, admin_password))
        for group in Group.objects.order_by("name"):
            username = DEMO_USERNAMES.get(group.name, group.name.lower().replace(" ", "-"))
            password = secrets.token_urlsafe(12)
            user = _reset(User, username, password)
            user.groups.set([group])
            accounts.append((group.name, username, password))
    return accounts


def _reset(User: type[AbstractUser], username: str, password: str, *, superuser: bool = False) -> AbstractUser:
    user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    user.is_staff = True
    user.is_active = True
    user.is_superuser = superuser
    user.set_password(password)
    user.save()
    return user


# --- Second factor: enrolment and removal of authenticators ----------------


def staff_sessions_end(*, user: User, keep_session_key: str | None = None) -> int:
    """Sign the user out everywhere except in the session `keep_session_key`.

    Reads the stored sessions (SESSION_ENGINE must keep them in the database,
    see the system check accounts.E001). Returns how many were ended.
    """
    engine = import_module(settings.SESSION_ENGINE)
    ended = 0
    user_id = str(user.pk)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key == keep_session_key:
            continue
        if str(session.get_decoded().get(SESSION_KEY)) != user_id:
            continue
        engine.SessionStore(session_key=session.session_key).delete()
        ended += 1
    return ended


def _security_event(
    *, kind: str, subject: User, actor: User | None, device_name: str, sessions_ended: int = 0
) -> StaffSecurityEvent:
    """The audit record and the mail to the person whose sign-in changed."""
    event = StaffSecurityEvent.objects.create(
        created_at=timezone.now(),
        kind=kind,
        actor=actor if actor is not None and actor.pk else None,
        actor_username=actor.get_username() if actor is not None else "",
        subject_user_id=subject.pk,
        subject_username=subject.get_username(),
        device_name=device_name,
        sessions_ended=sessions_ended,
    )
    address = getattr(subject, "email", "")
    if address:
        outbox_queue(
            template="staff_authenticator_changed",
            to=address,
            subject=f"{event.get_kind_display()} for your trust center account",
            context={"event": event},
        )
    return event


def authenticator_enrol(*, user: User, key: str, token: str, keep_session_key: str | None = None) -> TOTPDevice | None:
    """Confirm the authenticator set up with `key` (held in the enrolling
    session only) by a code it shows. None when the code does not match or the
    user already has an authenticator: adding a second one must not be
    possible with a password alone.

    Side effects: a confirmed TOTPDevice (the code's time step recorded, so it
    cannot be used again to sign in); every other session of the user ends;
    a StaffSecurityEvent (chained) and a mail to the user in the outbox.
    """
    User = get_user_model()
    device = mfa.device_for_key(user=user, key=key)
    step = mfa.matching_step(device=device, token=token)
    if step is None:
        return None
    with transaction.atomic():
        # Two sessions confirming at once: the user row lock lets one win.
        User._default_manager.select_for_update().filter(pk=user.pk).first()
        if mfa.confirmed_device(user) is not None:
            return None
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device.confirmed = True
        device.last_t = step
        device.last_used_at = timezone.now()
        device.save()
        ended = staff_sessions_end(user=user, keep_session_key=keep_session_key)
        _security_event(
            kind=StaffSecurityEventKind.AUTHENTICATOR_ADDED,
            subject=user,
            actor=user,
            device_name=device.name,
            sessions_ended=ended,
        )
    log.info("authenticator enrolled user=%s other_sessions_ended=%d", user.get_username(), ended)
    return device


def authenticator_remove(*, device: TOTPDevice, actor: User) -> None:
    """Remove an authenticator (a lost phone); the person then enrols again.

    Side effects: the device row is deleted; every session of its user ends
    (a session verified with it must not outlive it); a StaffSecurityEvent
    (chained) and a mail to the user in the outbox.
    """
    with transaction.atomic():
        user = device.user
        name = device.name
        device.delete()
        ended = staff_sessions_end(user=user)
        _security_event(
            kind=StaffSecurityEventKind.AUTHENTICATOR_REMOVED,
            subject=user,
            actor=actor,
            device_name=name,
            sessions_ended=ended,
        )
    log.info("authenticator removed user=%s by=%s", user.get_username(), actor.get_username())
