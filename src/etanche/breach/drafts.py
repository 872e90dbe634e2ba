"""Drafts, in French, from a breach case: the CNIL notification and the art. 34 letters.

Nothing is sent: the DPO reviews, completes and sends.

- `cnil_text(case)` / `cnil_notification(case, user)`: the notification (art. 33(3) GDPR),
  laid out in the sections of the CNIL's online notification service as its guidance lists
  them (cnil.fr, "Notifier une violation de données personnelles"): the organisation and
  the DPO's contact, the kind of notification (complete, or initial with a complement to
  follow, art. 33(4)), the nature of the breach (dates: start if known, awareness; how it was
  found; confidentiality, integrity, availability), the categories and approximate numbers
  of people and of records, the categories of data, the likely consequences, the measures
  taken and proposed, whether the people are or will be informed, and the reason of any
  delay past 72 hours. Text and PDF; it holds counts and categories, no person.
- `write_letters(case, user, recipient, path)`: one plain-language letter per affected
  patient (art. 34(2): the nature of the breach, the DPO's contact, the likely consequences,
  the measures), as one PDF held in memory and written only encrypted to the DPO's age key
  (the letters carry names and addresses; breach/letters.py lays them out). The affected
  patients' records are unsealed for this, and only theirs.
"""

import io
from datetime import datetime
from xml.sax.saxutils import escape

from django.db import transaction
from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate

from etanche.breach import letters
from etanche.breach.models import OBJECT_TYPE, BreachCase
from etanche.breach.services import case_summary
from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.vault import age

MISSING = "[à compléter par le DPO]"


class DraftError(ValueError):
    """A refusal with a French message."""


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y à %H:%M")


def _or_missing(text: str) -> str:
    return text.strip() or MISSING


def cnil_sections(case: BreachCase, now: datetime | None = None) -> list[tuple[str, list[str]]]:
    summary = case_summary(case, now)
    sealed = summary["sealed"]
    severity = summary["severity"]
    lab = case.lab
    complete = all(sealed.get(k, "").strip() for k in ("nature", "consequences",
                                                       "measures_taken", "dpo_contact"))
    late = (now or timezone.now()) > case.deadline
    origin = []
    for canary in summary["export_canaries"]:
        export = canary["export"]
        origin.append(f"Le fichier contient le témoin (« canari ») de l'export n° "
                      f"{export['id']} ({export.get('profile', 'profil inconnu')}, demandé "
                      f"le {export.get('requested_at', '?')[:10]}, destinataire "
                      f"{export.get('recipient', '?')}).")
    # One sentence for the lab's own honeypots, however many the file holds.
    in_lab = summary["lab_canaries"]
    if in_lab:
        witnesses = "un témoin" if in_lab == 1 else f"{in_lab} témoins"
        origin.append(f"Le fichier contient {witnesses} de la base du laboratoire : il "
                      "provient de la base elle-même, non d'un export.")
    for export in summary["exports"]:
        origin.append(f"{export['matched_inside']:.0%} des patients retrouvés figuraient dans "
                      f"l'export n° {export['export']} ; {export['export_in_file']:.0%} de cet "
                      "export se trouve dans le fichier.")
    categories = [f"{label} : {count} enregistrement(s)" for label, count
                  in summary["categories"]] or [MISSING]
    return [
        ("1. Organisme et contact", [
            f"Responsable du traitement : {lab.name}.",
            f"Délégué à la protection des données (contact) : {_or_missing(sealed['dpo_contact'])}",
        ]),
        ("2. Type de notification", [
            "Notification complète." if complete else
            "Notification initiale ; une notification complémentaire suivra (art. 33(4) RGPD).",
            *(["Motif du retard au-delà de 72 heures : " + MISSING] if late else []),
        ]),
        ("3. Nature de la violation", [
            f"Date et heure de prise de connaissance : {_when(case.aware_at)}.",
            f"Échéance de notification (72 heures) : {_when(case.deadline)}.",
            f"Description : {_or_missing(sealed['nature'])}",
            "Type : perte de confidentialité (fichier de données personnelles trouvé hors du "
            "laboratoire).",
            *origin,
        ]),
        ("4. Personnes concernées", [
            "Catégorie de personnes : patients du laboratoire de biologie médicale.",
            f"Nombre approximatif de personnes concernées : {summary['patients']} (patients "
            "du laboratoire retrouvés dans le fichier par rapprochement).",
            f"Nombre approximatif d'enregistrements concernés : {summary['records']} "
            f"(lignes analysées, {len(summary['scans'])} analyse(s)).",
        ]),
        ("5. Catégories de données", [*categories,
                                      "Le fait d'être patient d'un laboratoire de biologie "
                                      "médicale est en soi une donnée de santé."]),
        ("6. Conséquences probables", [
            _or_missing(sealed["consequences"]),
            f"Gravité évaluée selon la méthode ENISA (2013) : {severity['score']} "
            f"({severity['level_fr']}) = DPC {severity['dpc']['score']} "
            f"({severity['dpc']['why']}) x EI {severity['ei']['score']} "
            f"({severity['ei']['why']}) + CB {severity['cb']['score']} "
            f"({severity['cb']['why']}).",
        ]),
        ("7. Mesures prises et envisagées", [
            "Mesures prises : " + _or_missing(sealed["measures_taken"]),
            "Mesures envisagées : " + _or_missing(sealed["measures_proposed"]),
        ]),
        ("8. Information des personnes concernées", [
            _or_missing(sealed["people_informed"]),
            f"Lettres individuelles préparées (art. 34 RGPD) : {summary['patients']}.",
        ]),
    ]


def cnil_text(case: BreachCase, now: datetime | None = None) -> str:
    lines = [f"BROUILLON — Notification de violation de données à la CNIL (dossier "
             f"{case.pk})", ""]
    for title, paragraphs in cnil_sections(case, now):
        lines += [title, *(f"  {p}" for p in paragraphs), ""]
    lines.append("Brouillon généré par Étanche : à relire et compléter avant envoi par le "
                 "téléservice de la CNIL.")
    return "\n".join(lines) + "\n"


def _pdf(story_parts: list, title: str) -> bytes:
    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                                 topMargin=20 * mm, bottomMargin=20 * mm, title=title,
                                 author="Étanche")
    document.build(story_parts)
    return out.getvalue()


def cnil_pdf(case: BreachCase, now: datetime | None = None) -> bytes:
    styles = getSampleStyleSheet()
    story = [Paragraph(escape(f"Brouillon — notification de violation à la CNIL "
                              f"(dossier {case.pk})"), styles["Title"])]
    for title, paragraphs in cnil_sections(case, now):
        story.append(Paragraph(escape(title), styles["Heading2"]))
        story += [Paragraph(escape(p), styles["BodyText"]) for p in paragraphs]
    return _pdf(story, "Notification CNIL")


def cnil_notification(case: BreachCase, user, *, via: str = "web") -> tuple[str, bytes]:
    """(text, PDF) of the notification; journaled."""
    text, pdf = cnil_text(case), cnil_pdf(case)
    with transaction.atomic():
        journal(lab=case.lab, user=user, action=Action.BREACH_DRAFT, object_type=OBJECT_TYPE,
                object_id=case.pk, detail={"draft": "cnil", "via": via})
    return text, pdf


def letters_pdf(case: BreachCase) -> tuple[bytes, int]:
    sealed = case.get_sealed()
    if not sealed["patient_ids"]:
        raise DraftError("Aucun patient concerné dans ce dossier : pas de lettre à préparer.")
    return letters.letters_pdf(case, sealed)


def write_letters(case: BreachCase, user, recipient: str, path, *, via: str = "web") -> int:
    """Write the letters, encrypted to `recipient` (age1...), to `path`; how many."""
    try:
        recipient = age.parse_recipient(recipient)
    except age.BadRecipient:
        raise DraftError("Clé publique age du DPO invalide (age1...).") from None
    data = encrypted_letters(case, user, recipient, via=via)
    with open(path, "xb") as handle:
        handle.write(data[0])
    return data[1]


def encrypted_letters(case: BreachCase, user, recipient: str, *,
                      via: str = "web") -> tuple[bytes, int]:
    """(age ciphertext of the letters PDF, number of letters); journaled."""
    try:
        recipient = age.parse_recipient(recipient)
    except age.BadRecipient:
        raise DraftError("Clé publique age du DPO invalide (age1...).") from None
    pdf, count = letters_pdf(case)
    ciphertext = age.encrypt_to(pdf, [recipient])
    del pdf
    with transaction.atomic():
        journal(lab=case.lab, user=user, action=Action.BREACH_DRAFT, object_type=OBJECT_TYPE,
                object_id=case.pk, detail={"draft": "letters", "letters": count, "via": via})
    return ciphertext, count
