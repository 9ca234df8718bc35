from django.db import migrations

from accounts.roles import COMPLIANCE_EDITOR, CONTENT_MODELS, crud, sync_roles

ROLES = {
    COMPLIANCE_EDITOR: crud("compliance", CONTENT_MODELS, ("add", "change", "delete", "view")),
}


def forwards(apps, schema_editor):
    sync_roles(apps, ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("compliance", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
