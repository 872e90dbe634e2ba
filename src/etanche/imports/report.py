"""The import report: row numbers, fields, rules and French reasons, never identity.

`as_json()` is the `--json` contract: {rows, imported, rejected: [{row, field,
reason, column}], duplicates: [{row, rule, existing (a patient id) | first_row
(the earlier row it repeats)}], elapsed_s}. A reason comes
from the registration checks; the few that quote a digit derived from the
value (the NIR key they expected) lose it here.
"""

import re
import time
from dataclasses import dataclass, field

_DERIVED = re.compile(r"\s*\(attendue \d+\)")
MAX_LISTED = 100_000  # past this many problems a file is not an import but a mistake


def scrub(reason: str) -> str:
    return _DERIVED.sub("", reason)


@dataclass
class Report:
    kind: str
    rows: int = 0
    imported: int = 0
    already: int = 0  # taken in by an earlier run (idempotency)
    skipped: int = 0  # duplicates skipped by the mapping's policy
    rejected: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    written: bool = False
    started: float = field(default_factory=time.monotonic)
    elapsed_s: float = 0.0

    def reject(self, row: int, name: str, reason: str, column: str | None = None) -> None:
        if len(self.rejected) < MAX_LISTED:
            item = {"row": row, "field": name, "reason": scrub(reason)}
            if column:
                item["column"] = column
            self.rejected.append(item)

    def duplicate(self, row: int, rule: str, *, existing: int | None = None,
                  other_row: int | None = None) -> None:
        if len(self.duplicates) < MAX_LISTED:
            item = {"row": row, "rule": rule}
            if existing is not None:
                item["existing"] = existing
            else:
                item["first_row"] = other_row
            self.duplicates.append(item)

    @property
    def rejected_rows(self) -> int:
        return len({r["row"] for r in self.rejected})

    def finish(self) -> "Report":
        self.elapsed_s = round(time.monotonic() - self.started, 3)
        return self

    def as_json(self) -> dict:
        return {"rows": self.rows, "imported": self.imported, "rejected": self.rejected,
                "duplicates": self.duplicates, "elapsed_s": self.elapsed_s}

    def counts(self) -> dict:
        """What the journal keeps: counts only."""
        return {"rows": self.rows, "imported": self.imported, "rejected": self.rejected_rows,
                "duplicates": len(self.duplicates), "already": self.already,
                "skipped": self.skipped}
