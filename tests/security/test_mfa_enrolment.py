"""Adding and removing authenticators: audit record, mail, sessions; and the
second factor on every staff-only view."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AUTHENTICATOR_KINDS, StaffSecurityEvent
from accounts.services import authenticator_remove
from evidence.models import ChainLink
from evidence.selectors import AuditFilters, audit_log_page
from evidence.verify import verify_chain
from requests_app.models import OutboxMail
from tests.security.conftest import PASSWORD, code_for
from tests.security.test_mfa import device_for, shown_secret, sign_in

LABEL = "accounts.staffsecurityevent"


def enrol(client: Client, user) -> TOTPDevice:
    sign_in(client, user.username)
    secret = shown_secret(client.get(reverse("admin:mfa_enrol")))
    done = client.post(reverse("admin:mfa_enrol"), {"otp_token": code_for(device_for(user, secret))})
    assert done.status_code == 302
    return TOTPDevice.objects.get(user=user)


def test_enrolment_is_recorded_chained_mailed_and_ends_other_sessions(mfa_on, make_staff, seeded):
    user = make_staff("neo", "Compliance editor")
    other = make_staff("ora", "Compliance editor")
    elsewhere, bystander = Client(), Client()
    elsewhere.force_login(user)  # e.g. a password-only session somebody else holds
    bystander.force_login(other)
    owner = Client()

    device = enrol(owner, user)

    event = StaffSecurityEvent.objects.get(kind__in=AUTHENTICATOR_KINDS)
    assert (event.kind, event.actor_id, event.actor_username, event.subject_user_id, event.subject_username) == (
        "authenticator_added",
        user.pk,
        "neo",
        user.pk,
        "neo",
    )
    assert (event.device_name, event.sessions_ended) == (device.name, 1)
    # Only the owner's verifying session and the other user's remain.
    remaining = {s.get_decoded().get("_auth_user_id") for s in Session.objects.all()}
    assert remaining == {str(user.pk), str(other.pk)}
    assert Session.objects.count() == 2
    assert owner.get("/admin/").status_code == 200
    assert bystander.get("/admin/login/")["Location"] == "/admin/mfa/enrol/"  # still signed in

    mail = OutboxMail.objects.get(template="staff_authenticator_changed")
    assert (mail.to, mail.subject) == ("neo@example.com", "Authenticator added for your trust center account")
    assert "an authenticator app was just set up as the second factor" in mail.body_text
    assert "Your other sessions were signed out." in mail.body_text

    link = ChainLink.objects.get(model_label=LABEL, row_pk=event.pk)
    assert (link.row_pk, link.actor_id) == (event.pk, user.pk)
    entry = audit_log_page(filters=AuditFilters(model_label=LABEL)).entries[0]
    assert (entry.model_name, entry.change_type, entry.user, entry.object_repr) == (
        "staff security event",
        "staff account changed",
        "neo",
        "Authenticator added for neo",
    )
    assert entry.reason == "Authenticator added (Authenticator app) for neo; 1 other session signed out"
    assert verify_chain().ok


def test_removal_by_an_administrator_is_recorded_mailed_and_signs_the_user_out(client, make_staff, seeded):
    user = make_staff("neo", "Compliance editor")
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    root = make_staff("root", superuser=True)
    users_session = Client()
    users_session.force_login(user)
    client.force_login(root)  # development settings: no second factor needed

    page = client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})

    assert page.status_code == 302
    assert TOTPDevice.objects.filter(user=user).count() == 0
    event = StaffSecurityEvent.objects.get(kind__in=AUTHENTICATOR_KINDS)
    assert (event.kind, event.actor_username, event.subject_username, event.sessions_ended) == (
        "authenticator_removed",
        "root",
        "neo",
        1,
    )
    assert "_auth_user_id" not in users_session.session
    mail = OutboxMail.objects.get(template="staff_authenticator_changed")
    assert (mail.to, mail.subject) == ("neo@example.com", "Authenticator removed for your trust center account")
    assert "was removed by root" in mail.body_text
    entry = audit_log_page(filters=AuditFilters(model_label=LABEL)).entries[0]
    assert (entry.user, entry.reason) == (
        "root",
        "Authenticator removed (Authenticator app) for neo by root; 1 other session signed out",
    )


def test_bulk_removal_goes_through_the_service_too(client, make_staff, seeded):
    users = [make_staff(name, "Compliance editor") for name in ("ann", "bea")]
    devices = [TOTPDevice.objects.create(user=u, name="Authenticator app", confirmed=True) for u in users]
    client.force_login(make_staff("root", superuser=True))
    response = client.post(
        "/admin/otp_totp/totpdevice/",
        {"action": "delete_selected", "_selected_action": [d.pk for d in devices], "post": "yes"},
    )
    assert response.status_code == 302
    assert TOTPDevice.objects.count() == 0
    assert sorted(
        StaffSecurityEvent.objects.filter(kind__in=AUTHENTICATOR_KINDS).values_list("subject_username", "kind")
    ) == [
        ("ann", "authenticator_removed"),
        ("bea", "authenticator_removed"),
    ]
    assert OutboxMail.objects.filter(template="staff_authenticator_changed").count() == 2


def test_authenticators_cannot_be_added_or_edited_in_the_admin(client, make_staff, seeded):
    user = make_staff("neo", "Compliance editor")
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    client.force_login(make_staff("root", superuser=True))
    assert client.get("/admin/otp_totp/totpdevice/add/").status_code == 403
    response = client.post(
        f"/admin/otp_totp/totpdevice/{device.pk}/change/", {"user": user.pk, "name": "x", "confirmed": "on"}
    )
    assert response.status_code == 403
    device.refresh_from_db()
    assert (device.name, device.confirmed) == ("Authenticator app", False)


def test_an_account_without_mail_address_is_still_recorded(make_staff, seeded):
    user = make_staff("neo", "Compliance editor")
    user.email = ""
    user.save()
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    authenticator_remove(device=device, actor=make_staff("root", superuser=True))
    assert StaffSecurityEvent.objects.filter(kind__in=AUTHENTICATOR_KINDS).count() == 1
    assert OutboxMail.objects.filter(template="staff_authenticator_changed").count() == 0


@pytest.mark.postgres
def test_security_events_are_append_only(make_staff, seeded):
    from django.db import DatabaseError, connection, transaction

    user = make_staff("neo", "Compliance editor")
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    authenticator_remove(device=device, actor=user)
    for statement in (
        "UPDATE accounts_staffsecurityevent SET subject_username = 'x'",
        "DELETE FROM accounts_staffsecurityevent",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


# --- The second factor on every staff-only view ------------------------------


def _admin_paths(resolver: URLResolver, prefix: str = "") -> list[str]:
    paths = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            paths += _admin_paths(pattern, route)
        elif "<" not in route and "(?P" not in route and "^" not in route:
            paths.append(route)
    return paths


def test_a_password_only_session_opens_no_staff_view(client, mfa_on, make_staff, published, settings):
    settings.AS_OF_PUBLIC = False
    root = make_staff("root", superuser=True)
    TOTPDevice.objects.create(user=root, name="Authenticator app", confirmed=True)
    client.force_login(root)  # the password was right; no code in this session
    admin_resolver = next(p for p in get_resolver().url_patterns if str(p.pattern) == "admin/")
    assert isinstance(admin_resolver, URLResolver)
    admin_paths = ["/admin/" + p for p in _admin_paths(admin_resolver)]
    open_paths = {"/admin/login/", "/admin/logout/", "/admin/mfa/enrol/"}
    staff_paths = [p for p in admin_paths if p not in open_paths]
    assert len(staff_paths) > 40
    assert "/admin/evidence/auditlog/export/" in staff_paths
    staff_paths += ["/preview/", "/as-of/2026-06-01/"]
    answers = {}
    for path in staff_paths:
        response = client.get(path)
        answers[path] = (response.status_code, response.get("Location", "").split("?")[0])
    assert {path: answer for path, answer in answers.items() if answer != (302, "/admin/login/")} == {}


def test_a_verified_session_opens_them(client, mfa_on, make_staff, published, settings):
    settings.AS_OF_PUBLIC = False
    root = make_staff("root", superuser=True)
    device = TOTPDevice.objects.create(user=root, name="Authenticator app", confirmed=True)
    assert sign_in(client, "root", PASSWORD, code_for(device)).status_code == 302
    assert client.get("/preview/").status_code == 200
    assert client.get("/admin/evidence/auditlog/").status_code == 200
    response = client.get(
        "/admin/evidence/auditlog/export/", {"date_from": "2026-01-01", "date_to": "2026-12-31", "format": "csv"}
    )
    assert response.status_code == 200


def test_preview_without_mfa_requirement_needs_only_staff(client, make_staff, seeded):
    editor = make_staff("eda", "Compliance editor")
    client.force_login(editor)
    assert client.get("/preview/").status_code == 200


def test_sessions_must_be_stored_in_the_database(settings):
    from accounts.checks import sessions_in_database

    assert sessions_in_database() == []
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    assert [m.id for m in sessions_in_database()] == ["accounts.E001"]
