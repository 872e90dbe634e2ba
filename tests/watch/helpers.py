"""Journal entries as the app writes them, and the watch round run in the test process."""

from django.db import transaction

from etanche.journal.models import Action
from etanche.journal.services import record
from etanche.watch import engine
from etanche.watch.models import Alert


def reads(lab, user, patient_ids) -> None:
    with transaction.atomic():
        record(lab=lab, user=user, entries=[
            {"action": Action.READ, "object_type": "patient", "object_id": pid}
            for pid in patient_ids])


def failed_logins(lab, account, n: int, reason: str = "password") -> None:
    for _ in range(n):
        with transaction.atomic():
            record(lab=lab, user=None, action=Action.LOGIN_FAILED, outcome="failed",
                   object_type="accounts.User", object_id=account.pk,
                   detail={"reason": reason})


def drain() -> int:
    """Run the rules over every new entry (what the worker's round does, minus sending)."""
    done = 0
    while (n := engine.follow()):
        done += n
    return done


def alerts_of(lab, rule: str) -> list[Alert]:
    return list(Alert.objects.for_lab(lab).filter(rule=rule, test=False).order_by("pk"))
