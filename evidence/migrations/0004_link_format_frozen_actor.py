# New columns keep a database default, so code of the previous release can still insert.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0003_append_only_guards"),
    ]

    operations = [
        migrations.AddField(
            model_name="chainlink",
            name="actor_username",
            field=models.CharField(
                blank=True,
                db_default="",
                help_text="That user's username when the link was written (format 2 on): renames do not rewrite history.",
                max_length=150,
            ),
        ),
        migrations.AddField(
            model_name="chainlink",
            name="format",
            field=models.PositiveSmallIntegerField(
                db_default=1,
                help_text="How the link's hash is computed: 1 (before usernames were frozen), 2 (covers actor_username).",
            ),
        ),
    ]
