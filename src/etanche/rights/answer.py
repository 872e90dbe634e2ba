"""The answer to an access or portability request: a French PDF and a FHIR R4 Bundle.

The PDF says what the lab holds on the person (identity, coverage, every request
with its tests, tubes and dates) and who accessed the record, when and why, from
the journal: staff named by role and initials unless the lab chose full names
(RightsSettings). The Bundle (type `collection`) carries the same records through
the one FHIR mapping of Étanche (exports/fhir_ndjson.py, subject-access profile:
every field, no canary). Both are built in memory and leave only encrypted
(services.deliver).
"""

import io
import json
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from etanche.accounts.models import Membership, Role, User
from etanche.exports import fhir_ndjson, profiles, records
from etanche.journal.models import Action
from etanche.journal.queries import access_history
from etanche.orders import services as orders

PROFILE = profiles.get("subject-access")
DOCUMENTS = {"cni": "carte nationale d'identité", "passeport": "passeport",
             "titre_sejour": "titre de séjour"}
STATUS_LABELS = {"PROV": "provisoire", "VALI": "validée", "RECUP": "récupérée",
                 "QUAL": "qualifiée"}


def gather(lab, patient_id: int, merged_ids: list[int], envelope: dict) -> dict:
    """The person's records in the export form (exports/records.py), with the
    requests of the records merged into theirs."""
    ids = [patient_id, *merged_ids]
    found = orders.requests_of_patients(lab, ids, sealed=True, specimens=True)
    requests = [o for pid in ids for o in found.get(pid, [])]
    requests.sort(key=lambda o: (o["created_at"], o["pk"]))
    return {"patient": records.patient_record(PROFILE, patient_id, envelope, None),
            "requests": [records.request_record(PROFILE, o) for o in requests]}


def bundle(record: dict, *, now: datetime | None = None) -> dict:
    """A FHIR R4 Bundle of type collection holding every resource of the record."""
    resources = fhir_ndjson.resources(record, PROFILE)
    stamp = (now or timezone.now()).astimezone(UTC).isoformat(timespec="seconds")
    return {"resourceType": "Bundle", "type": "collection", "timestamp": stamp,
            "entry": [{"fullUrl": f"urn:etanche:{r['resourceType']}/{r['id']}", "resource": r}
                      for r in resources]}


def _initials(user: User) -> str:
    parts = [p for p in (user.first_name, user.last_name) if p]
    return "".join(f"{p[0].upper()}." for p in parts) or "?"


def staff_names(lab, user_ids, *, full_names: bool) -> dict[int, str]:
    """user id -> "Biologiste S. B." (or the full name when the lab chose it)."""
    roles = dict(Membership.objects.filter(lab=lab, user_id__in=user_ids)
                 .values_list("user_id", "role"))
    names = {}
    for user in User.objects.filter(pk__in=user_ids):
        role = Role(roles[user.pk]).label if user.pk in roles else "Personne extérieure"
        who = f"{user.first_name} {user.last_name}".strip() if full_names else _initials(user)
        names[user.pk] = f"{role} {who}".strip()
    return names


def accesses(lab, patient_id: int, merged_ids: list[int], *, full_names: bool) -> list[tuple]:
    """(moment, who, what, why) of every journal entry about the record, oldest first."""
    entries = list(access_history(lab, patient_id, merged_ids))[::-1]
    names = staff_names(lab, {e.user_id for e in entries if e.user_id}, full_names=full_names)
    labels = dict(Action.choices)
    out = []
    for entry in entries:
        moment = timezone.localtime(datetime.fromtimestamp(entry.at_us / 1e6, tz=UTC))
        who = names.get(entry.user_id, "Système (tâche automatique ou ligne de commande)")
        out.append((moment, who, labels.get(entry.action, entry.action), entry.purpose or "—"))
    return out


def _p(text, style):
    return Paragraph(escape(str(text)), style)


def pdf(lab, record: dict, envelope: dict, history: list[tuple], *, request_id: int,
        now: datetime | None = None) -> bytes:
    """The French answer letter (PDF)."""
    now = timezone.localtime(now or timezone.now())
    styles = getSampleStyleSheet()
    body, h1, h2 = styles["BodyText"], styles["Title"], styles["Heading2"]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm,
                            title="Réponse à votre demande d'accès",
                            author=lab.name)
    story = [_p("Réponse à votre demande d'accès à vos données personnelles", h1),
             _p(f"{lab.name} (FINESS {lab.finess}), le {now:%d/%m/%Y}. Demande n° {request_id}.",
                body),
             _p("Conformément aux articles 15 et 20 du Règlement général sur la protection des "
                "données, voici toutes les données que le laboratoire détient sur vous, et "
                "l'historique des accès à votre dossier. Un fichier joint (FHIR R4, format "
                "JSON) contient les mêmes données dans un format lisible par un autre logiciel.",
                body), Spacer(1, 0.4 * cm)]
    e = envelope
    first = " ".join(e.get("first_names") or [])
    doc_check = e.get("id_document") or {}
    identity = [
        ("Nom de naissance", e.get("birth_name")), ("Prénoms de naissance", first),
        ("Nom utilisé", e.get("used_name")), ("Prénom utilisé", e.get("used_first_name")),
        ("Date de naissance", e.get("birth_date")), ("Sexe", e.get("sex")),
        ("Lieu de naissance", f"{e.get('birthplace_label') or ''} ({e.get('birthplace_code')})"),
        ("INS (NIR ou NIA)", e.get("ins")),
        ("Statut de l'identité", STATUS_LABELS.get(e.get("identity_status"), "")),
        ("Pièce d'identité contrôlée",
         f"{DOCUMENTS.get(doc_check.get('kind'), '')} le {doc_check.get('checked_on')}"
         if doc_check else ""),
        ("Adresse", " ".join(x for x in (e.get("street"), e.get("postal_code"), e.get("city"))
                             if x)),
        ("Téléphones", ", ".join(e.get("phones") or [])), ("Courriel", e.get("email")),
        ("Groupe sanguin", e.get("blood_group")), ("Note", e.get("notes")),
    ]
    coverage = [
        ("Assurance maladie obligatoire",
         " / ".join(x for x in (e.get("amo_regime"), e.get("amo_fund"), e.get("amo_centre"))
                    if x)),
        ("NIR de l'assuré", e.get("insured_nir")),
        ("Complémentaire", " ".join(x for x in (e.get("amc_insurer"), e.get("amc_contract"))
                                    if x)),
        ("Médecin traitant", " ".join(x for x in (e.get("physician_name"),
                                                  e.get("physician_rpps")) if x)),
    ]
    for title, rows in (("Identité et contact", identity), ("Couverture et médecin", coverage)):
        story += [_p(title, h2), _table([(k, v or "—") for k, v in rows], body)]
    story.append(_p("Vos demandes d'analyses", h2))
    if not record["requests"]:
        story.append(_p("Aucune demande d'analyses.", body))
    for r in record["requests"]:
        tests = ", ".join(f"{c} {lbl}" for c, lbl in zip(r.get("test_codes", []),
                                                         r.get("test_labels", []), strict=False))
        tubes = "; ".join(
            f"{s.get('specimen_barcode')} prélevé le {s.get('specimen_sampled_at') or '—'}, "
            f"reçu le {s.get('specimen_received_at') or '—'}" for s in r.get("specimens", []))
        story.append(_table([
            ("Demande", f"n° {r.get('request_number')} du {r.get('request_date')}"),
            ("Analyses", tests or "—"), ("Prescripteur", r.get("prescriber_name") or "—"),
            ("Renseignements cliniques", r.get("clinical_info") or "—"),
            ("Tubes", tubes or "—")], body))
        story.append(Spacer(1, 0.2 * cm))
    story += [_p("Qui a consulté ou modifié votre dossier", h2),
              _p("Chaque accès est inscrit dans un journal infalsifiable : date, personne "
                 "(fonction et initiales), action et motif.", body)]
    rows = [("Date", "Personne", "Action", "Motif")] + [
        (f"{m:%d/%m/%Y %H:%M}", who, what, why) for m, who, what, why in history]
    story.append(_table(rows, body, header=True))
    story += [Spacer(1, 0.4 * cm),
              _p("Vous pouvez demander la rectification de données inexactes (art. 16) ; "
                 "pour toute question, contactez le délégué à la protection des données du "
                 "laboratoire. Vous pouvez aussi saisir la CNIL (www.cnil.fr).", body)]
    doc.build(story)
    return out.getvalue()


def _table(rows, style, *, header=False):
    data = [[_p(c, style) for c in row] for row in rows]
    widths = [4.5 * cm, 12.5 * cm] if len(rows[0]) == 2 else [3 * cm, 5 * cm, 4 * cm, 5 * cm]
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def bundle_bytes(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
