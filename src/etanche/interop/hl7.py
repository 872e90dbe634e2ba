"""HL7 v2.5 messages, built and parsed with hl7apy and validated against the standard.

Messages are written as ER7 text from escaped values (cheap: this runs inside the
front office's transaction). Before one leaves, `validate` parses each segment with
hl7apy's strict validation (data types, lengths, tables it knows), places it in the
message's groups by name (hl7apy's own grouping of a parsed OML^O21 is greedy and
reads a second ORC as a prior result, so we never rely on it), and validates the
whole message against its 2.5 structure.

Nothing here logs or raises with a value: errors name segments and fields only.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message, parse_segment

VERSION = "2.5"
STRICT = VALIDATION_LEVEL.STRICT
SENDING_APPLICATION = "ETANCHE"
LOCAL_AUTHORITY = "ETANCHE"
CHARSET = "UNICODE UTF-8"
# Lengths of the 2.5 fields we fill with free text (OBR-13 ST 300; names: XPN components).
MAX_CLINICAL = 300
MAX_NAME = 50
_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))


class HL7Error(Exception):
    """A message that cannot be built or read; the text names parts, never values."""


def esc(value, limit: int | None = None) -> str:
    """A value as ER7 text: delimiters escaped, line breaks folded, cut at `limit`."""
    text = " ".join(str(value or "").split())
    if limit:
        text = text[:limit]
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


def ts(moment: datetime | None) -> str:
    """HL7 TS, local time to the second (what the lab's clocks show), or empty."""
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%Y%m%d%H%M%S")


def _segment(text: str):
    try:
        return parse_segment(text, version=VERSION, validation_level=STRICT)
    # hl7apy also raises ValueError and others, some quoting the value: only the type here.
    except (HL7apyException, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise HL7Error(f"segment {text[:3]} invalid: {type(exc).__name__}") from None


def _msh(*, facility_from, application_to, facility_to, moment, message_type, structure,
         control_id) -> str:
    code, trigger = message_type.split("^")
    return "|".join([
        "MSH", "^~\\&", SENDING_APPLICATION, esc(facility_from), esc(application_to),
        esc(facility_to), ts(moment), "", f"{code}^{trigger}^{structure}", control_id, "P",
        VERSION, "", "", "", "", "FRA", CHARSET,
    ])


def _finish(message: Message) -> str:
    try:
        message.validate()
    except (HL7apyException, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise HL7Error(f"{message.name} invalid: {type(exc).__name__}") from None
    return message.to_er7()


# --- people -------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    """What PID carries: the local id, INS traits, and the INS only when QUAL."""

    patient_id: int
    birth_name: str
    first_names: tuple[str, ...]
    birth_date: str  # ISO date
    sex: str  # M, F or ""
    used_name: str = ""
    used_first_name: str = ""
    ins: str = ""
    ins_oid: str = ""
    identity_status: str = "PROV"

    @classmethod
    def from_envelope(cls, patient_id: int, env: dict) -> "Person":
        return cls(patient_id=patient_id, birth_name=env.get("birth_name") or "",
                   first_names=tuple(env.get("first_names") or ()),
                   birth_date=env.get("birth_date") or "", sex=env.get("sex") or "",
                   used_name=env.get("used_name") or "",
                   used_first_name=env.get("used_first_name") or "",
                   ins=env.get("ins") or "", ins_oid=env.get("ins_oid") or "",
                   identity_status=env.get("identity_status") or "PROV")


def _pid(person: Person) -> str:
    ids = [f"{person.patient_id}^^^{LOCAL_AUTHORITY}^PI"]
    # INS rules: only a qualified identity may carry the INS in an exchange, with its OID.
    if person.identity_status == "QUAL" and person.ins and person.ins_oid:
        ids.append(f"{esc(person.ins)}^^^&{esc(person.ins_oid)}&ISO^INS")
    first = person.first_names[0] if person.first_names else ""
    others = " ".join(person.first_names[1:])
    names = [f"{esc(person.birth_name, MAX_NAME)}^{esc(first, MAX_NAME)}^"
             f"{esc(others, MAX_NAME)}^^^^L"]
    if person.used_name:
        names.append(f"{esc(person.used_name, MAX_NAME)}^"
                     f"{esc(person.used_first_name or first, MAX_NAME)}^^^^^D")
    sex = person.sex if person.sex in ("M", "F") else "U"
    fields = ["PID", "1", "", "~".join(ids), "", "~".join(names), "",
              person.birth_date.replace("-", ""), sex]
    fields += [""] * (32 - len(fields)) + [esc(person.identity_status)]
    return "|".join(fields)


# --- orders (IHE LTW LAB-1) ----------------------------------------------------------

NEW, CANCEL, CHANGE = "NW", "CA", "XO"


@dataclass(frozen=True)
class Tube:
    barcode: str
    container: str
    container_label: str
    kind: str
    kind_label: str
    sampled_at: datetime | None = None


@dataclass(frozen=True)
class Test:
    code: str
    label: str
    origin: str  # "nabm" or "local"
    tubes: tuple[Tube, ...] = ()


@dataclass(frozen=True)
class Request:
    number: str
    urgent: bool
    tests: tuple[Test, ...]
    clinical_info: str = ""
    entered_at: datetime | None = None
    sampled_at: datetime | None = None


@dataclass(frozen=True)
class Header:
    """Who sends to whom: the lab's FINESS, the destination's name and facility."""

    facility_from: str
    application_to: str
    facility_to: str
    control_id: str
    moment: datetime = field(default_factory=timezone.now)


def _header_segment(header: Header, message_type: str, structure: str) -> str:
    return _msh(facility_from=header.facility_from, application_to=header.application_to,
                facility_to=header.facility_to, moment=header.moment,
                message_type=message_type, structure=structure, control_id=header.control_id)


def order_message(header: Header, person: Person, request: Request, control: str, *,
                  clinical_info: bool) -> str:
    """OML^O21: one ORC/TQ1/OBR per test, an SPM per tube that test uses."""
    if control not in (NEW, CANCEL, CHANGE):
        raise HL7Error(f"unknown order control {control}")
    segments = [_header_segment(header, "OML^O21", "OML_O21"), _pid(person), "PV1|1|O"]
    number = f"{esc(request.number)}^{LOCAL_AUTHORITY}"
    priority = "S" if request.urgent else "R"
    clinical = esc(request.clinical_info, MAX_CLINICAL) if clinical_info else ""
    for rank, test in enumerate(request.tests, start=1):
        segments.append(f"ORC|{control}|{number}||{number}|||||{ts(request.entered_at)}")
        segments.append(f"TQ1|1||||||||{priority}")
        system = "NABM" if test.origin == "nabm" else "L"
        segments.append("|".join([
            "OBR", str(rank), number, "", f"{esc(test.code)}^{esc(test.label, 199)}^{system}",
            "", "", ts(request.sampled_at), "", "", "", "", "", clinical]))
        for tube_rank, tube in enumerate(test.tubes, start=1):
            fields = ["SPM", str(tube_rank), f"{esc(tube.barcode)}&{LOCAL_AUTHORITY}", "",
                      f"{esc(tube.kind)}^{esc(tube.kind_label)}^L"]
            fields += [""] * (17 - len(fields)) + [ts(tube.sampled_at)]
            fields += [""] * (27 - len(fields)) + [
                f"{esc(tube.container)}^{esc(tube.container_label)}^L"]
            segments.append("|".join(fields))
    return "\r".join(segments)


# --- patients (IHE PAM, French extension) ---------------------------------------------

CREATE, UPDATE, MERGE = "A28", "A31", "A40"


def patient_message(header: Header, person: Person, event: str) -> str:
    """ADT^A28 (created) or ADT^A31 (updated), structure ADT_A05."""
    if event not in (CREATE, UPDATE):
        raise HL7Error(f"unknown patient event {event}")
    return "\r".join([_header_segment(header, f"ADT^{event}", "ADT_A05"),
                      f"EVN|{event}|{ts(header.moment)}", _pid(person), "PV1|1|N"])


def merge_message(header: Header, survivor: Person, merged_id: int) -> str:
    """ADT^A40 (structure ADT_A39): `merged_id` now is `survivor`."""
    return "\r".join([_header_segment(header, f"ADT^{MERGE}", "ADT_A39"),
                      f"EVN|{MERGE}|{ts(header.moment)}", _pid(survivor),
                      f"MRG|{int(merged_id)}^^^{LOCAL_AUTHORITY}^PI"])


# --- validation against the 2.5 structures --------------------------------------------

# Where each segment of the messages we build sits in its 2.5 structure: the group a
# segment opens (None: the message itself), by structure. hl7apy 1.3.5 spells the 2.5
# group TIMING of OML_O21 "TIIMING".
_OML_GROUPS = {"PID": ("OML_O21_PATIENT",), "PV1": ("OML_O21_PATIENT",
                                                     "OML_O21_PATIENT_VISIT"),
               "ORC": ("OML_O21_ORDER",), "TQ1": ("OML_O21_ORDER", "OML_O21_TIIMING"),
               "OBR": ("OML_O21_ORDER", "OML_O21_OBSERVATION_REQUEST"),
               "SPM": ("OML_O21_ORDER", "OML_O21_OBSERVATION_REQUEST", "OML_O21_SPECIMEN")}
_LAYOUTS = {
    "OML_O21": _OML_GROUPS,
    "ADT_A05": {},
    "ADT_A39": {"PID": ("ADT_A39_PATIENT",), "MRG": ("ADT_A39_PATIENT",)},
    "ACK": {},
}
# Segments that open a new instance of their (innermost) group each time they appear.
_OPENERS = {"PID", "ORC", "TQ1", "OBR", "SPM", "PV1"}


def validate(er7: str) -> None:
    """Parse each segment strictly and place it in its group, then validate the message
    against its 2.5 structure; HL7Error naming the segment (never a value) if it fails.
    Done by the sender before a message leaves: hl7apy costs tens of milliseconds a
    message, too much to spend inside the front office's transaction."""
    texts = [t for t in er7.split("\r") if t]
    head = texts[0].split("|") if texts else []
    structure = head[8].split("^")[2] if len(head) > 8 and head[8].count("^") >= 2 else ""
    layout = _LAYOUTS.get(structure)
    if layout is None:
        raise HL7Error(f"structure {esc(structure, 10) or 'absente'} inconnue")
    message = Message(structure, version=VERSION, validation_level=STRICT)
    message.msh = _segment(texts[0])
    opened: dict[tuple, object] = {}
    for text in texts[1:]:
        name = text[:3]
        path = layout.get(name, ())
        parent = message
        for depth in range(len(path)):
            key = path[: depth + 1]
            fresh = depth == len(path) - 1 and name in _OPENERS
            if fresh or key not in opened:
                opened = {k: v for k, v in opened.items() if k[: depth + 1] != key}
                try:
                    opened[key] = parent.add_group(path[depth])
                except (HL7apyException, ValueError) as exc:
                    raise HL7Error(f"segment {esc(name, 3)} hors structure: "
                                   f"{type(exc).__name__}") from None
            parent = opened[key]
        parent.add(_segment(text))
    _finish(message)


# --- inbound ------------------------------------------------------------------------

ACCEPT_CODES = {"AA", "CA"}  # application accept; commit accept (enhanced mode)
ERROR_CODES = {"AE", "CE"}
REJECT_CODES = {"AR", "CR"}

# What the filler says (ORC-1 order control, ORC-5 order status, HL7 tables 0119, 0038).
FILLER_STATUSES = {"A": "results", "CM": "results", "IP": "in_progress", "SC": "in_progress"}


@dataclass
class Update:
    number: str  # the placer order number, our request number
    status: str  # interop.models.FillerStatus value


@dataclass
class Answer:
    """What a receiver answered: MSA-1, MSA-2, the ERR code, status updates (ORL^O22)."""

    code: str
    control_id: str
    error: str = ""
    updates: list[Update] = field(default_factory=list)


def _value(element) -> str:
    try:
        return element.to_er7() if element is not None else ""
    except (HL7apyException, AttributeError):
        return ""


def _segments(er7: str):
    try:
        # Tolerant: a peer's harmless deviations (a missing MSH-9.3) must not refuse an
        # acknowledgement; what we need from it is checked below, field by field.
        message = parse_message(er7.replace("\n", "\r").strip(), find_groups=False,
                                validation_level=VALIDATION_LEVEL.TOLERANT)
    except (HL7apyException, ValueError, AttributeError, IndexError, KeyError) as exc:
        raise HL7Error(f"unreadable message: {type(exc).__name__}") from None
    return message, list(message.children)


def _field(segment, number: int, component: int | None = None) -> str:
    text = _value(getattr(segment, f"{segment.name.lower()}_{number}", None))
    if component is not None:
        parts = text.split("^")
        text = parts[component - 1] if len(parts) >= component else ""
    return text


def _order_updates(segments) -> list[Update]:
    updates = []
    for segment in segments:
        if segment.name != "ORC":
            continue
        control, number = _field(segment, 1), _field(segment, 2, 1)
        status = FILLER_STATUSES.get(_field(segment, 5))
        if status is None and control == "OK":
            status = "accepted"
        if number and status:
            updates.append(Update(number, status))
    return updates


def read_answer(er7: str) -> Answer:
    """An ACK or an ORL^O22 as an Answer; HL7Error if it is not one."""
    message, segments = _segments(er7)
    kind = _field(segments[0], 9, 1) if segments and segments[0].name == "MSH" else ""
    if kind not in ("ACK", "ORL"):
        raise HL7Error(f"not an acknowledgement: {kind or 'no MSH'}")
    msa = next((s for s in segments if s.name == "MSA"), None)
    if msa is None:
        raise HL7Error("acknowledgement without MSA")
    code, control = _field(msa, 1), _field(msa, 2)
    if code not in ACCEPT_CODES | ERROR_CODES | REJECT_CODES or not control:
        raise HL7Error("acknowledgement with an unknown MSA-1 or no MSA-2")
    err = next((s for s in segments if s.name == "ERR"), None)
    error = _field(err, 3, 1) if err is not None else ""
    return Answer(code, control, esc(error, 20),
                  _order_updates(segments) if kind == "ORL" else [])


@dataclass
class Inbound:
    """An unsolicited message from the filler: its control id and status updates."""

    control_id: str
    message_type: str
    updates: list[Update]


def read_status_message(er7: str) -> Inbound:
    """An OML^O21 (ORC-1 SC) or ORL^O22 the filler sends on its own."""
    message, segments = _segments(er7)
    if not segments or segments[0].name != "MSH":
        raise HL7Error("no MSH")
    kind = f"{_field(segments[0], 9, 1)}^{_field(segments[0], 9, 2)}"
    if kind not in ("OML^O21", "ORL^O22"):
        raise HL7Error(f"unexpected message type {esc(kind, 16)}")
    return Inbound(_field(segments[0], 10), kind, _order_updates(segments))


def ack(control_id: str, code: str, *, facility: str = "", error: str = "") -> str:
    """Our ACK of a message received (original mode)."""
    message = Message("ACK", version=VERSION, validation_level=STRICT)
    message.msh = _segment(_msh(facility_from=facility, application_to="", facility_to="",
                                moment=timezone.now(), message_type="ACK^O21",
                                structure="ACK", control_id=f"A{control_id}"[:20]))
    message.add(_segment(f"MSA|{code}|{esc(control_id, 20)}"))
    if error:
        message.add(_segment(f"ERR|||{esc(error, 20)}|E"))
    return _finish(message)
