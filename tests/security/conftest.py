import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "correct-horse-battery"  # the password tests/conftest.py gives staff users


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows for this device now (or n steps later)."""
    if device.pk is not None:
        device.refresh_from_db()
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time() + steps_ahead * device.step
    return f"{generator.token():0{device.digits}d}"


@pytest.fixture
def mfa_on(settings):
    settings.ADMIN_MFA_REQUIRED = True
    return settings


@pytest.fixture
def staff_with_device(make_staff, seeded):
    user = make_staff("mira", "Compliance editor")
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user, device
