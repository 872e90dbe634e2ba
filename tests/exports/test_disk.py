"""Nothing in clear on disk, during an export or after it: the data directory is scanned raw."""

from pathlib import Path

import pytest
from django.conf import settings

from etanche.exports import parallel, production
from tests.exports.helpers import produced
from tests.leakscan import files_under, find_leaks

pytestmark = pytest.mark.usefixtures("with_patients")


def _needles(world) -> list[str]:
    out = []
    for patient in world.patients:
        env = patient.get_sealed()
        out += [env["birth_name"], env["ins"], env["email"], *env["phones"], env["street"]]
    return out


def _data_dir_bytes() -> bytes:
    return b"".join(files_under([settings.DATA_DIR]).values())


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_no_plaintext_reaches_the_data_directory_during_and_after(world, key, monkeypatch, fmt):
    needles = _needles(world)
    scans = []
    real_read = parallel.read_batch

    def read_and_scan(*args, **kwargs):
        scans.append(find_leaks(_data_dir_bytes(), needles))
        return real_read(*args, **kwargs)

    monkeypatch.setattr(production, "BATCH", 1)
    monkeypatch.setattr(parallel, "read_batch", read_and_scan)
    produced(world, key[1], fmt=fmt)
    assert len(scans) == len(world.patients)  # scanned with the file half written
    assert scans == [[]] * len(scans)
    assert find_leaks(_data_dir_bytes(), needles) == []
    # The scan is able to see: a plaintext copy would be found.
    leak = Path(settings.DATA_DIR) / "exports" / "leak-check.txt"
    leak.write_text(needles[0])
    try:
        assert find_leaks(_data_dir_bytes(), needles) == ["needle #0 found (" +
                                                         f"{len(needles[0].encode())} bytes)"]
    finally:
        leak.unlink()
