"""Key escrow (issue 22, item 1): three custodians, any two rebuild the master key."""

import json

import pyrage
import pytest

from tests.cli_helpers import run_etanche
from tests.ops.backup_helpers import custodian, master_key_path, ok, populated, probe, shell


def _escrow(env, tmp_path, n=3, threshold=2):
    # Shares go under tmp_path/shares: one escrow per installation directory.
    people = [custodian(tmp_path, f"custodian{i}") for i in range(1, n + 1)]
    args = ["keys", "escrow", "--threshold", str(threshold), "--out", str(tmp_path / "shares")]
    for recipient, _ in people:
        args += ["--to", recipient]
    ok(run_etanche(*args, env=env))
    return people, [tmp_path / "shares" / f"share-{i}.age" for i in range(1, n + 1)]


def _recover(env, *pairs):
    args = ["keys", "recover"]
    for share, identity in pairs:
        args += ["--share", str(share), "--identity", str(identity)]
    return run_etanche(*args, env=env)


def test_two_of_three_custodians_rebuild_the_key_and_every_patient_reads(tmp_path):
    with populated(tmp_path) as env:
        people, shares = _escrow(env, tmp_path)
        key = master_key_path(env)
        original = key.read_bytes()
        key.unlink()  # the server is lost with its key

        one = _recover(env, (shares[0], people[0][1]))
        assert one.returncode != 0
        assert "needs 2 of 3" in one.stderr
        assert not key.exists()

        done = ok(_recover(env, (shares[0], people[0][1]), (shares[2], people[2][1])))
        assert "master key rebuilt" in done.stdout
        assert key.read_bytes() == original
        assert key.stat().st_mode & 0o077 == 0
        seen = probe(env)
        assert seen["patients"] == seen["opened"] == "12"

        entries = json.loads(shell(env, (
            "import json; from etanche.journal.models import Entry; print(json.dumps(["
            "[e.action, e.detail] for e in Entry.objects.filter(action__in=["
            "'key-escrow', 'key-recover']).order_by('seq')]))")).splitlines()[-1])
        assert [action for action, _ in entries] == ["key-escrow", "key-recover"]
        escrowed, recovered = (json.loads(detail) if isinstance(detail, str) else detail
                               for _, detail in entries)
        assert escrowed["custodians"] == [recipient for recipient, _ in people]
        assert recovered["custodians"] == sorted([people[0][0], people[2][0]])
        assert recovered["shares_used"] == [1, 3]
        # Never a share nor the key in the journal.
        text = json.dumps(entries)
        assert "mnemonic" not in text and "payload" not in text
        ok(run_etanche("journal", "verify", env=env))


@pytest.fixture(scope="module")
def escrowed(tmp_path_factory):
    """One installation escrowed to three custodians; each test puts the key back."""
    tmp_path = tmp_path_factory.mktemp("escrow")
    with populated(tmp_path, patients=2) as env:
        people, shares = _escrow(env, tmp_path)
        yield env, people, shares, tmp_path


@pytest.fixture
def key_lost(escrowed):
    env = escrowed[0]
    key = master_key_path(env)
    original = key.read_bytes()
    key.unlink()
    try:
        yield escrowed
    finally:
        key.unlink(missing_ok=True)
        key.write_bytes(original)
        key.chmod(0o600)


def test_recovery_never_overwrites_a_key(escrowed):
    env, people, shares, _ = escrowed
    kept = master_key_path(env).read_bytes()
    refused = _recover(env, (shares[0], people[0][1]), (shares[1], people[1][1]))
    assert refused.returncode != 0 and "never overwrites" in refused.stderr
    assert master_key_path(env).read_bytes() == kept


def test_recovery_wants_the_custodians_own_identities(key_lost):
    env, people, shares, _ = key_lost
    wrong = _recover(env, (shares[0], people[1][1]), (shares[1], people[1][1]))
    assert wrong.returncode != 0 and "no --identity given opens" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    assert not master_key_path(env).exists()


def test_escrow_refuses_one_custodian_enough_or_twice_the_same(escrowed):
    env, _, _, tmp_path = escrowed
    a, _ = custodian(tmp_path, "a")
    b, _ = custodian(tmp_path, "b")
    alone = run_etanche("keys", "escrow", "--to", a, "--to", b, "--threshold", "1",
                        "--out", str(tmp_path / "s1"), env=env)
    assert alone.returncode != 0 and "threshold 1" in alone.stderr
    twice = run_etanche("keys", "escrow", "--to", a, "--to", a, "--threshold", "2",
                        "--out", str(tmp_path / "s2"), env=env)
    assert twice.returncode != 0 and "different age key" in twice.stderr
    bad = run_etanche("keys", "escrow", "--to", "age1nope", "--to", b, "--threshold", "2",
                      "--out", str(tmp_path / "s3"), env=env)
    assert bad.returncode != 0 and bad.stderr.count("\n") <= 1


def test_already_decrypted_shares_are_accepted(key_lost):
    env, people, shares, _ = key_lost
    opened = []
    for (_, identity_file), share in zip(people[:2], shares[:2], strict=True):
        identity = pyrage.x25519.Identity.from_str(identity_file.read_text().splitlines()[-1])
        path = share.with_suffix(".json")
        path.write_bytes(pyrage.decrypt(share.read_bytes(), [identity]))
        opened.append(path)
    ok(run_etanche("keys", "recover", "--share", str(opened[0]), "--share", str(opened[1]),
                   env=env))
    assert probe(env)["opened"] == "2"
