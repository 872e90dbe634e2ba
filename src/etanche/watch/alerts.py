"""Alerts: raised (deduplicated) by the rules, triaged by the DPO, queued for delivery.

    alerts.hit(lab_id, rule, at=..., user_id=..., subject=..., entries=[(chain, seq)],
               patients=[ids], count=n)   # in the feed's transaction: a new alert or +1
    alerts.acknowledge(alert, user) / alerts.close(alert, user, resolution, comment)
    alerts.send_test(lab)                 # one test alert to every configured target

A hit finds the person's open alert of that rule and subject last seen within the
rule's window and adds to its count; otherwise it opens a new alert and queues one
delivery per target of the lab (watch/delivery.py sends them).
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.labs.models import Lab
from etanche.vault.models import ShreddedLab
from etanche.watch import config, rules
from etanche.watch.models import Alert, AlertState, Delivery, Resolution

KEPT_REFERENCES = 200  # entries and patients kept per alert: enough to investigate from
OBJECT_TYPE = "watch.alert"


class AlertError(Exception):
    """A refused triage action; a French message, no personal data."""


def live_lab_ids() -> list[int]:
    """Labs whose keys exist (a shredded lab can seal nothing, alerts included)."""
    return list(Lab.objects.exclude(pk__in=ShreddedLab.objects.values("lab_id"))
                .order_by("pk").values_list("pk", flat=True))


def _open_alert(lab_id, rule: rules.Rule, user_id, subject: str, at, window_minutes: int):
    return (Alert.objects.for_lab(lab_id).select_for_update()
            .filter(rule=rule.id, user_id=user_id, subject=subject, test=False,
                    state__in=[AlertState.OPEN, AlertState.ACKNOWLEDGED],
                    last_seen__gte=at - timedelta(minutes=window_minutes))
            .order_by("-last_seen").first())


def _merge(kept: list, new) -> list:
    seen = {tuple(x) if isinstance(x, list) else x for x in kept}
    for item in new:
        key = tuple(item) if isinstance(item, list | tuple) else item
        if key not in seen and len(kept) < KEPT_REFERENCES:
            kept.append(list(item) if isinstance(item, tuple) else item)
            seen.add(key)
    return kept


def hit(lab_id: int, rule: rules.Rule, *, at, user_id=None, subject: str = "", entries=(),
        patients=(), count: int = 1, add: int = 1, settings_row=None) -> Alert:
    """One more occurrence: `count` is the new alert's count, `add` what an open one gains."""
    row = settings_row or config.of(lab_id)
    window = config.minutes(row, rule)
    with transaction.atomic():
        alert = _open_alert(lab_id, rule, user_id, subject, at, window)
        if alert is not None:
            sealed = alert.get_sealed()
            _merge(sealed["entries"], entries)
            _merge(sealed["patients"], patients)
            alert.count += add
            alert.last_seen = max(alert.last_seen, at)
            alert.set_sealed(sealed)
            alert.save()
            return alert
        alert = Alert(lab_id=lab_id, rule=rule.id, severity=rule.severity, user_id=user_id,
                      subject=subject, first_seen=at, last_seen=at, count=count)
        alert.set_sealed({"entries": _merge([], entries), "patients": _merge([], patients),
                          "comment": ""})
        alert.save(force_insert=True)
        queue_deliveries(alert, row)
        return alert


def queue_deliveries(alert: Alert, row=None) -> list[Delivery]:
    row = row or config.of(alert.lab_id)
    now = timezone.now()
    return Delivery.objects.bulk_create([
        Delivery(alert=alert, lab_id=alert.lab_id, channel=channel, target=target,
                 next_attempt_at=now)
        for channel, target in config.targets(row).channels()])


def send_test(lab) -> Alert:
    """A test alert (rule "test") queued to every target of the lab."""
    now = timezone.now()
    with transaction.atomic():
        alert = Alert(lab_id=getattr(lab, "pk", lab), rule=rules.TEST_RULE.id,
                      severity=rules.TEST_RULE.severity, first_seen=now, last_seen=now,
                      test=True, state=AlertState.CLOSED, closed_at=now)
        alert.set_sealed({"entries": [], "patients": [], "comment": ""})
        alert.save(force_insert=True)
        queue_deliveries(alert)
    return alert


# --- reading and triage -------------------------------------------------------------------

def of_lab(lab, *, state: str = "", rule: str = "", severity: str = "", open_only=False):
    rows = Alert.objects.for_lab(lab).filter(test=False)
    if open_only:
        rows = rows.exclude(state=AlertState.CLOSED)
    if state:
        rows = rows.filter(state=state)
    if rule:
        rows = rows.filter(rule=rule)
    if severity:
        rows = rows.filter(severity=severity)
    return rows.order_by("-last_seen", "-pk")


def get_alert(lab, pk) -> Alert | None:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return Alert.objects.for_lab(lab).filter(pk=pk, test=False).first()


def references(alert: Alert) -> dict:
    """{"entries": [[chain id, seq]], "patients": [ids], "comment": str} (unsealed)."""
    return alert.get_sealed()


def acknowledge(alert: Alert, user) -> Alert:
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.state != AlertState.OPEN:
            raise AlertError("Cette alerte n'est plus ouverte.")
        locked.state = AlertState.ACKNOWLEDGED
        locked.acknowledged_by_id = user.pk
        locked.save(update_fields=["state", "acknowledged_by_id"])
        journal(lab=locked.lab, user=user, action=Action.ALERT_TRIAGE, object_type=OBJECT_TYPE,
                object_id=locked.pk, detail={"state": locked.state, "rule": locked.rule})
    return locked


def close(alert: Alert, user, resolution: str, comment: str = "") -> Alert:
    if resolution not in (Resolution.JUSTIFIED, Resolution.INCIDENT):
        raise ValidationError({"resolution": ["Choisissez : justifiée ou incident."]})
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationError({"comment": ["Le commentaire dépasse 2000 caractères."]})
    if resolution == Resolution.INCIDENT and not comment:
        raise ValidationError({"comment": ["Décrivez l'incident en quelques mots."]})
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.state == AlertState.CLOSED:
            raise AlertError("Cette alerte est déjà close.")
        sealed = locked.get_sealed()
        sealed["comment"] = comment
        locked.set_sealed(sealed)
        locked.state = AlertState.CLOSED
        locked.resolution = resolution
        locked.closed_by_id = user.pk
        locked.closed_at = timezone.now()
        locked.save()
        journal(lab=locked.lab, user=user, action=Action.ALERT_TRIAGE, object_type=OBJECT_TYPE,
                object_id=locked.pk, detail={"state": locked.state, "rule": locked.rule,
                                             "resolution": resolution})
    return locked


def link_breach_case(alert: Alert, user, case_id: int) -> Alert:
    """Record that the breach case `case_id` was opened from `alert` (one case per alert),
    in the caller's transaction with the case's creation (web/alerts.py)."""
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.breach_case_id is not None:
            raise AlertError("Un dossier de violation est déjà ouvert pour cette alerte.")
        locked.breach_case_id = int(case_id)
        locked.save(update_fields=["breach_case_id"])
        journal(lab=locked.lab, user=user, action=Action.ALERT_TRIAGE, object_type=OBJECT_TYPE,
                object_id=locked.pk, detail={"state": locked.state, "rule": locked.rule,
                                             "breach_case": locked.breach_case_id})
    return locked


def as_json(alert: Alert) -> dict:
    """What `etanche alerts list --json` prints: ids, rule, counts, times, state."""
    return {"id": alert.pk, "rule": alert.rule, "severity": alert.severity,
            "user": alert.user_id, "first_seen": alert.first_seen.isoformat(),
            "last_seen": alert.last_seen.isoformat(), "count": alert.count,
            "state": alert.state, "resolution": alert.resolution or None}
