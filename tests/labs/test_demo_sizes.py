"""`etanche demo` sizes its lab's blind indexes for what it will hold (at least 100,000)."""

from django.core.management import call_command

from etanche.labs.models import Lab
from etanche.ops import demo
from etanche.vault import indexes
from etanche.vault import services as vault


def test_it_sizes_demo_labs_for_at_least_the_default(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    call_command("demo", "--patients", "1200", "--lab", "autre", "--seed", "4")
    lab = Lab.objects.get(slug="autre")
    assert vault.index_sizes(lab) == (100_000, indexes.plan(100_000))
    # A larger population gets its own size; beyond the maximum, the maximum.
    assert demo._expected_for(2_500_000) == 2_500_000
    assert demo._expected_for(0) == indexes.DEFAULT_EXPECTED
    assert demo._expected_for(10**9) == indexes.MAX_EXPECTED
