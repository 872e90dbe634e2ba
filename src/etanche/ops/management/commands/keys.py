import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from etanche.labs.models import Lab
from etanche.ops import escrow
from etanche.ops.keys import rotate_master, start_lab_rotation
from etanche.vault import age, indexes, master
from etanche.vault.errors import VaultError
from etanche.vault.models import LabKeyset, RotationJob, ShreddedLab, sealed_models
from etanche.vault.progress import Progress
from etanche.vault.rotation import reseal


class Command(BaseCommand):
    help = (
        "Show or rotate the vault's keys. `keys status`: master key, each lab's key versions "
        "and how many sealed values use each, its expected size and blind-index bits. "
        "`keys rotate [--lab LAB]`: a new data-key version becomes primary at once and "
        "existing rows are re-sealed in batches, online; "
        "an interrupted run resumes when run again. `keys rotate --master`: re-wrap every lab "
        "keyset under a new master key (file provider: generated in place; HSM or KMS: set "
        "ETANCHE_NEW_MASTER_KEY to the new key's URI). "
        "`keys escrow --to AGE_KEY --to AGE_KEY ... --threshold K --out DIR`: split what rebuilds "
        "the master key (file provider: the key; HSM or KMS: the wrapped keysets) into one "
        "age-encrypted share per custodian, K needed (docs/deploy.md). `keys recover --share FILE "
        "[--identity AGE_IDENTITY_FILE] ...`: rebuild it where ETANCHE_MASTER_KEY points, never "
        "over an existing key. Both journaled (never the shares)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="master key, key versions, sealed values per version")
        rotate = sub.add_parser("rotate", help="rotate data keys (default) or the master key")
        rotate.add_argument("--lab", help="slug of the lab to rotate (default: every lab)")
        rotate.add_argument("--master", action="store_true", help="re-wrap under a new master key")
        rotate.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
        esc = sub.add_parser("escrow", help="split the master key among custodians (K of N)")
        esc.add_argument("--to", action="append", required=True, metavar="AGE_KEY",
                         help="a custodian's age public key (age1...), once per custodian")
        esc.add_argument("--threshold", type=int, required=True, metavar="K",
                         help="how many shares rebuild the key")
        esc.add_argument("--out", required=True, metavar="DIR",
                         help="new or empty directory for share-N.age")
        rec = sub.add_parser("recover", help="rebuild the master key from K shares")
        rec.add_argument("--share", action="append", required=True, metavar="FILE",
                         help="a share file (age-encrypted, or already decrypted)")
        rec.add_argument("--identity", action="append", default=[], metavar="AGE_IDENTITY_FILE",
                         help="a custodian's age identity file; each opens its own share")

    def handle(self, *args, **options):
        try:
            if options["action"] == "status":
                self._status()
            elif options["action"] == "escrow":
                self._escrow(options)
            elif options["action"] == "recover":
                self._recover(options)
            elif options["master"]:
                if options["lab"]:
                    raise CommandError("--master re-wraps every lab's keys: drop --lab")

                new_uri = os.environ.get("ETANCHE_NEW_MASTER_KEY") or None
                self.stdout.write(rotate_master(new_uri=new_uri))
            else:
                self._rotate(options["lab"], max(1, options["batch_size"]))
        except VaultError as exc:
            raise CommandError(str(exc)) from None

    def _status(self):
        provider_line = master.configured_uri()
        try:
            provider, _ = master.kek()
            provider_line = f"{provider.describe()} (id {provider.key_id()}): ok"
            problem = None
        except VaultError as exc:
            problem = exc
        self.stdout.write(f"master key: {provider_line if problem is None else 'UNUSABLE'}")
        counts: dict[tuple[int, int], int] = {}
        for model in sealed_models():
            for row in model.objects.values("lab_id", "key_version").annotate(n=Count("pk")):
                key = (row["lab_id"], row["key_version"])
                counts[key] = counts.get(key, 0) + row["n"]
        keysets = list(LabKeyset.objects.order_by("lab_id", "kind", "version"))
        shredded = set(ShreddedLab.objects.values_list("lab_id", flat=True))
        open_jobs = {j.lab_id: j for j in RotationJob.objects.filter(finished_at=None)}
        for lab in Lab.objects.order_by("slug"):
            mine = [k for k in keysets if k.lab_id == lab.pk]
            if lab.pk in shredded:
                self.stdout.write(f"lab {lab.slug}: keys shredded")
                continue
            if not mine:
                self.stdout.write(f"lab {lab.slug}: no keys")
                continue
            data = ", ".join(
                f"v{k.version} {k.state}" for k in mine if k.kind == LabKeyset.AEAD
            )
            index = ", ".join(f"v{k.version}" for k in mine if k.kind == LabKeyset.PRF)
            self.stdout.write(f"lab {lab.slug}: data key {data}; index key {index}")
            self.stdout.write(f"  {_index_line(mine)}")
            used = sorted((v, n) for (lab_id, v), n in counts.items() if lab_id == lab.pk)
            usage = ", ".join(f"v{v}: {n}" for v, n in used) or "none"
            self.stdout.write(f"  sealed values by key version: {usage}")
            job = open_jobs.get(lab.pk)
            if job:
                self.stdout.write(
                    f"  rotation to v{job.target_version} unfinished ({job.moved} moved); "
                    f"finish it with: etanche keys rotate --lab {lab.slug}"
                )
        if problem is not None:
            raise problem

    def _escrow(self, options):
        try:
            summary, paths = escrow.escrow_key(options["to"], options["threshold"],
                                               Path(options["out"]))
        except age.BadRecipient as exc:
            raise CommandError(f"--to: {exc}") from None
        self.stdout.write(f"escrow {summary['escrow_id']} of {summary['kind']} "
                          f"{summary['key_id']}: {summary['threshold']} of {summary['shares']} "
                          "shares rebuild it")
        for path, custodian in zip(paths, summary["custodians"], strict=True):
            self.stdout.write(f"  {path}  for {custodian}")
        self.stdout.write("give each custodian their file; keep no copy together. After a "
                          "master-key rotation or a lab shred, escrow again and have the old "
                          "shares destroyed.")

    def _recover(self, options):
        shares, identities = [], []
        for name in options["identity"]:
            try:
                identities += age.parse_identity_file(Path(name).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                raise CommandError(f"cannot read identity file {name}") from None
            except age.BadRecipient as exc:
                raise CommandError(f"{name}: {exc}") from None
        for name in options["share"]:
            try:
                shares.append(Path(name).read_bytes())
            except OSError:
                raise CommandError(f"cannot read share file {name}") from None
        done, journaled = escrow.recover_key(shares, identities)
        self.stdout.write(f"{done}; {journaled}")

    def _rotate(self, slug, batch_size):
        if slug:
            try:
                labs = [Lab.objects.get(slug=slug)]
            except Lab.DoesNotExist:
                raise CommandError(f"no lab {slug!r}") from None
        else:
            with_keys = LabKeyset.objects.values_list("lab_id", flat=True).distinct()
            labs = list(Lab.objects.filter(pk__in=with_keys).order_by("slug"))
        for lab in labs:
            job, started = start_lab_rotation(lab)
            verb = "rotated to" if started else "resuming rotation to"
            self.stdout.write(f"lab {lab.slug}: {verb} data key v{job.target_version}")
            bar = Progress(0, f"re-sealing {lab.slug}", stream=self.stderr._out)
            moved = reseal(job, batch_size=batch_size, on_batch=_bar_hook(bar))
            bar.close()
            self.stdout.write(f"lab {lab.slug}: {moved} sealed values on v{job.target_version}")


def _index_line(keysets) -> str:
    """Expected size and bits per index, read from the PRF row (no unwrap needed)."""

    prf_row = next((k for k in keysets if k.kind == LabKeyset.PRF
                    and k.state == LabKeyset.PRIMARY), None)
    stored = dict(prf_row.index_bits or {}) if prf_row else {}
    expected = prf_row.expected_records if prf_row else None
    bits = {name: indexes.stored_bits(name, expected, stored) for name in indexes.INDEXES}
    size = (f"expected {expected:,} patients" if expected
            else "expected size not declared (provisioned before per-lab sizing)")
    return f"blind indexes: {size}; bits " + ", ".join(f"{n} {b}" for n, b in bits.items())


def _bar_hook(bar):
    def hook(done, total):
        bar.total = total
        bar.update(done)

    return hook
