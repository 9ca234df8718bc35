"""NDA versions need a second person's approval before they are offered.

Versions written before this was kept had none: they are withdrawn (not
offered) until an approver approves their text, so no text stays on offer
that no second person approved. Their text hash is filled in here.
"""

import hashlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill_hashes_and_withdraw(apps, schema_editor):
    NdaVersion = apps.get_model("documents", "NdaVersion")
    for version in NdaVersion.objects.all():
        version.text_sha256 = hashlib.sha256(version.text.encode("utf-8")).hexdigest()
        version.active = False
        version.save(update_fields=["text_sha256", "active"])


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0002_single_line_constraints"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="ndaversion",
            name="text_sha256",
            field=models.CharField(
                default="",
                editable=False,
                help_text="SHA-256 of the text as proposed; the approver approves this.",
                max_length=64,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="ndaversion",
            name="reason",
            field=models.TextField(blank=True, help_text="What changed and why, as the editor wrote it."),
        ),
        migrations.AlterModelOptions(
            name="ndaversion",
            options={
                "ordering": ["-created_at", "-id"],
                "permissions": [("approve_ndaversion", "Can approve an NDA version (second person)")],
                "verbose_name": "NDA version",
            },
        ),
        migrations.RunPython(fill_hashes_and_withdraw, migrations.RunPython.noop),
        migrations.CreateModel(
            name="NdaApproval",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "text_sha256",
                    models.CharField(editable=False, help_text="SHA-256 of the text approved.", max_length=64),
                ),
                ("summary", models.TextField(help_text="The editor's reason for the version, as approved.")),
                ("approved_at", models.DateTimeField()),
                (
                    "approved_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "nda_version",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="approval",
                        to="documents.ndaversion",
                    ),
                ),
                (
                    "proposed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "NDA approval",
                "ordering": ["-approved_at", "-id"],
                "default_permissions": ("view",),
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("proposed_by__isnull", True),
                            models.Q(("proposed_by", models.F("approved_by")), _negated=True),
                            _connector="OR",
                        ),
                        name="nda_approval_second_person",
                    )
                ],
            },
        ),
    ]
