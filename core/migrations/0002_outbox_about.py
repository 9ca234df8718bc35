"""Outbox mails name what they are about generically, so core refers to no feature app.

`ticket_id` becomes (about_type = requests_app.ticket, about_id). The ticket's
status link and a verification link, filled in at send time from those
foreign keys until now, become `links` placeholders on mails still queued, so
they go out with working links. Then the two foreign keys are dropped.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The URL patterns as they were when this migration was written (a migration
# does not import the URLconf: later edits must not change what it does).
STATUS_URL = "/requests/status/{token}/"
VERIFY_URL = "/requests/verify/{token}/"


def forwards(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    OutboxMail = apps.get_model("core", "OutboxMail")
    Ticket = apps.get_model("requests_app", "Ticket")
    VerificationToken = apps.get_model("requests_app", "VerificationToken")
    mails = OutboxMail.objects.filter(ticket__isnull=False)
    if not mails.exists():
        return
    ticket_type, _ = ContentType.objects.get_or_create(app_label="requests_app", model="ticket")
    for mail in mails.iterator():
        mail.about_type_id = ticket_type.pk
        mail.about_id = mail.ticket_id
        if mail.status == "queued":
            ticket = Ticket.objects.get(pk=mail.ticket_id)
            links = dict(mail.links or {})
            links["[[status_url]]"] = {
                "purpose": "status",
                "nonce": ticket.status_link_nonce,
                "hash": ticket.status_token_hash,
                "url": settings.SITE_URL + STATUS_URL,
            }
            if mail.verification_id:
                vt = VerificationToken.objects.get(pk=mail.verification_id)
                links["[[verify_url]]"] = {
                    "purpose": "verify",
                    "nonce": vt.nonce,
                    "hash": vt.token_hash,
                    "url": settings.SITE_URL + VERIFY_URL,
                }
            mail.links = links
        mail.save(update_fields=["about_type", "about_id", "links"])


def backwards(apps, schema_editor):
    OutboxMail = apps.get_model("core", "OutboxMail")
    ContentType = apps.get_model("contenttypes", "ContentType")
    ticket_type = ContentType.objects.filter(app_label="requests_app", model="ticket").first()
    if ticket_type is None:
        return
    for mail in OutboxMail.objects.filter(about_type=ticket_type).iterator():
        mail.ticket_id = mail.about_id
        mail.save(update_fields=["ticket"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_outbox_moves_to_core"),
        ("requests_app", "0007_outbox_moves_to_core"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmail",
            name="about_type",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AddField(
            model_name="outboxmail",
            name="about_id",
            field=models.PositiveBigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="outboxmail", name="ticket"),
        migrations.RemoveField(model_name="outboxmail", name="verification"),
        migrations.AddIndex(
            model_name="outboxmail",
            index=models.Index(fields=["about_type", "about_id"], name="outboxmail_about_idx"),
        ),
    ]
