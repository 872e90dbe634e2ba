"""NABM tests already seeded get their label in proper French (orders/wording.py, issue
24, item 4); the official label is read from the shipped subset, so nothing is lost."""

from django.db import migrations


def to_french(apps, schema_editor):
    # The current wording, not a frozen copy: the display label is editorial, and a later
    # wording fix is applied by seeding new labs the same way.
    from etanche.orders.catalogue import nabm_acts  # noqa: PLC0415 (migration: app code)

    acts = nabm_acts()
    CatalogueTest = apps.get_model("orders", "CatalogueTest")
    for test in CatalogueTest.objects.filter(origin="nabm").iterator():
        act = acts.get(test.code)
        if act is not None and test.label != act.display_label:
            test.label = act.display_label
            test.save(update_fields=["label"])


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_canary_reserved_numbers")]

    operations = [migrations.RunPython(to_french, migrations.RunPython.noop)]
