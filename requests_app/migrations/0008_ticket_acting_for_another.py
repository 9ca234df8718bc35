# A request may be filed by someone acting for the person concerned; a handler checks their authority.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0007_outbox_moves_to_core"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="ticketevent",
            name="ticketevent_kind_valid",
        ),
        migrations.AddField(
            model_name="historicalticket",
            name="acting_for_another",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="Filed by someone acting for the person concerned (an authorised agent, parent, guardian or representative); what they said authorises them is in the form answers.",
            ),
        ),
        migrations.AddField(
            model_name="historicalticket",
            name="agent_checked_at",
            field=models.DateTimeField(
                blank=True, help_text="When a handler recorded the agent's authority as checked.", null=True
            ),
        ),
        migrations.AddField(
            model_name="ticket",
            name="acting_for_another",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="Filed by someone acting for the person concerned (an authorised agent, parent, guardian or representative); what they said authorises them is in the form answers.",
            ),
        ),
        migrations.AddField(
            model_name="ticket",
            name="agent_checked_at",
            field=models.DateTimeField(
                blank=True, help_text="When a handler recorded the agent's authority as checked.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="ticketevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("submitted", "Submitted"),
                    ("verification_requested", "Verification requested"),
                    ("verified", "Identity verified"),
                    ("agent_checked", "Agent's authority checked"),
                    ("status_changed", "Status changed"),
                    ("assigned", "Assigned"),
                    ("extended", "Deadline extended"),
                    ("message", "Message to requester"),
                    ("requester_reply", "Reply from requester"),
                    ("attachment_added", "Attachment added"),
                    ("legal_hold", "Legal hold changed"),
                    ("retention_purge", "Personal data purged"),
                ],
                max_length=30,
            ),
        ),
        migrations.AddConstraint(
            model_name="ticketevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "kind__in",
                        [
                            "submitted",
                            "verification_requested",
                            "verified",
                            "agent_checked",
                            "status_changed",
                            "assigned",
                            "extended",
                            "message",
                            "requester_reply",
                            "attachment_added",
                            "legal_hold",
                            "retention_purge",
                        ],
                    )
                ),
                name="ticketevent_kind_valid",
            ),
        ),
    ]
