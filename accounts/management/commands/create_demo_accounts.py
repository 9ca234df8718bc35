from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.services import demo_accounts_reset


class Command(BaseCommand):
    help = "Create one demo staff account per role and print the credentials (development only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo accounts are for development only; refusing in production.")
        accounts = demo_accounts_reset()
        self.stdout.write("Demo staff accounts (sign in at /admin/):")
        width = max(len(role) for role, _, _ in accounts)
        for role, username, password in accounts:
            self.stdout.write(f"  {role:<{width}}  username: {username:<10} password: {password}")
