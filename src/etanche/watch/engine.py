"""The watch round: new journal entries through the rules, in the feed's transaction.

    engine.run_round()   # the worker's Round("watch", ...): feed, integrity, outbox

Each entry is read once (journal/feed.py moves the cursor in the transaction that
writes the alerts it caused), so an alert is never raised twice for one entry nor
lost if the worker dies. Counting rules look back over the rule's window through
the journal's (lab, user, time) and (lab, object) indexes, never the whole journal.
Entries of the system chain (no lab: bursts of failed logins from one address, a
master key rotation) concern every lab: each lab's DPO gets the alert.
"""

import json
from collections import defaultdict
from datetime import timedelta

from django.conf import settings

from etanche.accounts.models import Membership
from etanche.accounts.tokens import OBJECT_TYPE as TOKEN
from etanche.journal import feed
from etanche.journal.models import Action, Entry
from etanche.patients.models import Patient
from etanche.watch import alerts, canaries, config, delivery, integrity, privacy, rules

CONSUMER = "watch"
WIDE_SEARCH = 5  # candidates from which a search counts toward enumeration
SECOND_FACTOR_REASONS = ("otp", "enrolment")
_PLACES = ("address", "all")
SYSTEM_WIDE = (Action.LOCKOUT, Action.KEY_ROTATE, Action.KEY_SHRED)


def _detail(entry: Entry) -> dict:
    try:
        return json.loads(entry.detail) if entry.detail else {}
    except ValueError:
        return {}


def _ref(entry: Entry) -> tuple[int, int]:
    return (entry.chain_id, entry.seq)


class Batch:
    """The rules' view of one lab's new entries: its settings and roles, loaded once."""

    def __init__(self, lab_id: int, entries: list[Entry]):
        self.lab_id = lab_id
        self.entries = entries
        self.row = config.of(lab_id)
        users = {e.user_id for e in entries if e.user_id}
        self.roles = dict(Membership.objects.filter(lab_id=lab_id, user_id__in=users)
                          .values_list("user_id", "role"))

    def hit(self, rule, entry: Entry, **kwargs):
        return alerts.hit(self.lab_id, rule, at=entry.at, entries=[_ref(entry)],
                          settings_row=self.row, **kwargs)

    def since(self, rule, entry: Entry) -> int:
        return entry.at_us - micros_of(config.minutes(self.row, rule))


def micros_of(minutes: int) -> int:
    return int(timedelta(minutes=minutes).total_seconds() * 1_000_000)


# --- the rules' checks: each takes the batch and the entries of the actions it reads -------

def _bulk_reads(batch: Batch, rule, entries):
    by_user = defaultdict(list)
    for e in entries:
        if e.user_id and e.object_type == "patient" and e.object_id and e.outcome == "ok":
            by_user[e.user_id].append(e)
    for user_id, mine in by_user.items():
        limit = config.threshold(batch.row, rule, batch.roles.get(user_id))
        last = mine[-1]
        seen = (Entry.objects.filter(lab_id=batch.lab_id, user_id=user_id, action=Action.READ,
                                     object_type="patient", outcome="ok",
                                     at_us__gte=batch.since(rule, last),
                                     at_us__lte=last.at_us)
                .values("object_id").distinct().count())
        if limit is not None and seen > limit:
            batch.hit(rule, last, user_id=user_id, count=seen, add=len(mine))


def _wide(entry: Entry) -> bool:
    detail = _detail(entry)
    return bool(detail.get("too_vague")) or int(detail.get("results") or 0) >= WIDE_SEARCH


def _enumeration(batch: Batch, rule, entries):
    for e in entries:
        if not e.user_id or not _wide(e):
            continue
        limit = config.threshold(batch.row, rule, batch.roles.get(e.user_id))
        recent = Entry.objects.filter(lab_id=batch.lab_id, user_id=e.user_id,
                                      action=Action.SEARCH, at_us__gte=batch.since(rule, e),
                                      at_us__lte=e.at_us).only("detail")
        wide = sum(1 for r in recent if _wide(r))
        if limit is not None and wide >= limit:
            batch.hit(rule, e, user_id=e.user_id, count=wide)


def _export_off_hours(batch: Batch, rule, entries):
    for e in entries:
        if not config.is_open(batch.row, e.at):
            batch.hit(rule, e, user_id=e.user_id, subject=f"export:{e.object_id}")


def _export_large(batch: Batch, rule, entries):
    limit = config.threshold(batch.row, rule)
    for e in entries:
        detail = _detail(e)
        patients = detail.get("patients")
        if patients is None and detail.get("selection") == "all":
            patients = Patient.objects.for_lab(batch.lab_id).live().count()
        if patients is not None and limit is not None and patients > limit:
            batch.hit(rule, e, user_id=e.user_id, subject=f"export:{e.object_id}",
                      count=patients or 1)


def _account_failures(e: Entry) -> bool:
    return e.object_type == "accounts.User" and bool(e.object_id)


def _failure_burst(batch: Batch, rule, entries, *, second_factor: bool):
    for e in entries:
        if not _account_failures(e):
            continue
        if (_detail(e).get("reason") in SECOND_FACTOR_REASONS) != second_factor:
            continue
        recent = Entry.objects.filter(lab_id=batch.lab_id, object_type=e.object_type,
                                      object_id=e.object_id, action=Action.LOGIN_FAILED,
                                      at_us__gte=batch.since(rule, e), at_us__lte=e.at_us)
        if second_factor:
            failures = sum(1 for r in recent.only("detail")
                           if _detail(r).get("reason") in SECOND_FACTOR_REASONS)
        else:
            failures = recent.count()
        limit = config.threshold(batch.row, rule)
        if limit is not None and failures >= limit:
            batch.hit(rule, e, user_id=int(e.object_id), subject=f"account:{e.object_id}",
                      count=failures)


def _login_burst_account(batch, rule, entries):
    _failure_burst(batch, rule, entries, second_factor=False)


def _mfa_failures(batch, rule, entries):
    _failure_burst(batch, rule, entries, second_factor=True)


def _login_burst_address(batch: Batch, rule, entries):
    for e in entries:
        detail = _detail(e)
        if detail.get("scope") in _PLACES and detail.get("kind") == "burst":
            batch.hit(rule, e, subject=f"scope:{detail['scope']}",
                      count=int(detail.get("attempts") or 1))


def _account_locked(batch: Batch, rule, entries):
    for e in entries:
        if _account_failures(e) and _detail(e).get("scope") not in _PLACES:
            batch.hit(rule, e, user_id=int(e.object_id), subject=f"account:{e.object_id}")


def _api_denied(batch: Batch, rule, entries):
    """Refusals of one personal API token in the window (the (lab, object) index)."""
    limit = config.threshold(batch.row, rule)
    of_token = defaultdict(list)
    for e in entries:
        if e.object_type == TOKEN and e.object_id:
            of_token[e.object_id].append(e)
    for token_id, mine in of_token.items():
        e = mine[-1]
        refusals = Entry.objects.filter(lab_id=batch.lab_id, object_type=TOKEN,
                                        object_id=token_id, action=Action.API_DENIED,
                                        at_us__gte=batch.since(rule, e),
                                        at_us__lte=e.at_us).count()
        if limit is not None and refusals >= limit:
            batch.hit(rule, e, user_id=e.user_id, subject=f"token:{token_id}", count=refusals,
                      add=len(mine))


def _token_lockout(batch: Batch, rule, entries):
    for e in entries:
        if e.object_type == TOKEN and e.object_id:
            batch.hit(rule, e, user_id=e.user_id, subject=f"token:{e.object_id}")


def _every_entry(batch: Batch, rule, entries, *, subject=lambda e: ""):
    for e in entries:
        if e.outcome == "ok":
            batch.hit(rule, e, user_id=e.user_id, subject=subject(e))


def _role_granted(batch: Batch, rule, entries):
    for e in entries:
        detail = _detail(e)
        if e.outcome == "ok" and (e.action == Action.USER_CREATE or "role" in detail):
            batch.hit(rule, e, user_id=e.user_id, subject=f"account:{e.object_id}")


def _break_glass(batch, rule, entries):
    _every_entry(batch, rule, entries, subject=lambda e: f"{e.object_type}:{e.object_id}")


CHECKS = {
    "bulk-reads": _bulk_reads,
    "enumeration": _enumeration,
    "export-off-hours": _export_off_hours,
    "export-large": _export_large,
    "login-burst-account": _login_burst_account,
    "login-burst-address": _login_burst_address,
    "account-locked": _account_locked,
    "mfa-failures": _mfa_failures,
    "api-denied": _api_denied,
    "token-lockout": _token_lockout,
    "privacy-namesake": privacy.check_namesake,
    "privacy-phone": privacy.check_phone,
    "privacy-address": privacy.check_address,
    "privacy-coworker": privacy.check_coworker,
    "honeypot": canaries.check,
    "key-rotation": _every_entry,
    "lab-shred": _every_entry,
    "role-granted": _role_granted,
    "break-glass": _break_glass,
}


def evaluate(lab_id: int, entries: list[Entry]) -> None:
    """Every rule over one lab's new entries (in the caller's transaction)."""
    batch = Batch(lab_id, entries)
    by_rule = defaultdict(list)
    for e in entries:
        for rule in rules.reading(e.action):
            by_rule[rule.id].append(e)
    for rule_id, mine in by_rule.items():
        CHECKS[rule_id](batch, rules.BY_ID[rule_id], mine)


def handle(chain, entries: list[Entry]) -> None:
    live = alerts.live_lab_ids()
    if chain.lab_id is not None:
        if chain.lab_id in live:
            evaluate(chain.lab_id, entries)
        return
    # The system chain: only what concerns every lab (others have their lab's own entry;
    # a lab's shredding is on the system chain because the lab's own is gone with it).
    shared = [e for e in entries if e.action in SYSTEM_WIDE]
    if shared:
        for lab_id in live:
            evaluate(lab_id, shared)


FEED_LIMIT = 500  # entries per chain and round


def follow(limit: int = FEED_LIMIT) -> int:
    return feed.follow(CONSUMER, handle, limit=limit)


def run_round() -> int:
    """The worker's watch round: new entries, the periodic integrity check, the outbox.

    Says it did something (so the worker runs it again at once) only when a batch was
    full, i.e. a backlog is waiting: while the front office works, a few new entries
    every period are read every ETANCHE_WATCH_ROUND_SECONDS, not in a loop that would
    hold the database's write lock against it (on SQLite, one writer at a time)."""
    handled = follow()
    integrity.run_if_due(settings.ETANCHE_WATCH_VERIFY_MINUTES)
    sent = delivery.send_due()
    return int(handled >= FEED_LIMIT) + int(sent >= delivery.BATCH)

