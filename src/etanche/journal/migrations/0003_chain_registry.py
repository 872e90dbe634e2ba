import json

from django.db import migrations, models

from etanche.vault import instance


def register_existing_chains(apps, schema_editor):
    """An existing journal gets a registry of the chains it holds, heads filled by the next
    append: without it, the first append would report the registry as deleted."""
    chain_model = apps.get_model("journal", "Chain")
    registry_model = apps.get_model("journal", "Registry")
    chains = {
        name: {"id": pk, "lab": lab_id, "start_us": None, "seq": None, "mac": None}
        for name, pk, lab_id in chain_model.objects.values_list("name", "pk", "lab_id")
    }
    if not chains:
        return
    # journal/registry.py's format, frozen here as a migration must be.
    body = json.dumps({"v": 1, "chains": chains, "events": []}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=True)
    registry_model.objects.create(pk=1, body=body, mac=instance.registry_mac(body.encode()))


class Migration(migrations.Migration):

    dependencies = [
        ("journal", "0002_drop_indexes_other_indexes_cover"),
    ]

    operations = [
        migrations.CreateModel(
            name="Registry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("body", models.TextField()),
                ("mac", models.BinaryField()),
            ],
            options={"db_table": "journal_registry"},
        ),
        migrations.RunPython(register_existing_chains, migrations.RunPython.noop),
    ]
