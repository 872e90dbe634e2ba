"""Key escrow and recovery, journaled (the splitting is the vault's: vault/escrow.py).

A recovery usually happens on a new machine before the database is restored:
there is no journal to write to yet, and no instance secret to chain it with.
It is then written to a pending file in the data directory, with the same
details, and `etanche backup restore` (or the next `keys recover` on a live
database) moves it into the journal.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from etanche.journal.actor import describe
from etanche.journal.models import Action
from etanche.journal.services import record
from etanche.lib.datadir import read_secret_key
from etanche.lib.env import env_secret
from etanche.vault import escrow, master

PENDING_FILE = "escrow-recoveries.jsonl"


def pending_path() -> Path:
    return Path(settings.DATA_DIR) / PENDING_FILE


def can_journal() -> bool:
    """A migrated database and the instance's real secret (not a throwaway one)."""
    has_secret = bool(env_secret("ETANCHE_SECRET_KEY") or read_secret_key(settings.DATA_DIR))
    return has_secret and "journal_chain" in connection.introspection.table_names()


@transaction.atomic
def escrow_key(recipients: list[str], threshold: int, out_dir: Path) -> tuple[dict, list[Path]]:
    """Write share-N.age files into `out_dir` (new or empty), journaled on the system chain."""
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise escrow.EscrowError(f"{out_dir} is not empty: escrow writes into a new directory")
    summary, files = escrow.split(recipients, threshold)
    paths = []
    for number, data in enumerate(files, 1):
        path = out_dir / f"share-{number}.age"
        with open(path, "xb") as handle:
            handle.write(data)
        paths.append(path)
    record(lab=None, user=None, action=Action.KEY_ESCROW, object_type="master-key",
           object_id=summary["key_id"],
           detail={k: summary[k] for k in ("escrow_id", "kind", "shares", "threshold",
                                           "custodians")})
    return summary, paths


def recover_key(share_files: list[bytes], identities: list) -> tuple[str, str]:
    """Rebuild the key from shares. Returns (what was done, where it was journaled)."""
    shares = [escrow.read_share(data, identities) for data in share_files]
    first, payload = escrow.combine(shares)
    if first.kind == escrow.FILE_KEY:
        provider = escrow.restore_file_key(master.configured_uri(), payload)
        done = f"master key rebuilt at {provider.describe()} (key id {provider.key_id()})"
    else:
        if not can_journal():
            raise escrow.EscrowError("these shares hold wrapped keysets: restore the database "
                                     "first, then run keys recover again")
        added = escrow.reinstate_keysets(payload)
        done = f"{added} wrapped keyset(s) put back under {first.key_id}"
    detail = {"escrow_id": first.escrow_id, "kind": first.kind,
              "shares_used": sorted({s.number for s in shares}),
              "custodians": sorted({s.custodian for s in shares}),
              "escrowed_at": first.created}
    if can_journal():
        master.forget()
        master.kek()  # the rebuilt key must be the one this database's keys are wrapped with
        with transaction.atomic():
            record(lab=None, user=None, action=Action.KEY_RECOVER, object_type="master-key",
                   object_id=first.key_id, detail=detail)
        return done, "journaled"
    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "by": describe(),
             "key_id": first.key_id, "detail": detail}
    path = pending_path()
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")
    return done, f"to be journaled at restore ({path})"


def journal_pending() -> int:
    """Move pending recovery entries into the journal (after a restore). Returns how many."""
    path = pending_path()
    if not path.exists():
        return 0
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    with transaction.atomic():
        for entry in lines:
            record(lab=None, user=None, action=Action.KEY_RECOVER, object_type="master-key",
                   object_id=entry["key_id"], actor=entry["by"],
                   detail={**entry["detail"], "recovered_at": entry["at"]})
    path.unlink()
    return len(lines)
