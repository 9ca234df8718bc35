from django.db import migrations

from accounts.roles import REQUEST_HANDLER, sync_roles

# sync_roles makes each named group exact; groups not named are left as they are.
ROLES = {
    # Works the ticket queue: tickets change only through the workflow buttons
    # (services) and are never deleted.
    REQUEST_HANDLER: [
        "requests_app.view_ticket",
        "requests_app.change_ticket",
        "requests_app.add_ticketnote",
        "requests_app.view_ticketnote",
        "requests_app.view_ticketevent",
        "requests_app.add_ticketattachment",
        "requests_app.view_ticketattachment",
        "requests_app.view_outboxmail",
        "requests_app.view_extraholiday",
        "requests_app.add_extraholiday",
        "requests_app.change_extraholiday",
    ],
}


def forwards(apps, schema_editor):
    sync_roles(apps, ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_publishing_roles"),
        ("requests_app", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
