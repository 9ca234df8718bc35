"""Admin sign-in with a second factor (TOTP), and enrolment of an authenticator."""

import re
from base64 import b32decode

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.security.conftest import PASSWORD, code_for

LOGIN = "/admin/login/?next=/admin/"


def sign_in(client, username: str, password: str = PASSWORD, code: str = ""):
    return client.post(LOGIN, {"username": username, "password": password, "otp_token": code})


def test_development_signs_in_with_password_alone(client, make_staff, seeded, settings):
    assert settings.ADMIN_MFA_REQUIRED is False
    make_staff("dev", "Compliance editor")
    response = sign_in(client, "dev")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200
    assert b"Site administration" in page.content or b"Content, requests and evidence" in page.content


def test_login_page_asks_for_the_code_only_when_required(client, db, mfa_on):
    assert b'name="otp_token"' in client.get("/admin/login/").content
    mfa_on.ADMIN_MFA_REQUIRED = False
    assert b'name="otp_token"' not in client.get("/admin/login/").content


def test_required_mode_refuses_password_without_code(client, mfa_on, staff_with_device):
    response = sign_in(client, "mira")
    assert response.status_code == 200
    assert "Please enter the correct username and password for a staff account." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_valid_code_signs_in_verified(client, mfa_on, staff_with_device):
    user, device = staff_with_device
    response = sign_in(client, "mira", code=code_for(device))
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session["otp_device_id"] == device.persistent_id
    index = client.get("/admin/")
    assert index.status_code == 200
    assert b"Certifications" in index.content


def test_replayed_code_is_refused(client, mfa_on, staff_with_device):
    # Without django-otp's growing delay after a failure, so that the last
    # step below shows the refusal was about the code, not the timing.
    mfa_on.OTP_TOTP_THROTTLE_FACTOR = 0
    _, device = staff_with_device
    code = code_for(device)
    assert sign_in(client, "mira", code=code).status_code == 302
    client.post("/admin/logout/")

    replay = sign_in(client, "mira", code=code)
    assert replay.status_code == 200
    assert "Please enter the correct username and password" in replay.content.decode()
    assert "_auth_user_id" not in client.session

    # The next code of the authenticator still works.
    assert sign_in(client, "mira", code=code_for(device, steps_ahead=1)).status_code == 302


@pytest.mark.parametrize("bad", ["000000", "12345", "abcdef", "１２３４５６", " ", "9" * 16])
def test_wrong_or_malformed_codes_are_refused(client, mfa_on, staff_with_device, bad):
    _, device = staff_with_device
    if bad == code_for(device):
        bad = "111111" if bad != "111111" else "222222"
    response = sign_in(client, "mira", code=bad)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_code_of_another_users_device_is_refused(client, mfa_on, staff_with_device, make_staff):
    _, device = staff_with_device
    other = make_staff("otto", "Compliance editor")
    TOTPDevice.objects.create(user=other, name="Authenticator app", confirmed=True)
    response = sign_in(client, "otto", code=code_for(device))
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_unverified_session_is_refused_everywhere_in_admin(client, mfa_on, staff_with_device):
    user, _ = staff_with_device
    client.force_login(user)  # password only: no device in the session
    for url in ("/admin/", "/admin/compliance/certification/", "/admin/auth/user/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/?next="), url


def test_staff_without_device_is_sent_to_enrolment(client, mfa_on, make_staff, seeded):
    make_staff("neo", "Compliance editor")
    response = sign_in(client, "neo")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:mfa_enrol")
    # Until enrolled, the admin itself stays closed and leads back to enrolment.
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get("/admin/login/")["Location"] == reverse("admin:mfa_enrol")


def shown_secret(page) -> str:
    body = page.content.decode()
    uri = re.search(r'<code class="mfa-uri">([^<]+)</code>', body).group(1).replace("&amp;", "&")
    return uri.split("secret=")[1].split("&")[0]


def device_for(user, secret: str) -> TOTPDevice:
    """What the person's authenticator app computes from the secret shown (unsaved)."""
    return TOTPDevice(user=user, name="app", key=b32decode(secret).hex())


def test_enrolment_shows_secret_as_text_and_confirms_with_a_code(client, mfa_on, make_staff, seeded):
    user = make_staff("neo", "Compliance editor")
    sign_in(client, "neo")
    page = client.get(reverse("admin:mfa_enrol"))
    body = page.content.decode()
    assert page.status_code == 200
    assert TOTPDevice.objects.filter(user=user).count() == 0  # nothing stored before a code confirms it
    uri = re.search(r'<code class="mfa-uri">([^<]+)</code>', body).group(1).replace("&amp;", "&")
    assert uri.startswith("otpauth://totp/Trust%20center%3Aneo?secret=")
    secret = uri.split("secret=")[1].split("&")[0]
    device = device_for(user, secret)
    assert client.get(reverse("admin:mfa_enrol")).content.decode().count(secret) == 1  # same secret on reload
    shown = re.search(r'<code class="mfa-secret">([^<]+)</code>', body).group(1)
    assert shown.replace(" ", "") == secret
    # No image service or other site is asked to draw a QR code of the secret.
    assert re.findall(r'(?:src|href|action)="(?:https?:)?//', body) == []
    assert "<img" not in body

    mfa_on.OTP_TOTP_THROTTLE_FACTOR = 0
    wrong = client.post(
        reverse("admin:mfa_enrol"), {"otp_token": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert wrong.status_code == 200
    assert "That code is not valid or has already been used." in wrong.content.decode()
    assert TOTPDevice.objects.filter(user=user).count() == 0

    done = client.post(reverse("admin:mfa_enrol"), {"otp_token": code_for(device)})
    assert done.status_code == 302
    assert done["Location"] == "/admin/"
    stored = TOTPDevice.objects.get(user=user)
    assert (stored.confirmed, stored.key) == (True, device.key)
    assert client.get("/admin/").status_code == 200


def test_enrolled_user_cannot_add_a_second_device_with_password_alone(client, mfa_on, staff_with_device):
    user, device = staff_with_device
    client.force_login(user)
    response = client.get(reverse("admin:mfa_enrol"))
    assert response.status_code == 302
    response = client.post(reverse("admin:mfa_enrol"), {"otp_token": code_for(device)})
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert client.get("/admin/").status_code == 302  # still not verified


def test_enrolment_refuses_anonymous_and_non_staff(client, db, mfa_on, django_user_model):
    response = client.get(reverse("admin:mfa_enrol"))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    member = django_user_model.objects.create_user("plain", password=PASSWORD)
    client.force_login(member)
    assert client.get(reverse("admin:mfa_enrol")).status_code == 302
    assert TOTPDevice.objects.count() == 0


def test_totp_secrets_are_hidden_in_the_device_admin(admin_client, staff_with_device, settings):
    _, device = staff_with_device
    page = admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert page.status_code == 200
    assert device.key not in page.content.decode()


CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+(")')


def test_every_failed_combination_of_password_and_code_gets_the_same_answer(mfa_on, staff_with_device):
    """Status, headers and body are byte for byte the same (but for the CSRF
    token, random in every form, and the Expires time), and each counts once
    towards the lockout."""
    from axes.models import AccessAttempt
    from django.test import Client

    mfa_on.OTP_TOTP_THROTTLE_FACTOR = 0
    _, device = staff_with_device
    used = code_for(device)
    assert sign_in(Client(), "mira", code=used).status_code == 302
    wrong = next(c for c in ("111111", "222222", "333333") if c not in (used, code_for(device, steps_ahead=1)))
    combinations = {
        "wrong password, no code": ("Wrong-Password-1", ""),
        "wrong password, wrong code": ("Wrong-Password-1", wrong),
        "wrong password, valid code": ("Wrong-Password-1", code_for(device, steps_ahead=1)),
        "right password, no code": (PASSWORD, ""),
        "right password, wrong code": (PASSWORD, wrong),
        "right password, used code": (PASSWORD, used),
        "right password, malformed code": (PASSWORD, "12ab56"),
        "right password, overlong code": (PASSWORD, "9" * 40),
    }
    answers = {}
    for number, (name, (password, code)) in enumerate(combinations.items(), start=10):
        client = Client()
        address = f"198.51.100.{number}"
        response = client.post(
            LOGIN, {"username": "mira", "password": password, "otp_token": code}, REMOTE_ADDR=address
        )
        # Expires is the time of the answer (never cached) and X-Request-ID names the
        # request; both are there in every answer.
        headers = sorted(
            (k, v if k not in ("Expires", "X-Request-ID") else "-")
            for k, v in response.headers.items()
            if k != "Set-Cookie"
        )
        answers[name] = (
            response.status_code,
            tuple(headers),
            tuple(sorted(response.cookies)),
            CSRF_VALUE.sub(r"\1-\2", response.content.decode()),
        )
        assert "_auth_user_id" not in client.session, name
        assert AccessAttempt.objects.get(ip_address=address).failures_since_start == 1, name
    first = answers["wrong password, no code"]
    assert {name: answer == first for name, answer in answers.items()} == dict.fromkeys(combinations, True)
    status, _, cookies, body = first
    assert (status, cookies) == (200, ("csrftoken",))
    assert "Please enter the correct username and password for a staff account." in body
    assert 'name="otp_token"' in body and 'name="otp_token" value=' not in body  # the code is never echoed


def test_second_session_with_the_same_password_gets_another_secret(mfa_on, make_staff, seeded):
    """The owner and someone holding their password enrol at the same time:
    each sees a different secret, only the confirmed one counts, and the other
    session is signed out by the confirmation."""
    from django.test import Client

    user = make_staff("neo", "Compliance editor")
    owner, attacker = Client(), Client()
    sign_in(owner, "neo")
    sign_in(attacker, "neo")
    owner_secret = shown_secret(owner.get(reverse("admin:mfa_enrol")))
    attacker_secret = shown_secret(attacker.get(reverse("admin:mfa_enrol")))
    assert owner_secret != attacker_secret
    assert TOTPDevice.objects.filter(user=user).count() == 0

    done = owner.post(reverse("admin:mfa_enrol"), {"otp_token": code_for(device_for(user, owner_secret))})
    assert done.status_code == 302
    assert TOTPDevice.objects.get(user=user).key == device_for(user, owner_secret).key

    # The attacker's session is gone: every page sends them to sign in again.
    assert "_auth_user_id" not in attacker.session
    response = attacker.get(reverse("admin:mfa_enrol"))
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/mfa/enrol/")
    assert attacker.get("/preview/")["Location"] == "/admin/login/?next=/preview/"
    # Their authenticator's code does not sign in, with the password or without.
    attacker_code = code_for(device_for(user, attacker_secret))
    assert sign_in(attacker, "neo", code=attacker_code).status_code == 200
    assert "_auth_user_id" not in attacker.session
    # The owner's session stays, verified.
    assert owner.get("/admin/").status_code == 200


def test_fresh_secret_for_each_session_of_the_same_user(mfa_on, make_staff, seeded):
    from django.test import Client

    make_staff("neo", "Compliance editor")
    secrets = set()
    for _ in range(3):
        client = Client()
        sign_in(client, "neo")
        secrets.add(shown_secret(client.get(reverse("admin:mfa_enrol"))))
    assert len(secrets) == 3
