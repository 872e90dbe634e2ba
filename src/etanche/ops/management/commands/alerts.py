import json
import sys

import django_otp
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from etanche.accounts.models import User
from etanche.accounts.permissions import Perm
from etanche.accounts.services import confirmed_totp
from etanche.labs.models import Lab
from etanche.ops.authority import acting_member
from etanche.watch import alerts, config, delivery, rules
from etanche.watch.models import Resolution


class Command(BaseCommand):
    help = (
        "Watch alerts (docs/watch.md). `list` shows a lab's alerts (--json: one JSON object a "
        "line); `ack` and `close` triage one as a named DPO, whose current TOTP code is read "
        "on standard input; `test` queues a test alert to every configured target; `rules` "
        "prints the table of rules."
    )
    permissions = frozenset({Perm.ALERT_TRIAGE})

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="{list,ack,close,test,rules}")
        listing = sub.add_parser("list", help="a lab's alerts, newest first")
        listing.add_argument("--lab", required=True, help="slug of the lab")
        listing.add_argument("--open", action="store_true", help="only those not closed")
        listing.add_argument("--json", action="store_true", help="one JSON object a line")
        for name, text in (("ack", "acknowledge an alert"), ("close", "close an alert")):
            action = sub.add_parser(name, help=text)
            action.add_argument("id", type=int)
            action.add_argument("--by", required=True, help="username of the DPO")
            if name == "close":
                action.add_argument("--as", dest="resolution", required=True,
                                    choices=[Resolution.JUSTIFIED, Resolution.INCIDENT])
                action.add_argument("--comment", default="")
        test = sub.add_parser("test", help="send a test alert to every target of the lab")
        test.add_argument("--lab", required=True, help="slug of the lab")
        test.add_argument("--now", action="store_true", help="send it now, not from the worker")
        sub.add_parser("rules", help="the rules: id, severity, default threshold and window")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except alerts.AlertError as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    @staticmethod
    def _lab(slug: str) -> Lab:
        lab = Lab.objects.filter(slug=slug).first()
        if lab is None:
            raise CommandError(f"no lab with slug {slug!r}")
        return lab

    @staticmethod
    def _named_user(username: str) -> User:
        """The named person, proven by their current TOTP code read on stdin."""
        user = User.objects.filter(username=username, is_active=True).first()
        device = confirmed_totp(user) if user else None
        code = sys.stdin.readline().strip() if not sys.stdin.isatty() else ""
        if user is None or device is None:
            raise CommandError(f"{username}: no active account with a TOTP app")
        if not code:
            raise CommandError(f"{username}'s current TOTP code is required on standard input")
        if not code.isdigit() or not django_otp.verify_token(user, device.persistent_id, code):
            raise CommandError(f"wrong or expired TOTP code for {username}")
        return user

    def _alert_for(self, pk: int, by: str):
        user = self._named_user(by)
        found = alerts.Alert.objects.select_related("lab").filter(pk=pk, test=False).first()
        if found is None:
            raise CommandError(f"no alert {pk}")
        acting_member(self, user, found.lab, Perm.ALERT_TRIAGE)
        return found, user

    def _list(self, *, lab, open, json, **_):  # noqa: A002  (the option's name)
        rows = alerts.of_lab(self._lab(lab), open_only=open)
        for alert in rows:
            if json:
                self.stdout.write(_json_line(alerts.as_json(alert)))
            else:
                self.stdout.write(
                    f"{alert.pk}\t{alert.rule}\t{alert.severity}\t{alert.user_id or '-'}\t"
                    f"{alert.first_seen:%Y-%m-%d %H:%M}\t{alert.last_seen:%Y-%m-%d %H:%M}\t"
                    f"{alert.count}\t{alert.state}")
        failing = delivery.failing(self._lab(lab))
        if failing and not json:
            self.stderr.write(f"{len(failing)} delivery(ies) not sent yet; last error: "
                              f"{failing[0].channel} {failing[0].last_error}")

    def _ack(self, *, id, by, **_):  # noqa: A002
        alert, user = self._alert_for(id, by)
        alerts.acknowledge(alert, user)
        self.stdout.write(f"alert {id} acknowledged")

    def _close(self, *, id, by, resolution, comment, **_):  # noqa: A002
        alert, user = self._alert_for(id, by)
        alerts.close(alert, user, resolution, comment)
        self.stdout.write(f"alert {id} closed ({resolution})")

    def _test(self, *, lab, now, **_):
        found = self._lab(lab)
        if not config.targets(config.of(found)).channels():
            raise CommandError(f"lab {lab} has no alert target: set ETANCHE_ALERT_EMAIL_TO, "
                               "ETANCHE_ALERT_SYSLOG or ETANCHE_ALERT_WEBHOOK, or the lab's own")
        alert = alerts.send_test(found)
        count = alert.deliveries.count()
        if now:
            delivery.send_due()
        for item in alert.deliveries.order_by("pk"):
            state = item.state if item.state == item.SENT else (
                f"queued{': ' + item.last_error if item.last_error else ''}")
            self.stdout.write(f"{item.channel}\t{item.target}\t{state}")
        self.stdout.write(f"test alert {alert.pk} queued to {count} target(s)")

    def _rules(self, **_):
        for rule in rules.RULES:
            self.stdout.write(f"{rule.id}\t{rule.severity}\t{rule.threshold or '-'}\t"
                              f"{rule.minutes} min\t{rule.title}")


def _json_line(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
