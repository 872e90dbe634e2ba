"""ENISA 2013: SE = DPC x EI + CB, each factor explained."""

import pytest

from etanche.breach import severity


@pytest.mark.parametrize(("categories", "matched", "kwargs", "score", "level"), [
    ({"nir", "surname", "birth_date", "health_text"}, 10, {}, 4.5, "very_high"),
    ({"nir"}, 0, {"confidentiality": "limited"}, 3.25, "high"),
    ({"email"}, 0, {"confidentiality": "limited"}, 0.75, "low"),
    ({"surname", "first_name"}, 0, {}, 1.25, "low"),
    ({"surname", "birth_date"}, 5, {"malicious": True}, 5.0, "very_high"),
    ({"birth_date"}, 0, {"confidentiality": "none"}, 0.25, "low"),
])
def test_scores(categories, matched, kwargs, score, level):
    result = severity.assess(categories, matched, **kwargs)
    assert (result["score"], result["level"]) == (score, level)
    assert result["score"] == round(result["dpc"]["score"] * result["ei"]["score"]
                                    + result["cb"]["score"], 2)
    assert all(result[f]["why"] for f in ("dpc", "ei", "cb"))


def test_matched_patients_of_a_lab_are_health_data():
    assert severity.assess({"email"}, 1)["dpc"]["score"] == 4.0
    assert "laboratoire" in severity.assess({"email"}, 1)["dpc"]["why"]
