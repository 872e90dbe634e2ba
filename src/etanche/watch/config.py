"""A lab's watch settings: thresholds per rule and role, opening hours, delivery targets.

What the lab admin left empty takes the defaults: the rule table (watch/rules.py)
for thresholds, Mon-Sat 07:00-20:00 Europe/Paris for hours, settings.py for targets.
"""

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.watch import rules
from etanche.watch.models import WatchSettings

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_HOURS = {"days": [0, 1, 2, 3, 4, 5], "open": "07:00", "close": "20:00"}
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
DAY_NAMES = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


@dataclass(frozen=True)
class Targets:
    email_to: list[str]
    syslog: str
    webhook: str

    def channels(self) -> list[tuple[str, str]]:
        out = [("email", address) for address in self.email_to]
        if self.syslog:
            out.append(("syslog", self.syslog))
        if self.webhook:
            out.append(("webhook", self.webhook))
        return out


def of(lab) -> WatchSettings:
    """The lab's settings row (unsaved and empty when the lab admin never set anything)."""
    lab_id = getattr(lab, "pk", lab)
    return WatchSettings.objects.filter(lab_id=lab_id).first() or WatchSettings(lab_id=lab_id)


def threshold(row: WatchSettings, rule: rules.Rule, role: str | None = None) -> int | None:
    own = (row.thresholds or {}).get(rule.id, {})
    by_role = {**rule.by_role, **own.get("by_role", {})}
    if role in by_role:
        return int(by_role[role])
    return int(own["threshold"]) if "threshold" in own else rule.threshold


def minutes(row: WatchSettings, rule: rules.Rule) -> int:
    return int((row.thresholds or {}).get(rule.id, {}).get("minutes", rule.minutes))


def hours(row: WatchSettings) -> dict:
    return {**DEFAULT_HOURS, **(row.hours or {})}


def is_open(row: WatchSettings, moment: datetime) -> bool:
    """Whether `moment` falls in the lab's opening hours (Europe/Paris local time)."""
    wanted = hours(row)
    local = moment.astimezone(PARIS)
    opens, closes = (time.fromisoformat(wanted[k]) for k in ("open", "close"))
    return local.weekday() in wanted["days"] and opens <= local.time() < closes


def targets(row: WatchSettings) -> Targets:
    emails = [a.strip() for a in (row.email_to or "").split(",") if a.strip()]
    return Targets(emails or list(settings.ETANCHE_ALERT_EMAIL_TO),
                   row.syslog or settings.ETANCHE_ALERT_SYSLOG or "",
                   row.webhook or settings.ETANCHE_ALERT_WEBHOOK or "")


# --- checking what the lab admin enters ---------------------------------------------------

def check_syslog(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("udp", "tcp", "tls") or not parts.hostname or not parts.port:
        raise ValidationError("Syslog : udp://HÔTE:PORT, tcp://HÔTE:PORT ou tls://HÔTE:PORT.")
    return value


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_webhook(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError("Webhook : une adresse https://…")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValidationError("Webhook : http en clair seulement vers l'adresse locale "
                              "(127.0.0.1) ; ailleurs, https.")
    return value


def check_hours(days, opens: str, closes: str) -> dict:
    days = sorted({int(d) for d in days})
    if not days or any(d < 0 or d > 6 for d in days):
        raise ValidationError("Choisissez au moins un jour d'ouverture.")
    if not (_HHMM.match(opens or "") and _HHMM.match(closes or "")):
        raise ValidationError("Heures au format HH:MM, par exemple 07:00.")
    if opens >= closes:
        raise ValidationError("L'heure de fermeture doit suivre l'heure d'ouverture.")
    return {"days": days, "open": opens, "close": closes}


def save(lab, user, *, thresholds: dict, hours: dict, email_to: str, syslog: str,
         webhook: str) -> WatchSettings:
    """Store the lab's settings (values already checked), journaled."""
    with transaction.atomic():
        row, _ = WatchSettings.objects.select_for_update().get_or_create(lab_id=lab.pk)
        row.thresholds, row.hours = thresholds, hours
        row.email_to, row.syslog, row.webhook = email_to, check_syslog(syslog), \
            check_webhook(webhook)
        row.save()
        journal(lab=lab, user=user, action=Action.WATCH_SETTINGS, object_type="watch",
                object_id=lab.pk, detail={"targets": [c for c, _ in targets(row).channels()]})
    return row
