"""The journal's own health, checked by the worker: verification and shipped checkpoints.

    integrity.check_now()        # verify every chain, read the checkpoint file: alerts
    integrity.run_if_due(15)     # at most every 15 minutes (the watch round calls it)

A problem of a lab's chain alerts that lab; a problem of the system chain or of the
registry of chains alerts every lab. The problem's text names chains and positions
only (journal/verify.py), and is kept out of the alert: the DPO runs
`etanche journal verify` to read it.
"""

import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from etanche.journal import checkpoints
from etanche.journal.verify import verify
from etanche.watch import alerts, rules

_last_run = {"at": float("-inf")}


def _labs(lab_id) -> list[int]:
    live = alerts.live_lab_ids()
    return [lab_id] if lab_id in live else live if lab_id is None else []


def _checkpoint_lines() -> list[str] | None:
    target = settings.ETANCHE_CHECKPOINT_TARGET or ""
    if not target.startswith("file:"):
        return None  # syslog targets are read back by whoever receives them
    path = Path(target[len("file:"):])
    if not path.exists():
        return None
    return path.read_text(encoding="utf-8").splitlines()


def check_now() -> int:
    """Run both checks; the number of alerts raised or counted."""
    now = timezone.now()
    raised = 0
    for report in verify():
        if report.problem is None:
            continue
        for lab_id in _labs(report.problem.lab_id):
            alerts.hit(lab_id, rules.BY_ID["journal-verify"], at=now,
                       subject=report.chain[:64])
            raised += 1
    lines = _checkpoint_lines()
    if lines:
        for _ in checkpoints.check_statements(lines)[:1]:
            for lab_id in _labs(None):
                alerts.hit(lab_id, rules.BY_ID["journal-checkpoint"], at=now)
                raised += 1
    return raised


def run_if_due(every_minutes: int) -> int:
    """`check_now()` if `every_minutes` passed since this process last ran it (0: never).
    Returns 1 when it ran, so the worker's round counts it as work done."""
    if every_minutes <= 0 or time.monotonic() - _last_run["at"] < every_minutes * 60:
        return 0
    _last_run["at"] = time.monotonic()
    check_now()
    return 1
