from datetime import date

import pytest
from django.core.exceptions import ValidationError

from etanche.patients.status import (
    DocumentCheck,
    IdentityStatus,
    allowed_targets,
    insi_configured,
    next_status,
)

PASSPORT = DocumentCheck(kind="passeport", checked_on=date(2026, 11, 1), checked_by="u-17")


def refusal(*args, **kwargs) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        next_status(*args, **kwargs)
    return caught.value.messages


def test_it_validates_an_identity_only_with_a_recorded_high_trust_document():
    assert next_status("PROV", "VALI", document=PASSPORT) is IdentityStatus.VALI
    assert refusal("PROV", "VALI") == [
        "Statut VALI impossible : aucun contrôle de pièce d'identité n'est enregistré."
    ]
    birth_certificate = DocumentCheck("acte_naissance", date(2026, 11, 1), "u-17")
    assert refusal("PROV", "VALI", document=birth_certificate) == [
        "Ce justificatif n'est pas une pièce à haut niveau de confiance : carte nationale "
        "d'identité, passeport ou titre de séjour."
    ]
    future = DocumentCheck("cni", date(2026, 12, 1), "u-17")
    assert refusal("PROV", "VALI", document=future, today=date(2026, 11, 28)) == [
        "La date du contrôle de la pièce d'identité est dans le futur."
    ]


@pytest.mark.parametrize(
    ("current", "target"), [("PROV", "RECUP"), ("VALI", "QUAL"), ("PROV", "QUAL")]
)
def test_it_refuses_recup_and_qual_without_an_insi_connection(current, target):
    assert not insi_configured()
    assert refusal(current, target, document=PASSPORT) == [
        f"Statut {target} impossible : il exige une récupération de l'INS par le téléservice "
        "INSi, et aucune connexion INSi n'est configurée dans Étanche (l'INSi s'interroge avec "
        "une carte de professionnel de santé depuis un logiciel référencé). L'identité reste "
        f"{current}."
    ]


def test_it_always_allows_moving_down_on_a_doubt():
    assert next_status("VALI", "PROV") is IdentityStatus.PROV
    assert next_status("QUAL", "VALI") is IdentityStatus.VALI


def test_it_says_why_each_status_is_out_of_reach():
    assert allowed_targets("PROV") == {
        IdentityStatus.PROV: "",
        IdentityStatus.RECUP: "aucune connexion INSi n'est configurée",
        IdentityStatus.VALI: "exige un contrôle de pièce d'identité à haut niveau de confiance",
        IdentityStatus.QUAL: "aucune connexion INSi n'est configurée",
    }
    assert allowed_targets("VALI")[IdentityStatus.VALI] == ""
    assert refusal("PROV", "GOOD") == ["Statut d'identité inconnu : PROV, RECUP, VALI ou QUAL."]
    assert IdentityStatus.QUAL.label == "Identité qualifiée"
