import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction

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
