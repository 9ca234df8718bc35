"""The outbox model moves from requests_app to core; its table stays where it is.

State only: the table `requests_app_outboxmail`, its rows, indexes and
constraints are untouched (see requests_app 0007 and subscriptions 0003).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("requests_app", "0005_ticket_history_guard"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="OutboxMail",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "template",
                            models.CharField(help_text="Name of the template under templates/emails/.", max_length=60),
                        ),
                        ("to", models.CharField(blank=True, max_length=254)),
                        ("subject", models.CharField(max_length=250)),
                        ("body_text", models.TextField(blank=True)),
                        ("body_html", models.TextField(blank=True)),
                        ("headers", models.JSONField(blank=True, default=dict)),
                        ("links", models.JSONField(blank=True, default=dict)),
                        (
                            "status",
                            models.CharField(
                                choices=[("queued", "Queued"), ("sent", "Sent"), ("failed", "Failed")],
                                default="queued",
                                max_length=10,
                            ),
                        ),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("next_attempt_at", models.DateTimeField()),
                        ("last_error", models.CharField(blank=True, max_length=300)),
                        ("created_at", models.DateTimeField()),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("purged_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "ticket",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="mails",
                                to="requests_app.ticket",
                            ),
                        ),
                        (
                            "verification",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="requests_app.verificationtoken",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "outbox mail",
                        "ordering": ["created_at", "id"],
                        "db_table": "requests_app_outboxmail",
                        "indexes": [
                            models.Index(fields=["status", "next_attempt_at"], name="outboxmail_due_idx"),
                            models.Index(fields=["created_at"], name="outboxmail_created_idx"),
                            models.Index(fields=["template", "status"], name="outboxmail_template_idx"),
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("status__in", ["queued", "sent", "failed"])),
                                name="outboxmail_status_valid",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(("status", "sent"), _negated=True)
                                | models.Q(("sent_at__isnull", False)),
                                name="outboxmail_sent_has_time",
                            ),
                        ],
                    },
                ),
            ],
        ),
    ]
