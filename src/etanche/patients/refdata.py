"""Reference data shipped in `data/` (sources in data/SOURCES.md), read lazily, once per process.

Each loader parses its CSV on first use and keeps the result; nothing here touches the
database or the network, so validators and the synthetic generator can run anywhere.
"""

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True, slots=True)
class Commune:
    code: str
    name: str
    department: str
    population: int  # 0 where INSEE gives none (uninhabited territories)
    postal_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Country:
    code: str  # INSEE 99xxx
    name: str
    iso2: str
    status: str  # current, territory, obsolete


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str
    zone: str  # metro, drom, com


def _rows(name: str):
    with open(DATA_DIR / name, encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


@cache
def communes() -> dict[str, Commune]:
    """Current communes and municipal arrondissements (COG 2026), by INSEE code."""
    return {
        row["code"]: Commune(
            code=row["code"],
            name=row["name"],
            department=row["department"],
            population=int(row["population"] or 0),
            postal_codes=tuple(row["postal_codes"].split()),
        )
        for row in _rows("communes.csv")
    }


@cache
def former_communes() -> dict[str, tuple[str, str]]:
    """Delegated and associated communes: code -> (name, current parent code).

    Older birth certificates and NIRs still carry these codes.
    """
    return {row["code"]: (row["name"], row["parent_code"]) for row in _rows("communes_former.csv")}


@cache
def countries() -> dict[str, Country]:
    """INSEE country and territory codes (99xxx), current and obsolete."""
    return {
        row["code"]: Country(row["code"], row["name"], row["iso2"], row["status"])
        for row in _rows("countries.csv")
    }


@cache
def departments() -> dict[str, Department]:
    rows = _rows("departments.csv")
    return {row["code"]: Department(row["code"], row["name"], row["zone"]) for row in rows}


@cache
def first_names() -> dict[str, tuple[tuple[str, ...], tuple[int, ...]]]:
    """Sex ("M"/"F") -> (names, births 1900-2021), most frequent first."""
    by_sex: dict[str, tuple[list[str], list[int]]] = {"M": ([], []), "F": ([], [])}
    for row in _rows("first_names.csv"):
        names, counts = by_sex[row["sex"]]
        names.append(row["first_name"])
        counts.append(int(row["count"]))
    return {sex: (tuple(names), tuple(counts)) for sex, (names, counts) in by_sex.items()}


@cache
def surnames() -> tuple[tuple[str, ...], tuple[int, ...]]:
    """(surnames, counts in 2021 death records), most frequent first."""
    names, counts = [], []
    for row in _rows("surnames.csv"):
        names.append(row["surname"])
        counts.append(int(row["count"]))
    return tuple(names), tuple(counts)
