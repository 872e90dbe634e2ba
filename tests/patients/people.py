"""Synthetic patients for the patients tests: valid inputs built from the generator and a
few hand-made people with NIRs computed from their traits (never a real person)."""

from datetime import date

from etanche.patients.nir import INS_OID_TEST
from etanche.synthetic.people import generate, nir_for


def as_input(identity) -> dict:
    """A generator identity in the input form of register_patient / `patients add`."""
    data = {
        "birth_name": identity.birth_name,
        "first_names": list(identity.first_names),
        "birth_date": identity.birth_date.isoformat(),
        "sex": identity.sex,
        "birthplace_code": identity.birthplace_code,
        "nir": identity.ins,
        "ins_oid": identity.ins_oid,
        "phone": identity.phone,
        "email": identity.email,
        "street": identity.street,
        "postal_code": identity.postal_code,
        "city": identity.city,
        "amo_regime": identity.amo_regime,
        "amo_fund": identity.amo_fund,
        "amo_centre": identity.amo_centre,
        "amc_insurer": identity.amc_insurer,
        "amc_contract": identity.amc_contract,
        "physician_name": identity.physician_name,
        "physician_rpps": identity.physician_rpps,
        "blood_group": identity.blood_group,
        "notes": identity.notes,
    }
    if identity.used_name != identity.birth_name:
        data["used_name"] = identity.used_name
    if identity.landline:
        data["phones"] = [identity.landline]
    return data


def synthetic_inputs(n: int, seed: int = 7) -> list[dict]:
    return [as_input(identity) for identity in generate(n, seed)]


def person(birth_name="KERGOAT", first_names=("Anne", "Maëlle"), birth_date=date(1984, 3, 2),
           sex="F", birthplace="29019", serial=101, **extra) -> dict:
    """A hand-made synthetic person (Brest-born by default) with a consistent test NIR."""
    data = {
        "birth_name": birth_name,
        "first_names": list(first_names),
        "birth_date": birth_date.isoformat(),
        "sex": sex,
        "birthplace_code": birthplace,
        "ins_oid": INS_OID_TEST,
        "phone": "06 39 98 12 34",
        "email": "anne.kergoat@example.org",
        "street": "12 impasse des Glycines-Synthétiques",
        "postal_code": "29200",
        "city": "Brest",
        "amo_regime": "01",
        "amo_fund": "291",
        "amo_centre": "0042",
        "amc_insurer": "Mutuelle fictive des Tilleuls",
        "amc_contract": "CT0000042",
        "physician_name": "Dr Paule Imaginaire",
        "physician_rpps": "99000000042",
        "blood_group": "O-",
        "notes": "Phobie des aiguilles fictive, prévoir de s'allonger.",
    }
    if serial is not None:
        data["nir"] = nir_for(sex, birth_date, birthplace, serial)
    data.update(extra)
    return data
