"""Throttling instead of lockout (issue 16, item 5), known clients, usage counters (item 7).

`locked_until` becomes `wait_until`: a growing delay rather than a lock; the
rows written under the old rule keep their meaning (no attempt before then).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_move_second_factor_secrets"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField("failurecounter", "locked_until", "wait_until"),
        migrations.AlterField(
            model_name="failurecounter", name="kind",
            field=models.CharField(choices=[("account", "Account"), ("pair", "Pair"),
                                            ("address", "Address"), ("all", "All")],
                                   max_length=10),
        ),
        migrations.AddField("failurecounter", "last_failure_at",
                            models.DateTimeField(blank=True, null=True)),
        migrations.AddField("failurecounter", "burst_start",
                            models.DateTimeField(blank=True, null=True)),
        migrations.AddField("failurecounter", "burst_attempts",
                            models.PositiveIntegerField(default=0)),
        migrations.AddField("failurecounter", "unreported",
                            models.PositiveIntegerField(default=0)),
        migrations.AddField("failurecounter", "reported_at",
                            models.DateTimeField(blank=True, null=True)),
        migrations.CreateModel(
            name="KnownClient",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("device", "Device"), ("address", "Address")],
                                          max_length=10)),
                ("key", models.CharField(max_length=64)),
                ("last_login_at", models.DateTimeField()),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                           related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={"constraints": [models.UniqueConstraint(
                fields=("user", "kind", "key"), name="one_known_client")]},
        ),
        migrations.CreateModel(
            name="UsageCounter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=20)),
                ("window_start", models.DateTimeField()),
                ("count", models.PositiveIntegerField(default=0)),
                ("previous", models.PositiveIntegerField(default=0)),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                           related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={"constraints": [models.UniqueConstraint(
                fields=("user", "kind"), name="one_usage_counter")]},
        ),
    ]
