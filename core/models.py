"""Rows every app shares: the mail outbox, the daily count of public-form mail
per mailbox, and the periodic job slots.

A mail names what it is about (a ticket, a subscriber, …) through a generic
relation, so the outbox knows no feature app; the app that owns the record
declares a `GenericRelation(OutboxMail, related_query_name=...)` to reach its
mails (`ticket.mails`, `OutboxMail.objects.filter(ticket=...)`).
"""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

from .enums import MailStatus


class OutboxMail(models.Model):
    """A mail written in the same transaction as the change that causes it;
    the worker sends it, with retries. Private links are stored as
    placeholders (`links`) and filled in only when the mail is sent."""

    about_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    about_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    about = GenericForeignKey("about_type", "about_id")
    template = models.CharField(max_length=60, help_text="Name of the template under templates/emails/.")
    to = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=250)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    # Extra mail headers (e.g. List-Unsubscribe); values may hold link placeholders.
    headers = models.JSONField(default=dict, blank=True)
    # Private links as placeholders filled in at send time:
    # {"[[name]]": {"purpose", "nonce", "hash", "url" (with "{token}")}}; see outbox.link_placeholder.
    links = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=MailStatus.choices, default=MailStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had when the outbox lived in requests_app.
        db_table = "requests_app_outboxmail"
        ordering = ["created_at", "id"]
        verbose_name = "outbox mail"
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=MailStatus.values), name="outboxmail_status_valid"),
            models.CheckConstraint(
                condition=~models.Q(status=MailStatus.SENT) | models.Q(sent_at__isnull=False),
                name="outboxmail_sent_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outboxmail_due_idx"),
            models.Index(fields=["created_at"], name="outboxmail_created_idx"),
            models.Index(fields=["template", "status"], name="outboxmail_template_idx"),
            models.Index(fields=["about_type", "about_id"], name="outboxmail_about_idx"),
        ]

    def __str__(self) -> str:
        return f"Mail {self.pk} ({self.template}, {self.status})"


class PublicMailCount(models.Model):
    """How many mails public forms caused to one mailbox on one day (see
    `core.outbox.public_mail_allowed`). The mailbox is kept only as a keyed
    hash, so this table names no one; rows of past days are deleted by housekeeping."""

    mailbox_hash = models.CharField(
        max_length=64, help_text="HMAC-SHA256 of the normalised address (core.text.mail_identity)."
    )
    day = models.DateField(help_text="The local calendar day counted.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "mailbox_hash"]
        verbose_name = "public mail count"
        constraints = [
            models.UniqueConstraint(fields=["mailbox_hash", "day"], name="publicmailcount_one_per_mailbox_day"),
        ]
        indexes = [models.Index(fields=["day"], name="publicmailcount_day_idx")]

    def __str__(self) -> str:
        return f"{self.day}: {self.count}"


class PeriodicJobSlot(models.Model):
    """When a periodic job (declared in an app's ``periodic.py``) runs next.

    One row per job. Whoever runs or queues a run locks the row first, so
    several workers never run one slot twice (see ``core.schedule``).
    """

    name = models.CharField(
        max_length=100, unique=True, help_text="The job's declared name, e.g. requests.housekeeping."
    )
    next_run_at = models.DateTimeField(help_text="The slot the next run is for.")
    queued_for = models.DateTimeField(
        null=True, blank=True, help_text="The slot a run was queued for; equal to next_run_at while one waits."
    )
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "periodic job"

    def __str__(self) -> str:
        return self.name


class WorkerHeartbeat(models.Model):
    """The last sign of life of one task worker process (``core.heartbeat.beat``).

    ``/readyz`` reads the newest row: a site whose workers all stopped sends no
    mail and publishes nothing on schedule, so it is not ready.
    """

    worker = models.CharField(max_length=200, unique=True, help_text="Host and process id of the worker.")
    beat_at = models.DateTimeField(help_text="When the worker last said it was alive.")

    class Meta:
        ordering = ["-beat_at"]
        verbose_name = "worker heartbeat"
        indexes = [models.Index(fields=["beat_at"], name="workerheartbeat_beat_idx")]

    def __str__(self) -> str:
        return f"{self.worker} at {self.beat_at.isoformat()}"
