"""Key rotations, journaled: the vault rotates keys, the journal records it.

The vault imports no other app, so it cannot journal its own rotations; it
calls back inside the transaction that makes each change, and the entry
written here commits or rolls back with the new key.
"""

from etanche.journal.models import Action
from etanche.journal.services import record
from etanche.vault import rotation


def _data_key_entry(lab, user):
    def on_started(lab_id: int, version: int) -> None:
        record(lab=lab, user=user, action=Action.KEY_ROTATE, object_type="lab", object_id=lab_id,
               detail={"kind": "data-key", "version": version})

    return on_started


def _master_key_entry(user):
    def on_rewrapped(key_id: str, keysets: int) -> None:
        record(lab=None, user=user, action=Action.KEY_ROTATE, object_type="master-key",
               object_id=key_id, detail={"kind": "master-key", "keysets": keysets})

    return on_rewrapped


def start_lab_rotation(lab, *, user=None):
    """A new data-key version for `lab` (a Lab), journaled; (job, started) as rotation.start."""
    return rotation.start(lab, on_started=_data_key_entry(lab, user))


def rotate_lab(lab, *, user=None, batch_size: int = 500, on_batch=None):
    """Rotate `lab`'s data key and re-seal its rows; (job, started, moved)."""
    return rotation.rotate_lab(lab, batch_size=batch_size, on_batch=on_batch,
                               on_started=_data_key_entry(lab, user))


def rotate_master(*, new_uri: str | None = None, destroy_old: bool = False, user=None) -> str:
    """Re-wrap every keyset under a new master key, journaled on the system chain."""
    return rotation.rotate_master(new_uri=new_uri, destroy_old=destroy_old,
                                  on_rewrapped=_master_key_entry(user))
