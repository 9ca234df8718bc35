"""Admin sign-in throttling (django-axes) and the sign-in event log."""

import logging
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone

from tests.security.conftest import PASSWORD

LOGIN = "/admin/login/"
WRONG = "Wrong-Password-Tr0ub4dor&3"


def attempt(client, username: str, password: str, ip: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_throttling_settings():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"], "ip_address"]
    assert settings.AXES_RESET_ON_SUCCESS is False
    assert settings.AUTHENTICATION_BACKENDS[0] == "accounts.auth.LoginThrottleBackend"


def test_fifth_failure_locks_out_even_the_right_password(client, make_staff):
    make_staff("lou", "Compliance editor")
    for _ in range(4):
        response = attempt(client, "lou", WRONG)
        assert response.status_code == 200
        assert "Please enter the correct username and password" in response.content.decode()
    locked = attempt(client, "lou", WRONG)
    assert locked.status_code == 429
    assert "Too many attempts" in locked.content.decode()
    assert locked["Retry-After"] == "900"  # the 15-minute cool-off

    right = attempt(client, "lou", PASSWORD)
    assert right.status_code == 429
    assert right["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address_and_per_address(client, make_staff):
    make_staff("lou", "Compliance editor")
    make_staff("ann", "Compliance editor")
    for _ in range(5):
        attempt(client, "lou", WRONG)
    assert attempt(client, "lou", PASSWORD).status_code == 429
    # The same user from another address signs in.
    assert attempt(client, "lou", PASSWORD, ip="198.51.100.20").status_code == 302
    client.logout()
    # The address has used up its budget for every username.
    assert attempt(client, "ann", PASSWORD).status_code == 429
    assert attempt(client, "ann", PASSWORD, ip="198.51.100.21").status_code == 302


def test_one_address_spraying_many_usernames_is_locked_out(client, make_staff):
    """Password spraying: one guess for each of many accounts from one address."""
    for name in ("ann", "bea", "cai", "dov", "eli", "fay", "gus"):
        make_staff(name, "Compliance editor")
    statuses = [attempt(client, name, WRONG).status_code for name in ("ann", "bea", "cai", "dov", "eli", "fay")]
    assert statuses == [200, 200, 200, 200, 429, 429]
    # Even the right password of an account never tried from there is refused now.
    assert attempt(client, "gus", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # One row per username tried from the address, refused ones included.
    assert AccessAttempt.objects.filter(ip_address="203.0.113.7").count() == 7
    # Another address is not affected.
    assert attempt(client, "gus", PASSWORD, ip="198.51.100.9").status_code == 302


def test_a_success_does_not_reset_the_address_budget(client, make_staff):
    make_staff("ann", "Compliance editor")
    make_staff("bea", "Compliance editor")
    for name in ("ann", "bea", "ann", "bea"):
        attempt(client, name, WRONG)
    assert attempt(client, "ann", PASSWORD).status_code == 302  # four failures: still under the limit
    client.logout()
    assert attempt(client, "bea", WRONG).status_code == 429  # the fifth from this address


def test_lockout_ends_after_the_cool_off(client, make_staff):
    make_staff("lou", "Compliance editor")
    for _ in range(5):
        attempt(client, "lou", WRONG)
    assert attempt(client, "lou", PASSWORD).status_code == 429
    # The last failure was 16 minutes ago.
    long_ago = timezone.now() - timedelta(minutes=16)
    for row in AccessAttempt.objects.all():
        row.attempt_time = long_ago
        row.save(update_fields=["attempt_time"])
    response = attempt(client, "lou", PASSWORD)
    assert response.status_code == 302
    assert AccessAttempt.objects.count() == 0  # reset on success


def test_sign_in_events_are_logged_without_passwords(client, make_staff, caplog):
    make_staff("lou", "Compliance editor")
    caplog.set_level(logging.DEBUG)
    # Someone types their password into the username field, too.
    attempt(client, PASSWORD, PASSWORD, ip="192.0.2.44")
    for _ in range(5):
        attempt(client, "lou", WRONG)
    client2 = client.__class__()
    attempt(client2, "lou", WRONG, ip="198.51.100.20")
    attempt(client2, "lou", PASSWORD, ip="198.51.100.20")

    text = caplog.text
    assert PASSWORD not in text
    assert WRONG not in text
    events = [r.getMessage() for r in caplog.records if r.name == "accounts.auth"]
    assert events == [
        "sign-in failed user=<unknown> ip=192.0.2.44",
        *["sign-in failed user=lou ip=203.0.113.7"] * 4,
        # django-axes reports the lockout while handling the fifth failure.
        "sign-in locked out user=lou ip=203.0.113.7 cool_off_minutes=15",
        "sign-in failed user=lou ip=203.0.113.7",
        "sign-in failed user=lou ip=198.51.100.20",
        "sign-in succeeded user=lou ip=198.51.100.20 second_factor=no",
    ]


def test_stored_attempts_do_not_keep_the_password(client, make_staff):
    make_staff("lou", "Compliance editor")
    attempt(client, "lou", WRONG)
    row = AccessAttempt.objects.get()
    assert WRONG not in row.post_data
    assert row.username == "lou"
    assert row.failures_since_start == 1


def test_client_address_comes_from_trusted_proxies_only(rf, settings):
    from accounts.auth import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.9")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "198.51.100.9"  # the client-written 6.6.6.6 is ignored
    settings.TRUSTED_PROXY_COUNT = 3
    assert client_ip(request) == "10.0.0.2"  # fewer hops than proxies: not trusted


def test_wrong_authenticator_codes_count_towards_the_lockout(client, make_staff, settings):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.ADMIN_MFA_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = make_staff("lou", "Compliance editor")
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    statuses = [
        client.post(
            LOGIN, {"username": "lou", "password": PASSWORD, "otp_token": "abc123"}, REMOTE_ADDR="203.0.113.7"
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]


def test_sign_in_without_a_request_is_not_throttled(client, make_staff):
    """The test client's login() (and code) authenticate without a request."""
    make_staff("lou", "Compliance editor")
    assert client.login(username="lou", password=PASSWORD) is True
    assert client.get("/admin/").status_code == 200
