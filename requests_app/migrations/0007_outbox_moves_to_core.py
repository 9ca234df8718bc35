"""The outbox model now belongs to core (same table, see core 0001).

Its content type moves along, so the permissions staff roles hold on it
(view_outboxmail) stay granted. It runs after the role migrations of
accounts, which name the permission while the model was still here.
"""

from django.db import migrations


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    old = ContentType.objects.filter(app_label="requests_app", model="outboxmail").first()
    if old is None:
        return
    new = ContentType.objects.filter(app_label="core", model="outboxmail").first()
    if new is None:
        old.app_label = "core"
        old.save(update_fields=["app_label"])
        return
    # Both exist (the new one was created meanwhile): hand the groups' grants over, drop the old.
    for perm in Permission.objects.filter(content_type=old):
        twin = Permission.objects.filter(content_type=new, codename=perm.codename).first()
        if twin is not None:
            for group in perm.group_set.all():
                group.permissions.add(twin)
            for user in perm.user_set.all():
                user.user_permissions.add(twin)
    Permission.objects.filter(content_type=old).delete()
    old.delete()


def restore_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="core", model="outboxmail").update(app_label="requests_app")


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0006_single_line_constraints"),
        ("core", "0001_outbox_moves_to_core"),
        ("subscriptions", "0003_notice_mail_in_core"),
        ("accounts", "0005_documents_subscriptions_roles"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="OutboxMail")],
        ),
        migrations.RunPython(move_content_type, restore_content_type),
    ]
