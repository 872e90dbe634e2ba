"""Test labels in proper French, and what a secretary types to find a test.

The NABM as published has no accents and is cut at 100 characters
("HEMOGRAMME Y COMPRIS PLAQUETTES (NFS , NFP)"). Pages show a display label
written from the source's short label: accents restored word by word from the
table below, usual abbreviations in capitals, spacing of punctuation mended,
first letter capital ("Hémogramme y compris plaquettes (NFS, NFP)"). The
official label stays beside it, verbatim, with its source (`official_label`,
data/SOURCES.md). The table and the synonyms (data/synonyms.csv) are Étanche's
editorial data, not reference data: they change how a label reads and what
finds it, never a code.

Search compares folded text: accents removed, case folded, dots dropped, so
"glycémie", "GLYCEMIE" and "glycemie" are the same and "tsh" finds "t.s.h.".
"""

import csv
import functools
import re
import unicodedata
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

# Words of the source's short labels that take an accent (or a ligature) in French.
ACCENTS = {
    "acetone": "acétone", "acetonurie": "acétonurie", "activite": "activité",
    "aerobie": "aérobie", "amylasemie": "amylasémie", "antigene": "antigène",
    "antihemophilique": "antihémophilique", "antinucleaires": "antinucléaires",
    "antirecepteurs": "antirécepteurs", "apolipoproteine": "apolipoprotéine",
    "apolipoproteines": "apolipoprotéines", "bacterie": "bactérie", "calcemie": "calcémie",
    "cephaline": "céphaline", "cinetique": "cinétique", "coeliaque": "cœliaque",
    "controle": "contrôle", "creatine": "créatine", "creatinine": "créatinine",
    "creatininurie": "créatininurie", "cupremie": "cuprémie", "deglycosylee": "déglycosylée",
    "depistage": "dépistage", "derive": "dérivé", "deshydrogenase": "déshydrogénase",
    "desialylee": "désialylée", "detection": "détection", "determination": "détermination",
    "dimeres": "dimères", "diphenyl": "diphényl", "drepanocytes": "drépanocytes",
    "dysglobulinemie": "dysglobulinémie", "echantillons": "échantillons",
    "electrophorese": "électrophorèse", "epaisse": "épaisse", "epreuve": "épreuve",
    "erythrocytaire": "érythrocytaire", "erythrocytaires": "érythrocytaires",
    "ethylique": "éthylique", "etude": "étude", "eventuellement": "éventuellement",
    "evolutive": "évolutive", "fecales": "fécales", "fibrinogene": "fibrinogène",
    "foetales": "fœtales", "foetoproteine": "fœtoprotéine", "gene": "gène",
    "genitaux": "génitaux", "genome": "génome", "glycemie": "glycémie", "glyquees": "glyquées",
    "guerison": "guérison", "hematies": "hématies", "hematocrite": "hématocrite",
    "hematozoaires": "hématozoaires", "hemoculture": "hémoculture",
    "hemoglobine": "hémoglobine", "hemogramme": "hémogramme", "hemostase": "hémostase",
    "heparine": "héparine", "heparinique": "héparinique", "hepatite": "hépatite",
    "heterophiles": "hétérophiles", "hydantoine": "hydantoïne",
    "hyperglycemie": "hyperglycémie", "immunosupresseur": "immunosuppresseur",
    "isolee": "isolée", "lipasemie": "lipasémie", "lithiemie": "lithiémie",
    "magnesemie": "magnésémie", "melanges": "mélanges", "meth": "méth.", "methode": "méthode",
    "methodes": "méthodes", "methotrexate": "méthotrexate", "methylique": "méthylique",
    "mineral": "minéral", "mononucleose": "mononucléose", "numeration": "numération",
    "oeufs": "œufs", "osmolarite": "osmolarité", "pharyngee": "pharyngée",
    "phenitoine": "phénytoïne", "phenobarbital": "phénobarbital", "phenotypes": "phénotypes",
    "phosphoremie": "phosphorémie", "pneumallergenes": "pneumallergènes",
    "prealbumine": "préalbumine", "prelevement": "prélèvement",
    "proaccelerine": "proaccélérine", "progesterone": "progestérone", "proteine": "protéine",
    "proteines": "protéines", "proteinogramme": "protéinogramme",
    "proteinurie": "protéinurie", "provoquee": "provoquée", "reactive": "réactive",
    "recente": "récente", "recepteur": "récepteur", "renale": "rénale", "reserve": "réserve",
    "reticulocytes": "réticulocytes", "rhumatoides": "rhumatoïdes", "rubeole": "rubéole",
    "secretions": "sécrétions", "sedimentation": "sédimentation", "serique": "sérique",
    "seriques": "sériques", "simplifiee": "simplifiée", "specifique": "spécifique",
    "spec": "spéc.", "testosterone": "testostérone", "theophylline": "théophylline",
    "thyroide": "thyroïde", "transferase": "transférase", "treponemique": "tréponémique",
    "triglycerides": "triglycérides", "ulcerations": "ulcérations", "uree": "urée",
    "uricemie": "uricémie", "urogenitales": "urogénitales", "valproique": "valproïque",
    "laproduction": "la production", "interferon": "interféron", "beta": "bêta",
    "fraichement": "fraîchement", "cholesterol": "cholestérol", "magnesium": "magnésium",
    "aminotransferase": "aminotransférase", "natriuretiques": "natriurétiques",
    "allergene": "allergène", "trophallergenes": "trophallergènes", "matieres": "matières",
    "sphere": "sphère", "expire": "expiré", "oncogenes": "oncogènes",
    "paracetamol": "paracétamol", "herpes": "herpès", "borreliose": "borréliose",
    "carbamazepine": "carbamazépine", "tegretol": "Tégrétol", "depakine": "Dépakine",
    "gardenal": "Gardénal", "sandimmun": "Sandimmun", "dihydan": "Dihydan",
    "quick": "Quick", "willebrand": "Willebrand", "leiden": "Leiden", "kell": "Kell",
    "coombs": "Coombs", "kleihauer": "Kleihauer", "lyme": "Lyme",
    "helicobacter": "Helicobacter", "chlamydia": "Chlamydia", "neisseria": "Neisseria",
    "citrullines": "citrullinés", "genique": "génique", "geniqu": "génique",
}
# Abbreviations of the source spelled out, and set phrases, on the lower-case short label.
PHRASES = [
    (r"\bb 12\b", "B12"),
    (r"^ur\. ?:?", "urines :"), (r"^ex\.? microbio\b", "examen microbiologique"),
    (r"^ex\. parasito\.", "examen parasitologique"), (r"\bautoac\b", "auto-anticorps"),
    (r"\bac\b", "anticorps"), (r"^m\. ", "maladie "), (r"\binf\. ", "infection "),
    (r"\bhorm\. ", "hormones "), (r"\bidentif\. ", "identification "),
    (r"\brech\. ", "recherche "), (r"\bplaq\.", "plaquettes"),
    (r"\bph\. alc\.", "PAL"), (r"\bl\.h\.", "LH"), (r"\bf\.s\.h\.", "FSH"),
    (r"\bh\.g\.p\.o\.", "HGPO"), (r"\bh\.p\.o\.", "HPO"), (r"\bt\.s\.h\.", "TSH"),
    (r"\bt([34]) l\b", r"T\1L"), (r"\b(infection|infection urogénitales|urogenitales) a\b",
                                      r"\1 à"),
    (r"\b(hepatite|proteine|facteur|vitamine|antihemophilique|ciclosporine|hemoglobine|"
     r"apolipoproteines?|kell) (a|b|c|d|e|f|i|s|v|viii|k|a1)\b",
     lambda m: f"{m.group(1)} {m.group(2).upper()}"),
    (r"\(d\)", "(D)"), (r"_ ", " : "), (r"\bmai nso\b", "MAI NSO"),
    (r"\b(\d+)-\(?oh\)?-", lambda m: m.group(0).replace("oh", "OH")),
    (r"\bspec\. ", "spécifique "), (r"\bmeth\. ", "méthode "),
]
# Abbreviations written in capitals (or in their usual case).
ABBREVIATIONS = {
    w: w.upper() for w in (
        "nfs nfp tsh crp inr psa hcg vih vhb vhc vha ldh ldl hdl ggt asat alat cpk tp tq tca "
        "avk adn afp acth anca bnp ccp cdt cmv ebv hpv hsv ige igg igm iga ecbu rai rpr vdrl "
        "vs tg tgo tgp pnn igra abo rh mni hbs hbc eal ace dha ft3 ft4 t3 t4 ca sd cd vca rc "
        "tt tebg anp atb if ifi iha eia mb g6pd cd4 cd8 cd3 aan pv vhs pdf pf4 gs d2 d3 e2 "
        "co2 k p tnt rstf hte hmg").split()
} | {"hba1c": "HbA1c", "probnp": "proBNP", "hba": "HbA", "ig": "Ig", "ige": "IgE",
     "igg": "IgG", "igm": "IgM", "iga": "IgA", "tf": "TF", "na": "Na", "cl": "Cl", "li": "Li",
     "cu": "Cu", "mg": "Mg"}
WORD = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)*\.?|[a-z0-9]+", re.IGNORECASE)


def _word(match: re.Match) -> str:
    word = match.group(0)
    lower = word.lower()
    if lower in ABBREVIATIONS:
        return ABBREVIATIONS[lower]
    bare = lower.rstrip(".")
    if bare in ABBREVIATIONS:
        return ABBREVIATIONS[bare] + ("." if lower.endswith(".") and bare != "t.s.h" else "")
    if bare in ACCENTS:
        return ACCENTS[bare] + lower[len(bare):] if not ACCENTS[bare].endswith(".") \
            else ACCENTS[bare]
    return word


def french_label(text: str) -> str:
    """The source's short label, in French as a person writes it."""
    text = " ".join((text or "").split()).lower()
    for pattern, replacement in PHRASES:
        text = re.sub(pattern, replacement, text)
    text = WORD.sub(_word, text)
    text = re.sub(r",(?=\S)", ", ", text)
    text = re.sub(r"\)\(", ") (", text)
    text = re.sub(r"(\w)\(", r"\1 (", text)
    text = re.sub(r"\s+([,)])", r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s*:\s*", " : ", text)
    text = re.sub(r"\s*\+\s*", " + ", text)
    return text[:1].upper() + text[1:]


OFFICIAL_SOURCE = ("NABM (CNAM), table IR_BIO_R du SNDS, version d'avril 2019 : "
                   "libellé officiel, sans accents, coupé à 100 caractères")


def fold(text: str) -> str:
    """Accents removed, case folded, dots dropped, spaces collapsed: what search compares."""
    decomposed = unicodedata.normalize("NFKD", (text or "").replace("œ", "oe").replace("Œ", "oe"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = bare.casefold().replace(".", "")
    return " ".join(re.sub(r"[^0-9a-zβ+-]+", " ", bare).split())


@functools.cache
def synonyms() -> dict[str, tuple[str, ...]]:
    """{code: (synonym, ...)} from data/synonyms.csv (documented there)."""
    with open(DATA_DIR / "synonyms.csv", encoding="utf-8", newline="") as fh:
        return {row["code"]: tuple(s.strip() for s in row["synonyms"].split(";") if s.strip())
                for row in csv.DictReader(fh)}


def matches(query: str, *texts: str) -> bool:
    """Every word of the query is in one of the texts, folded."""
    words = fold(query).split()
    haystack = fold(" ".join(texts))
    return bool(words) and all(w in haystack for w in words)
