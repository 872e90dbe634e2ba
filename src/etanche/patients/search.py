"""Search on sealed data: candidates by blind index, unsealed, filtered exactly.

An index returns a few unrelated candidates per value (C = 2 to 4 at the lab's
expected size, sizes fixed per lab by the vault, vault/indexes.py); each is
unsealed and compared on the normalised value, so results are exact whatever
the collisions. Criteria:
- `nir`: a NIR or NIA (with `ins_oid`: the INS, number + OID);
- `name` (birth or used name), alone or with `first_name` and/or `birth_date`;
  when nothing matches exactly and first name and date are given, the phonetic
  index (Phonex of name and first name + date) is tried: `page.phonetic` says so;
- `phone`.
Merged records are not returned (their survivor is). Every search is journaled
with the kinds of criteria, the number of results and the ids shown, never a value.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.patients import indexing, listing, nir, validators
from etanche.patients.models import Patient, PatientIndex
from etanche.patients.names import name_search_key
from etanche.patients.phonetic import phonetic_key
from etanche.vault.indexes import compose

PAGE_SIZE = 20


@dataclass(frozen=True)
class PatientSummary:
    """What a result list shows: enough to pick the right person, nothing more."""

    id: int
    birth_name: str
    used_name: str
    first_names: tuple[str, ...]
    used_first_name: str
    birth_date: str
    sex: str
    identity_status: str

    def as_dict(self) -> dict:
        return {
            "id": self.id, "birth_name": self.birth_name, "used_name": self.used_name,
            "first_names": list(self.first_names), "used_first_name": self.used_first_name,
            "birth_date": self.birth_date, "sex": self.sex,
            "identity_status": self.identity_status,
        }

    @property
    def sort_key(self) -> tuple:
        # The order of what is displayed first: the birth name and first names (the INS
        # traits, patients/_name.html), not the used ones shown in brackets (issue 24, 14).
        return (name_search_key(self.birth_name),
                name_search_key((self.first_names or ("",))[0]),
                self.birth_date, self.id)


def summary_of(patient_id: int, env: dict) -> PatientSummary:
    return PatientSummary(
        id=patient_id, birth_name=env["birth_name"], used_name=env.get("used_name") or "",
        first_names=tuple(env["first_names"]), used_first_name=env.get("used_first_name") or "",
        birth_date=env["birth_date"], sex=env["sex"], identity_status=env["identity_status"],
    )


@dataclass
class SearchPage:
    results: list[PatientSummary]
    number: int
    pages: int
    total: int
    phonetic: bool = False
    # More records carry this name than a name alone may list: ask for the birth date.
    needs_birth_date: bool = False


def _criteria(nir_value, name, first_name, birth_date, phone) -> list[str]:
    given = {"nir": nir_value, "name": name, "first_name": first_name,
             "birth_date": birth_date, "phone": phone}
    kinds = [kind for kind, value in given.items() if value not in (None, "")]
    main = [k for k in kinds if k in ("nir", "name", "phone")]
    if len(main) != 1:
        raise ValidationError(
            {"__all__": ["Cherchez par NIR, par nom (avec prénom et/ou date de naissance si "
                         "besoin) ou par téléphone : un seul de ces critères à la fois."]}
        )
    if main != ["name"] and ("first_name" in kinds or "birth_date" in kinds):
        raise ValidationError(
            {"__all__": ["Le prénom et la date de naissance s'ajoutent à une recherche par nom."]}
        )
    return kinds


def _candidates(lab, *, column: str | None = None, side: str | None = None, values=(),
                columns: tuple[str, ...] = ()):
    """Rows whose blind index matches: `column` (or any of `columns`, in one query: one
    round trip, each column keyed with its own key) or the side index `side`."""
    rows = Patient.objects.for_lab(lab).live()
    columns = columns or ((column,) if column else ())
    values = [v for v in values if v]
    if not values:
        return []
    if columns:
        match = Q()
        for name in columns:
            match |= Q(**{f"{name}_index__in": [indexing.lookup(lab, name, v) for v in values]})
        rows = rows.filter(match)
    else:
        keyed = [indexing.lookup(lab, side, v) for v in values]
        ids = PatientIndex.objects.filter(lab_id=getattr(lab, "pk", lab), name=side,
                                          value__in=keyed).values("patient_id")
        rows = rows.filter(pk__in=ids)
    return opened(rows)


def opened(rows) -> list[tuple[int, dict]]:
    """(id, envelope) of each row, unsealed from plain values rather than model instances:
    building a Patient per candidate was most of a search's time at 10^5-10^6 records
    (hundreds of candidates per 12-bit index; bench/RESULTS.md)."""
    return open_values(rows.values_list(*Patient.opening_columns()))


def open_values(values) -> list[tuple[int, dict]]:
    """(id, envelope) of each row of `values_list(*Patient.opening_columns())`."""
    rows = list(values)
    return list(zip((row[0] for row in rows), Patient.open_rows(rows), strict=True))


def _match_name(env, key: str, first_key: str, day: str) -> bool:
    if key not in (name_search_key(env["birth_name"]), name_search_key(env.get("used_name", ""))):
        return False
    if day and env["birth_date"] != day:
        return False
    if first_key:
        firsts = [*env["first_names"], env.get("used_first_name") or ""]
        if first_key not in {name_search_key(f) for f in firsts if f}:
            return False
    return True


def _by_name(lab, name, first_name, day) -> tuple[list, bool]:
    key, first_key = name_search_key(name), name_search_key(first_name or "")
    if not key:
        raise ValidationError({"name": ["Le nom recherché doit contenir au moins une lettre."]})
    if day:
        found = _candidates(lab, columns=("birth_name_dob", "used_name_dob"),
                            values=[compose(key, day)])
    else:
        found = _candidates(lab, side="surname", values=[key])
    unique = dict(found)
    exact = [(pk, env) for pk, env in unique.items() if _match_name(env, key, first_key, day)]
    if exact or not (first_key and day):
        return exact, False
    sound = indexing.phonetic_dob(name, first_name, day)
    found = _candidates(lab, column="phonetic_dob", values=[sound])
    ph_name, ph_first = phonetic_key(name), phonetic_key(first_name)
    return [
        (pk, env) for pk, env in found
        if env["birth_date"] == day and phonetic_key(env["birth_name"]) == ph_name
        and phonetic_key(env["first_names"][0]) == ph_first
    ], True


def _by_nir(lab, value: str, oid: str | None) -> list:
    number = nir.parse_nir(value).number  # a NIA has the same shape and key
    if oid:
        found = _candidates(lab, column="ins", values=[compose(number, oid)])
        return [(pk, env) for pk, env in found if env["ins"] == number and env["ins_oid"] == oid]
    found = _candidates(lab, column="nir", values=[number])
    return [(pk, env) for pk, env in found if env["ins"] == number]


def _by_phone(lab, value: str) -> list:
    number = validators.normalize_phone(value)
    found = _candidates(lab, side="phone", values=[number])
    return [(pk, env) for pk, env in found if number in (env.get("phones") or [])]


def search(lab, user, *, nir=None, name=None, first_name=None, birth_date=None, phone=None,
           ins_oid=None, page=1, purpose: str = "") -> SearchPage:
    kinds = _criteria(nir, name, first_name, birth_date, phone)
    phonetic = False
    try:
        if nir:
            found = _by_nir(lab, nir, ins_oid)
        elif phone:
            found = _by_phone(lab, phone)
        else:
            day = ""
            if birth_date:
                day = validators.parse_date(birth_date, what="La date de naissance").isoformat()
            found, phonetic = _by_name(lab, name, first_name, day)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise
        field = "nir" if nir else "phone" if phone else "birth_date"
        raise ValidationError({field: exc.messages}) from None
    found = listing.visible(lab, found, criteria=kinds, phonetic=phonetic)  # lab canaries
    results = sorted((summary_of(pk, env) for pk, env in found), key=lambda s: s.sort_key)
    # A name without a birth date lists a few people, not a surname's whole population:
    # a stolen front-office account must not page through the lab (issue 16, item 7).
    too_vague = ("name" in kinds and "birth_date" not in kinds
                 and len(results) > settings.ETANCHE_SEARCH_NAME_ONLY_MAX)
    paginator = Paginator([] if too_vague else results, PAGE_SIZE)
    current = paginator.get_page(page)
    shown = list(current.object_list)
    with transaction.atomic():
        journal(lab=lab, user=user, action=Action.SEARCH, object_type="patient", purpose=purpose,
                detail={"criteria": kinds, "results": len(results), "page": current.number,
                        "phonetic": phonetic, "shown": [s.id for s in shown],
                        "too_vague": too_vague})
    if too_vague:
        return SearchPage([], 1, 1, 0, needs_birth_date=True)
    return SearchPage(shown, current.number, paginator.num_pages, len(results), phonetic)



# --- the patient list of the day (issue 24, item 12) ---------------------------------------


def patients_of_day(lab, *, day=None, with_requests=()) -> list[int]:
    """Live patients registered on `day` (local date, default today) or among
    `with_requests` (the patients of today's requests, given by the web since requests
    are a layer above), newest registration first. Ids only: nothing unsealed, so
    nothing journaled; a merged record counts as its survivor. Lab canaries are left out
    (listing: no workflow lists them)."""
    day = day or timezone.localdate()
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    rows = Patient.objects.for_lab(lab)
    survivors = rows.filter(pk__in=list(with_requests)).values_list("pk", "merged_into_id")
    requested = {merged or pk for pk, merged in survivors}
    live = (rows.live().filter(Q(created_at__gte=start, created_at__lt=start + timedelta(days=1))
                               | Q(pk__in=requested))
            .order_by("-created_at", "-pk").values_list("pk", flat=True))
    return listing.visible(lab, list(live), criteria=["day"], id_of=lambda pk: pk)


def summaries_shown(lab, user, patient_ids, *, purpose: str) -> dict[int, PatientSummary]:
    """{id: summary} for one page of a list of the day, each patient shown journaled as a
    READ (one per person, with the purpose), like the names of today's requests."""
    with transaction.atomic():
        rows = (Patient.objects.for_lab(lab).live().filter(pk__in=list(patient_ids))
                .values_list(*Patient.opening_columns()))
        shown = {pk: summary_of(pk, env) for pk, env in open_values(rows)}
        for pk in shown:
            journal(lab=lab, user=user, action=Action.READ, object_type="patient",
                    object_id=pk, purpose=purpose, detail={"shown": "nom"})
    return shown
