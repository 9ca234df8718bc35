"""The move of the outbox to core keeps every queued mail deliverable.

core 0002 turns a mail's ticket and verification foreign keys into the
generic `about` relation and link placeholders; a mail queued before the
upgrade must still go out with a working status and verification link.
"""

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from core import tokens
from core.outbox import outbox_send_one
from requests_app.models import Ticket

BEFORE = [("core", "0001_outbox_moves_to_core")]
AFTER = [("core", "0002_outbox_about")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_mail_queued_before_the_move_goes_out_with_working_links(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    now = timezone.now()
    status_nonce, status_hash = tokens.new_token("status")
    verify_nonce, verify_hash = tokens.new_token("verify")
    ticket = old.get_model("requests_app", "Ticket").objects.create(
        reference="DSR-2026-000001",
        kind="dsr_access",
        status="awaiting_verification",
        requester_name="Dana",
        requester_email="dana@example.org",
        received_at=now,
        due_at=now + dt.timedelta(days=30),
        original_due_at=now + dt.timedelta(days=30),
        status_changed_at=now,
        status_link_nonce=status_nonce,
        status_token_hash=status_hash,
        submission_token="t" * 40,
    )
    token = old.get_model("requests_app", "VerificationToken").objects.create(
        ticket_id=ticket.pk, nonce=verify_nonce, token_hash=verify_hash, created_at=now, expires_at=now
    )
    old.get_model("core", "OutboxMail").objects.create(
        ticket_id=ticket.pk,
        verification_id=token.pk,
        template="verify_identity",
        to="dana@example.org",
        subject="[DSR-2026-000001] Please confirm your request",
        body_text="Confirm: [[verify_url]]\nFollow: [[status_url]]\n",
        next_attempt_at=now,
        created_at=now,
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    # Back to the newest schema, so later tests find every table.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    moved = Ticket.objects.get(pk=ticket.pk).mails.get()
    assert (moved.about_id, moved.about_type.model) == (ticket.pk, "ticket")
    assert outbox_send_one(mail_id=moved.pk) == "sent"
    status_raw = tokens.recover_token("status", status_nonce, status_hash)
    verify_raw = tokens.recover_token("verify", verify_nonce, verify_hash)
    assert mail.outbox[0].body == (
        f"Confirm: {settings.SITE_URL}/requests/verify/{verify_raw}/\n"
        f"Follow: {settings.SITE_URL}/requests/status/{status_raw}/\n"
    )
