"""The art. 34 letters of a breach case: one page a patient, in one PDF, in bounded time.

A case may name hundreds of thousands of people (the 2021 file held 491,840). Laid out as
platypus flowables, a letter cost about 5 ms and 18 KB of memory until the document was
built: 40 minutes and 8 GB for such a case. Every letter of a case says the same but for
its first lines (name and address), so the common text is wrapped once per case and each
letter only draws lines on a canvas page; the affected records are read and unsealed a
batch at a time. The PDF itself (about 1 KB a page) stays in memory, never on disk: the
caller encrypts it to the DPO (drafts.encrypted_letters).
"""

import io
from collections.abc import Iterator
from datetime import datetime

from django.db.models import F
from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from etanche.lib.lookups import AnyOf
from etanche.patients.models import Patient
from etanche.patients.search import open_values

MISSING = "[à compléter par le DPO]"
FONT, SIZE, LEADING = "Helvetica", 10, 13
MARGIN = 20 * mm
WIDTH = A4[0] - 2 * MARGIN
READ_BATCH = 2000


def _or_missing(text: str) -> str:
    return text.strip() if text and text.strip() else MISSING


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y à %H:%M")


def body(lab_name: str, sealed: dict, aware_at: datetime) -> list[str]:
    """The paragraphs every letter of the case shares, after its greeting."""
    return [
        f"Le {_when(aware_at)}, {lab_name} a appris que des données personnelles de "
        "patients ont été divulguées. Vos données font partie de ce fichier.",
        "Ce qui s'est passé : " + _or_missing(sealed["nature"]),
        "Ce que cela peut entraîner pour vous : " + _or_missing(sealed["consequences"]),
        "Ce que nous avons fait : " + _or_missing(sealed["measures_taken"]),
        "Ce que nous vous conseillons : méfiez-vous des appels, courriels ou SMS qui "
        "citeraient vos données de santé ou votre numéro de sécurité sociale ; ne donnez "
        "jamais vos codes ou coordonnées bancaires.",
        "Pour toute question, vous pouvez joindre notre délégué à la protection des données : "
        + _or_missing(sealed["dpo_contact"]) + ". Vous pouvez aussi adresser une réclamation "
        "à la CNIL (www.cnil.fr).",
        "Nous vous prions de nous excuser pour cet incident.",
    ]


# The record's sex (M, F; U or absent when unknown) chooses the form of address.
SALUTATIONS = {"F": "Madame,", "M": "Monsieur,"}


def heading(env: dict) -> tuple[list[str], str]:
    """(the address block, the greeting) of one patient's letter."""
    first = (env.get("first_names") or [""])[0]
    name = f"{first} {env.get('used_name') or env.get('birth_name', '')}".strip()
    town = f"{env.get('postal_code') or ''} {env.get('city') or ''}".strip()
    return [line for line in (name, env.get("street") or "", town) if line], \
        SALUTATIONS.get(env.get("sex") or "", "Madame, Monsieur,")


def _wrap(text: str) -> list[str]:
    return simpleSplit(text, FONT, SIZE, WIDTH) or [""]


class _Page:
    """Lines down a page, onto a new one when it is full (a long address or text)."""

    def __init__(self, canvas: Canvas):
        self.canvas = canvas
        self.y = A4[1] - MARGIN

    def lines(self, lines: list[str], after: float = 0) -> None:
        for line in lines:
            if self.y < MARGIN:
                self.canvas.showPage()
                self.canvas.setFont(FONT, SIZE)
                self.y = A4[1] - MARGIN
            self.canvas.drawString(MARGIN, self.y, line)
            self.y -= LEADING
        self.y -= after


def _envelopes(lab_id: int, ids: list[int]) -> Iterator[dict]:
    for start in range(0, len(ids), READ_BATCH):
        rows = Patient.objects.for_lab(lab_id).filter(
            AnyOf(F("pk"), ids[start:start + READ_BATCH])).order_by("pk")
        for _pk, env in open_values(rows.values_list(*Patient.opening_columns())):
            yield env


def letters_pdf(case, sealed: dict) -> tuple[bytes, int]:
    """(the PDF, the number of letters): one letter a patient of `sealed["patient_ids"]`."""
    common = [_wrap(p) for p in body(case.lab.name, sealed, case.aware_at)]
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    canvas.setTitle("Lettres art. 34")
    canvas.setAuthor("Étanche")
    count = 0
    for env in _envelopes(case.lab_id, sorted(sealed["patient_ids"])):
        canvas.setFont(FONT, SIZE)
        page = _Page(canvas)
        address, greeting = heading(env)
        page.lines([w for line in address for w in _wrap(line)], after=10 * mm)
        page.lines(_wrap(greeting), after=LEADING / 2)
        for paragraph in common:
            page.lines(paragraph, after=LEADING / 2)
        canvas.showPage()
        count += 1
    canvas.save()
    return out.getvalue(), count
