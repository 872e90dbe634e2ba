"""Sessions keep only a keyed hash of their key (issue 16, item 6).

Live sessions move from django_session into accounts_session under the
digest of their key, and the clear rows go in the same transaction: nobody is
logged out by the upgrade, and no clear key stays behind. Session records
(ended ones too) get the digest in place of the key. The digest is one-way:
reversing leaves the records hashed and the moved sessions where they are.
"""

from django.db import migrations, models

from etanche.vault import instance


def forward(apps, schema_editor):
    ClearSession = apps.get_model("sessions", "Session")
    HashedSession = apps.get_model("accounts", "HashedSession")
    SessionRecord = apps.get_model("accounts", "SessionRecord")
    for old in ClearSession.objects.all().iterator():
        HashedSession.objects.create(session_key=instance.session_digest(old.session_key),
                                     session_data=old.session_data,
                                     expire_date=old.expire_date)
    ClearSession.objects.all().delete()
    for record in SessionRecord.objects.all().iterator():
        record.session_key = instance.session_digest(record.session_key)
        record.save(update_fields=["session_key"])


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0005_throttle_known_clients_usage"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="HashedSession",
            fields=[
                ("session_data", models.TextField(verbose_name="session data")),
                ("expire_date", models.DateTimeField(db_index=True,
                                                     verbose_name="expire date")),
                ("session_key", models.CharField(max_length=64, primary_key=True,
                                                 serialize=False,
                                                 verbose_name="clé de session (empreinte)")),
            ],
            options={
                "verbose_name": "session",
                "verbose_name_plural": "sessions",
                "db_table": "accounts_session",
                "abstract": False,
            },
        ),
        migrations.AlterField(
            model_name="sessionrecord",
            name="session_key",
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
