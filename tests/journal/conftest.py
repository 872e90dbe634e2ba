import itertools

import pytest

_numbers = itertools.count(1)


@pytest.fixture
def make_lab(db):
    """A lab with its keys, created through the same service as `etanche labs create`."""
    from stdnum import luhn

    from etanche.ops.labs import create_lab

    def make(slug=None):
        n = next(_numbers)
        body = f"99{n:06d}"
        return create_lab(
            slug=slug or f"lab-{n}",
            name=f"Laboratoire {n}",
            finess=body + luhn.calc_check_digit(body),
        )

    return make


@pytest.fixture(params=["system", "lab"])
def chain_lab(request, db):
    """Each journal property is checked on the system chain and on a lab's chain."""
    if request.param == "system":
        return None
    return request.getfixturevalue("make_lab")()


@pytest.fixture(autouse=True)
def checkpoint_target(settings, tmp_path):
    """Checkpoints go to this test's own file: the default one outlives each test's database."""
    target = tmp_path / "outside-the-data-dir" / "journal-checkpoints.jsonl"
    settings.ETANCHE_CHECKPOINT_TARGET = f"file:{target}"
    return target
