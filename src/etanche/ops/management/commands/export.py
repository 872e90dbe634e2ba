import shutil
import sys
from datetime import date
from pathlib import Path

import django_otp
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from etanche.accounts.models import User
from etanche.accounts.permissions import Perm
from etanche.accounts.services import confirmed_totp
from etanche.exports import crypto, profiles
from etanche.exports import services as exports
from etanche.exports.models import Export, Status
from etanche.labs.models import Lab
from etanche.ops.authority import acting_member


def _one_line(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{field}: {' '.join(msgs)}" if field != "__all__" else " ".join(msgs)
                        for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = (
        "Purpose-bound exports (docs/exports.md). `create` files a request (printing the "
        "export id on its last line); a second person with the approve permission runs "
        "`approve`, which produces the file encrypted to the recipient's age key; `fetch` "
        "copies it for a named user with the download permission; `purge` destroys expired "
        "and used-up exports (run it from cron). Every command acting as a named user "
        "(--requested-by, --by) reads that user's current TOTP code on standard input and "
        "refuses without it; entries are journaled under that user and the OS user."
    )
    # Checked once per action by acting_member; approve and refuse apply four eyes
    # (exports.check_four_eyes, which includes the approve permission) in the service.
    permissions = frozenset({Perm.EXPORT_REQUEST, Perm.EXPORT_APPROVE, Perm.EXPORT_DOWNLOAD})

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="{profiles,create,approve,refuse,produce,fetch,"
                                            "purge,list}")
        sub.add_parser("profiles", help="list the profiles and the exact fields each carries")
        create = sub.add_parser("create", help="request an export (needs a second approver)")
        create.add_argument("--lab", required=True, help="slug of the lab")
        create.add_argument("--profile", required=True, choices=list(profiles.PROFILES))
        create.add_argument("--recipient", required=True, help="recipient's age public key")
        create.add_argument("--requested-by", required=True, help="username of the requester")
        create.add_argument("--patients",
                            help='"all" or a comma-separated list of patient ids')
        create.add_argument("--since", help="patients registered or with a request since "
                                            "this date (YYYY-MM-DD)")
        create.add_argument("--expires", default="7d", help="90s, 30m, 12h, 7d (max 30d)")
        create.add_argument("--downloads", type=int, default=1)
        create.add_argument("--shared-download", action="store_true",
                            help="let others with the download permission fetch it (by "
                                 "default only the requester may: a download is spent)")
        create.add_argument("--format", default="ndjson", choices=list(profiles.FORMATS))
        for name, text in (("approve", "approve (four eyes) and produce the file"),
                           ("refuse", "refuse a request, with a reason")):
            action = sub.add_parser(name, help=text)
            action.add_argument("id", type=int)
            action.add_argument("--by", required=True, help="username of the approver")
            if name == "refuse":
                action.add_argument("--reason", required=True)
        produce = sub.add_parser("produce", help="produce an approved export again "
                                                 "(after an interrupted run)")
        produce.add_argument("id", type=int)
        fetch = sub.add_parser("fetch", help="copy the encrypted file (counts a download)")
        fetch.add_argument("id", type=int)
        fetch.add_argument("--by", required=True, help="username of the downloader")
        fetch.add_argument("--out", required=True, help="file to write (must not exist)")
        purge = sub.add_parser("purge", help="destroy expired and used-up exports (cron)")
        purge.add_argument("id", type=int, nargs="?", help="purge this export now (needs --by)")
        purge.add_argument("--by", help="username of the approver purging one export")
        listing = sub.add_parser("list", help="exports of a lab, newest first")
        listing.add_argument("--lab", required=True, help="slug of the lab")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except exports.ExportRefused as exc:
            raise CommandError(_one_line(exc)) from None
        except exports.ExportGone as exc:
            raise CommandError(str(exc)) from None

    # --- helpers ------------------------------------------------------------------------

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

    @staticmethod
    def _export(pk: int) -> Export:
        export = Export.objects.select_related("lab").filter(pk=pk).first()
        if export is None:
            raise CommandError(f"no export {pk}")
        return export

    # --- actions ------------------------------------------------------------------------

    def _profiles(self, **_):
        for profile in profiles.PROFILES.values():
            self.stdout.write(f"{profile.name}: {profile.label}")
            self.stdout.write(f"  purpose: {profile.purpose}")
            self.stdout.write(f"  fields: {', '.join(profile.fields)}")

    def _create(self, *, lab, profile, recipient, requested_by, patients, since, expires,
                downloads, format, shared_download, **_):
        lab = self._lab(lab)
        if bool(patients) == bool(since):
            raise CommandError("choose one selection: --patients all, --patients ID,ID or "
                               "--since DATE")
        selection, ids, start = "period", None, None
        if patients == "all":
            selection = "all"
        elif patients:
            selection = "list"
            try:
                ids = [int(p) for p in patients.split(",") if p.strip()]
            except ValueError:
                raise CommandError("--patients takes all or comma-separated ids") from None
        else:
            try:
                start = date.fromisoformat(since)
            except ValueError:
                raise CommandError("--since takes a date YYYY-MM-DD") from None
        expires_in = exports.parse_duration(expires)
        user = self._named_user(requested_by)
        acting_member(self, user, lab, Perm.EXPORT_REQUEST)
        export = exports.request_export(
            lab, user, profile=profile, fmt=format, selection=selection, patient_ids=ids,
            since=start, recipient=recipient, expires_in=expires_in, downloads=downloads,
            downloads_shared=shared_download, via="cli")
        expiry = f"{export.expires_at:%Y-%m-%d %H:%M:%S %Z}"
        self.stdout.write(f"requested {profile} export, expires {expiry}; a second person "
                          f"approves it with `etanche export approve {export.pk} --by USER`")
        self.stdout.write(str(export.pk))

    def _approve(self, *, id, by, **_):
        export = self._export(id)
        user = self._named_user(by)
        # This process is a producer already: no need to queue the work for a worker.
        export = exports.approve_export(export, user, via="cli", queue=False)
        if export.status == Status.REQUESTED:
            given, needed = exports.approvals(export)
            self.stdout.write(f"export {id}: {given} approbation sur {needed}; another person "
                              f"approves it with `etanche export approve {id} --by USER`")
            return
        self._produce(id=export.pk)

    def _refuse(self, *, id, by, reason, **_):
        export = self._export(id)
        exports.refuse_export(export, self._named_user(by), reason, via="cli")
        self.stdout.write(f"export {id} refused")

    def _produce(self, *, id, **_):
        export = exports.produce_export(self._export(id))
        self.stdout.write(f"export {export.pk} produced: {export.rows} patient records, "
                          f"{export.size} bytes, sha256 {export.sha256}")

    def _fetch(self, *, id, by, out, **_):
        export = self._export(id)
        user = self._named_user(by)
        acting_member(self, user, export.lab, Perm.EXPORT_DOWNLOAD)
        try:
            target = open(out, "xb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CommandError(f"cannot create {out}: {exc.strerror}") from None
        try:
            with exports.open_for_download(export, user, via="cli") as source, target:
                shutil.copyfileobj(source, target)
        except BaseException:
            target.close()
            crypto.destroy(Path(out))
            raise
        self.stdout.write(f"export {id} written to {out} (age-encrypted, sha256 "
                          f"{export.sha256 or Export.objects.get(pk=id).sha256})")

    def _purge(self, *, id=None, by=None, **_):
        if id is not None:
            if not by:
                raise CommandError("purging one export needs --by USER (and their TOTP code)")
            export, user = self._export(id), self._named_user(by)
            acting_member(self, user, export.lab, Perm.EXPORT_APPROVE)
            export = exports.purge_export(export, user, via="cli")
            self.stdout.write(f"export {export.pk} purged")
            return
        for pk, status in exports.purge_due():
            self.stdout.write(f"export {pk}: {status}")

    def _list(self, *, lab, **_):
        for e in exports.exports_of_lab(self._lab(lab)):
            self.stdout.write(
                f"{e.pk}\t{e.status}\t{e.profile}\t{e.format}\t{e.requested_by.username}\t"
                f"{e.decided_by.username if e.decided_by else '-'}\t"
                f"{e.requested_at:%Y-%m-%d %H:%M}\texpires {e.expires_at:%Y-%m-%d %H:%M}\t"
                f"downloads {e.downloads_done}/{e.downloads_allowed}")
