"""Rate limits per account on patient searches and reads (issue 16, item 7).

Stolen front-office credentials listed nearly a whole lab by scripted name
searches. Each account may search and open records at a human pace only:
ETANCHE_SEARCH_PER_MINUTE and _PER_HOUR, ETANCHE_PATIENT_READS_PER_MINUTE and
_PER_HOUR. A sliding window per account and window length, stored as two
integers (accounts.UsageCounter): the previous window's count weighted by how
much of it still overlaps the last `seconds`, plus the current window's count.

Public API: `count(user_id, kind)` with kind "search" or "read"; it returns an
`OverLimit` (and counts nothing) when one window is full, else counts one use.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from etanche.accounts.models import UsageCounter

SEARCH, READ = "search", "read"
WINDOWS = {
    SEARCH: (("ETANCHE_SEARCH_PER_MINUTE", 60), ("ETANCHE_SEARCH_PER_HOUR", 3600)),
    READ: (("ETANCHE_PATIENT_READS_PER_MINUTE", 60), ("ETANCHE_PATIENT_READS_PER_HOUR", 3600)),
}
_WHAT = {SEARCH: "recherches", READ: "consultations de dossiers"}


@dataclass(frozen=True)
class OverLimit:
    kind: str
    limit: int
    seconds: int
    retry_after: int

    @property
    def message(self) -> str:
        per = "minute" if self.seconds == 60 else "heure"
        wait = (f"{self.retry_after} s" if self.retry_after < 60
                else f"{-(-self.retry_after // 60)} min")
        return (f"Trop de {_WHAT[self.kind]} en peu de temps ({self.limit} par {per} au plus "
                f"pour un compte) : réessayez dans {wait}. Cette limite protège les dossiers "
                "des patients si un mot de passe est volé.")


def _slide(row: UsageCounter, seconds: int, now) -> float:
    """Roll the row's windows forward to `now`; return the uses seen in the last `seconds`."""
    length = timedelta(seconds=seconds)
    if now - row.window_start >= 2 * length:
        row.previous, row.count, row.window_start = 0, 0, now
    elif now - row.window_start >= length:
        row.previous, row.count, row.window_start = row.count, 0, row.window_start + length
    overlap = 1 - (now - row.window_start) / length
    return row.previous * overlap + row.count


def _retry_after(row: UsageCounter, limit: int, seconds: int, now) -> int:
    """Seconds until one more use fits, as the weight of older uses fades."""
    elapsed = (now - row.window_start).total_seconds()
    room = max(limit - 1, 0)
    if row.count > room:  # this window is full: wait for it to fade in the next one
        wait = seconds - elapsed + seconds * (1 - room / row.count)
    else:
        wait = seconds * (1 - (room - row.count) / row.previous) - elapsed
    return max(1, int(wait) + 1)


def count(user_id: int, kind: str) -> OverLimit | None:
    return count_windows(user_id, kind, [(getattr(settings, setting), seconds)
                                         for setting, seconds in WINDOWS[kind]])


def count_windows(user_id: int, kind: str, windows) -> OverLimit | None:
    """`count` with explicit (limit, seconds) windows, for a counter of another name (a
    personal API token's, accounts/tokens.py: kind "api<token id>"); at most 14 characters."""
    now = timezone.now()
    named = [(f"{kind}/{seconds}", limit, seconds) for limit, seconds in windows]
    with transaction.atomic():
        rows = _locked_rows(user_id, [name for name, _, _ in named], now)
        for name, limit, seconds in named:
            row = rows[name]
            seen = _slide(row, seconds, now)
            if seen + 1 > limit:
                row.save(update_fields=_MOVED)
                return OverLimit(kind, limit, seconds, _retry_after(row, limit, seconds, now))
        for row in rows.values():
            row.count += 1
            row.save(update_fields=_MOVED)
    return None


_MOVED = ["window_start", "count", "previous"]


def _locked_rows(user_id: int, names: list[str], now) -> dict[str, UsageCounter]:
    """The account's counters of these names, locked until the transaction ends, in one
    read (one per window was a third of a search's time in process, bench/RESULTS.md Run
    19); a counter's first use creates it. Locked in the order of their names, always."""
    rows = {row.kind: row for row in UsageCounter.objects.select_for_update()
            .filter(user_id=user_id, kind__in=names).order_by("kind")}
    for name in sorted(set(names) - set(rows)):
        rows[name], _ = UsageCounter.objects.select_for_update().get_or_create(
            user_id=user_id, kind=name, defaults={"window_start": now})
    return rows
