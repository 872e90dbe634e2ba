"""Synthetic French identities for `etanche demo --patients N`: realistic, fast, deterministic.

It never produces a real person's identity on purpose. Names, birth dates, birthplaces and
serial numbers are drawn independently at random, so any resemblance to a living person is
chance. The INS numbers are well-formed NIRs but carry the INS *demo* OID
(1.2.250.1.213.1.4.11), phones come from the ARCEP blocks reserved for fiction, e-mails use
the reserved example.com/.org/.net domains, insurers are called fictitious, and physicians'
RPPS start with 99 (see docs/identity.md). Every identity passes the validators of this app.

What is drawn from real data (data/SOURCES.md) and what is a plain assumption:
- surnames: frequencies of the 2021 INSEE death records (real, a proxy for the population);
- first names: INSEE births 1900-2021 by sex (real); sex 50/50 (assumption);
- birthplace: an INSEE commune weighted by its 2023 population (real), which brings Corsica
  and overseas births in their proportion, or, for 1 person in 10 (assumption), a country
  drawn uniformly among the current INSEE country codes;
- age: flat from 0 to 64, then linearly fewer up to 104 (assumption, not INSEE's pyramid);
- blood group: EFS frequencies (real, bloodgroups.py);
- everything else (street, coverage codes, number of first names, used names, notes):
  plausible shapes, invented values.

Deterministic: the same seed gives the same identities, whatever N (the first K identities of
a larger run are those of a run of K), on any machine: ages count from REFERENCE_DATE, not
from today.
"""

import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import accumulate

from etanche.patients import refdata
from etanche.patients.bloodgroups import FRANCE_PERCENT
from etanche.patients.intake import ENVELOPE_FIELDS
from etanche.patients.names import strip_accents
from etanche.patients.nir import INS_OID_DEMO
from etanche.patients.status import IdentityStatus

REFERENCE_DATE = date(2026, 1, 1)
CHUNK = 1024  # rows drawn per batch; fixed so that output does not depend on N
ABROAD_PER_MILLE = 100
# Paris, Lyon, Marseille: births are registered by arrondissement, the city code would
# double-count their population.
ARRONDISSEMENT_CITIES = frozenset({"75056", "69123", "13055"})
MOBILE_BLOCK = "+3363998"
LANDLINE_BLOCKS = ("+3319900", "+3326191", "+3335301", "+3346571", "+3353649")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
STREET_TYPES = ("rue", "avenue", "boulevard", "chemin", "impasse", "place", "allée", "route")
STREET_NAMES = (
    "des Lilas", "de la Gare", "de l'Église", "du Moulin", "des Écoles", "de la Mairie",
    "du Stade", "des Acacias", "de la Fontaine", "du Château", "des Tilleuls", "Pasteur",
    "Victor Hugo", "Jean Jaurès", "de la République", "des Peupliers", "du Lavoir",
    "des Vignes", "du Port", "des Pins", "de la Forge", "du Marché", "des Jardins", "Voltaire",
)  # fmt: skip
AMC_INSURERS = (
    "Mutuelle fictive des Tilleuls", "Prévoyance fictive de l'Ouest",
    "Mutuelle imaginaire du Centre", "Assurance santé fictive Horizon",
    "Mutuelle fictive des Cheminots du Nord", "Complémentaire imaginaire Azur",
)  # fmt: skip
NOTES = (
    "Prélèvement difficile, veines fines.",
    "Phobie des aiguilles, prévoir de s'allonger.",
    "Allergie au latex.",
    "Malentendant : parler face à lui.",
    "Vient accompagné d'un proche.",
    "Sous anticoagulant, comprimer longtemps.",
    "Préfère être appelé en fin de matinée.",
    "Résultats à envoyer aussi au cardiologue.",
)
# (regime code, weight): 01 régime général, 02 régime agricole. Weights are an assumption.
AMO_REGIMES = (("01", 90), ("02", 10))


@dataclass(frozen=True, slots=True)
class SyntheticIdentity:
    birth_name: str
    first_names: tuple[str, ...]
    used_name: str
    used_first_name: str
    sex: str  # "M" or "F"
    birth_date: date
    birthplace_code: str
    birthplace_label: str
    ins: str
    ins_oid: str
    street: str
    postal_code: str
    city: str
    phone: str  # E.164
    landline: str  # E.164, "" for most people
    email: str
    amo_regime: str
    amo_fund: str
    amo_centre: str
    amc_insurer: str
    amc_contract: str
    physician_name: str
    physician_rpps: str
    blood_group: str
    notes: str


@dataclass(frozen=True)
class _Table:
    values: tuple
    cum_weights: tuple[int, ...]

    @classmethod
    def of(cls, values, weights) -> "_Table":
        return cls(tuple(values), tuple(accumulate(weights)))

    def draw(self, rng: random.Random, k: int) -> list:
        return rng.choices(self.values, cum_weights=self.cum_weights, k=k)


def _slug(name: str) -> str:
    return "".join(char for char in strip_accents(name).lower() if char.isalnum())


@cache
def _tables() -> dict:
    first = refdata.first_names()
    surnames, surname_counts = refdata.surnames()
    places = [
        c
        for c in refdata.communes().values()
        if c.population and c.code not in ARRONDISSEMENT_CITIES
    ]
    countries = [
        c.code for c in refdata.countries().values() if c.status == "current" and c.code != "99100"
    ]
    ages = range(105)
    return {
        "first": {
            sex: _Table.of(zip(names, map(_slug, names), strict=True), counts)
            for sex, (names, counts) in first.items()
        },
        "surname": _Table.of(zip(surnames, map(_slug, surnames), strict=True), surname_counts),
        "place": _Table.of(places, (c.population for c in places)),
        "country": _Table.of(countries, [1] * len(countries)),
        "age": _Table.of(ages, (100 if age < 65 else 100 - (age - 64) * 100 // 41 for age in ages)),
        "blood": _Table.of(FRANCE_PERCENT, FRANCE_PERCENT.values()),
        "regime": _Table.of((code for code, _ in AMO_REGIMES), (w for _, w in AMO_REGIMES)),
        "first_count": _Table.of((1, 2, 3), (50, 35, 15)),
        "country_names": {code: refdata.countries()[code].name for code in countries},
    }


def nir_for(sex: str, birth_date: date, birthplace: str, serial: int) -> str:
    sex_digit = 1 if sex == "M" else 2
    body = f"{sex_digit}{birth_date.year % 100:02d}{birth_date.month:02d}{birthplace}{serial:03d}"
    numeric = int(body.replace("2A", "19").replace("2B", "18"))
    return f"{body}{97 - numeric % 97:02d}"


def iter_identities(n: int, seed: int = 0) -> Iterator[SyntheticIdentity]:
    # Not for secrets: a seeded, reproducible stream is the point here.
    rng = random.Random(seed)  # noqa: S311
    tables = _tables()
    physicians = _physicians(random.Random(f"physicians-{seed}"), tables)  # noqa: S311
    seen: set[str] = set()
    produced = 0
    while produced < n:
        for identity in _chunk(rng, tables, physicians, seen):
            if produced == n:
                return
            produced += 1
            yield identity


def generate(n: int, seed: int = 0) -> list[SyntheticIdentity]:
    return list(iter_identities(n, seed))


def _physicians(rng: random.Random, tables: dict) -> list[tuple[str, str]]:
    """A pool of 500 attending physicians, shared by the patients as in real life."""
    result = []
    for index in range(500):
        sex = "F" if index % 2 else "M"
        (first, _), (surname, _) = (
            tables["first"][sex].draw(rng, 1)[0],
            tables["surname"].draw(rng, 1)[0],
        )
        rpps = f"99{rng.randrange(10**9):09d}"
        result.append((f"Dr {first} {surname.title()}", rpps))
    return result


def _chunk(rng: random.Random, t: dict, physicians, seen: set[str]) -> list[SyntheticIdentity]:
    k = CHUNK
    sexes = rng.choices("MF", k=k)
    ages = t["age"].draw(rng, k)
    day_of_year = rng.choices(range(365), k=k)
    abroad = rng.choices(range(1000), k=k)
    places = t["place"].draw(rng, k)
    countries = t["country"].draw(rng, k)
    homes = t["place"].draw(rng, k)
    surnames = t["surname"].draw(rng, 2 * k)
    firsts = {sex: t["first"][sex].draw(rng, 3 * k) for sex in "MF"}
    first_counts = t["first_count"].draw(rng, k)
    serials = rng.choices(range(1, 1000), k=k)
    numbers = rng.choices(range(10000), k=3 * k)
    small = rng.choices(range(100), k=4 * k)
    bloods = t["blood"].draw(rng, k)
    regimes = t["regime"].draw(rng, k)
    streets = rng.choices(STREET_NAMES, k=k)
    street_types = rng.choices(STREET_TYPES, k=k)
    insurers = rng.choices(AMC_INSURERS, k=k)
    notes = rng.choices(NOTES, k=k)
    doctors = rng.choices(physicians, k=k)
    reference = REFERENCE_DATE.toordinal() - 1
    rows = []
    for i in range(k):
        sex = sexes[i]
        birth_date = date.fromordinal(reference - int(ages[i] * 365.2425) - day_of_year[i])
        if abroad[i] < ABROAD_PER_MILLE:
            place_code = countries[i]
            place_label = t["country_names"][place_code]
        else:
            place_code, place_label = places[i].code, places[i].name
        serial = serials[i]
        nir = nir_for(sex, birth_date, place_code, serial)
        for _ in range(999):  # a NIR is one person: never hand out the same one twice
            if nir[:13] not in seen:
                break
            serial = serial % 999 + 1
            nir = nir_for(sex, birth_date, place_code, serial)
        else:
            raise RuntimeError("too many identities for one birthplace and month")
        seen.add(nir[:13])
        surname, surname_slug = surnames[2 * i]
        drawn = firsts[sex][3 * i : 3 * i + first_counts[i]]
        names = list(dict.fromkeys(first for first, _ in drawn))
        first_slug = drawn[0][1]
        used_name = surname
        if sex == "F" and ages[i] >= 25 and small[4 * i] < 40:
            used_name = surnames[2 * i + 1][0]  # a married name, kept as the used name
        home = homes[i]
        postal_code = home.postal_codes[small[4 * i + 1] % len(home.postal_codes)]
        mail_number = numbers[3 * i + 2] % 100
        landline = ""
        if small[4 * i + 2] < 30:
            landline = f"{LANDLINE_BLOCKS[small[4 * i + 2] % 5]}{numbers[3 * i + 1]:04d}"
        doctor_name, doctor_rpps = doctors[i]
        rows.append(
            SyntheticIdentity(
                birth_name=surname,
                first_names=tuple(names),
                used_name=used_name,
                used_first_name=names[0],
                sex=sex,
                birth_date=birth_date,
                birthplace_code=place_code,
                birthplace_label=place_label,
                ins=nir,
                ins_oid=INS_OID_DEMO,
                street=f"{1 + small[4 * i + 3]} {street_types[i]} {streets[i]}",
                postal_code=postal_code,
                city=home.name,
                phone=f"{MOBILE_BLOCK}{numbers[3 * i]:04d}",
                landline=landline,
                email=f"{first_slug}.{surname_slug}{mail_number}@{EMAIL_DOMAINS[mail_number % 3]}",
                amo_regime=regimes[i],
                amo_fund=f"{numbers[3 * i + 1] % 1000:03d}",
                amo_centre=f"{numbers[3 * i + 2]:04d}",
                amc_insurer=insurers[i],
                amc_contract=f"CT{serial:03d}{numbers[3 * i]:04d}",
                physician_name=doctor_name,
                physician_rpps=doctor_rpps,
                blood_group=bloods[i],
                notes=notes[i] if numbers[3 * i + 2] // 100 < 15 else "",
            )
        )
    return rows


def envelope_of(identity: SyntheticIdentity) -> dict:
    """The sealed envelope of a synthetic identity (it passes every intake check)."""
    env = {
        "birth_name": identity.birth_name,
        "first_names": list(identity.first_names),
        "used_name": identity.used_name if identity.used_name != identity.birth_name else "",
        "used_first_name": "",
        "birth_date": identity.birth_date.isoformat(),
        "sex": identity.sex,
        "birthplace_code": identity.birthplace_code,
        "birthplace_label": identity.birthplace_label,
        "ins": identity.ins,
        "ins_oid": identity.ins_oid,
        "identity_status": IdentityStatus.PROV.value,
        "id_document": None,
        "street": identity.street,
        "postal_code": identity.postal_code,
        "city": identity.city,
        "phones": [p for p in (identity.phone, identity.landline) if p],
        "email": identity.email,
        "amo_regime": identity.amo_regime,
        "amo_fund": identity.amo_fund,
        "amo_centre": identity.amo_centre,
        "amc_insurer": identity.amc_insurer,
        "amc_contract": identity.amc_contract,
        "physician_name": identity.physician_name,
        "physician_rpps": identity.physician_rpps,
        "blood_group": identity.blood_group,
        "notes": identity.notes,
        "insured_nir": "",
    }
    assert tuple(env) == ENVELOPE_FIELDS  # noqa: S101  a new envelope field must be filled here
    return env


def envelopes(n: int, seed: int = 0) -> Iterator[dict]:
    """The sealed envelopes of `iter_identities(n, seed)`, ready for patients.bulk."""
    return map(envelope_of, iter_identities(n, seed))


def one_envelope() -> dict:
    """A fresh, unpredictable synthetic identity, in the fiction ranges (the canary of a lab
    with no patient yet; other canaries are shaped after the lab's rows, canary.py)."""
    return envelope_of(next(iter_identities(1, seed=secrets.randbits(64))))
