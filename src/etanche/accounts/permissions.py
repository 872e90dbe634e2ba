"""What each role may do: the one place where authority is declared.

Each permission is checked once per entry point: web views by
`etanche.web.decorators.require_permission` (objects then fetched through
etanche.web.access: 404 for another lab, 403 for too little authority), CLI
commands acting as a named member by `etanche.ops.authority.acting_member`.
Services below trust the membership their caller checked. Every permission
here is used by some entry point (tests/accounts/test_permissions.py): a
feature adds its permission with the view or command that checks it.
"""

from enum import StrEnum

from etanche.accounts.models import Role


class Perm(StrEnum):
    # front office
    PATIENT_SEARCH = "patient.search"
    PATIENT_READ = "patient.read"
    PATIENT_WRITE = "patient.write"
    # merging two records of one person (and undoing it): a biologist's decision
    PATIENT_MERGE = "patient.merge"
    ORDER_READ = "order.read"
    ORDER_WRITE = "order.write"
    SPECIMEN_WRITE = "specimen.write"
    LABEL_PRINT = "label.print"
    # clinical
    CLINICAL_READ = "clinical.read"
    # exports (four eyes: exports.services.check_four_eyes, the one place it is written)
    EXPORT_REQUEST = "export.request"
    EXPORT_APPROVE = "export.approve"
    EXPORT_DOWNLOAD = "export.download"
    # administration
    USER_MANAGE = "user.manage"
    CATALOGUE_MANAGE = "catalogue.manage"
    IMPORT_RUN = "import.run"  # take in a previous software's patients and requests
    INTEROP_MANAGE = "interop.manage"  # the HL7 outbox page: parked messages, resend
    # oversight
    SHARED_USE_READ = "shared_use.read"
    JOURNAL_READ = "journal.read"
    ACCESS_HISTORY_READ = "access_history.read"
    # data-subject requests (GDPR art. 15-21): record, answer (the DPO)
    SUBJECT_REQUEST = "subject_request.manage"
    # the lab's retention periods of patient records (docs/retention.md)
    RETENTION_MANAGE = "retention.manage"
    # the self-audit of the installation: its last run (lab admin and DPO)
    AUDIT_READ = "audit.read"
    # watch (issue 17): alerts and their triage, the lab's watch settings, break-the-glass
    ALERT_READ = "alert.read"
    ALERT_TRIAGE = "alert.triage"
    WATCH_MANAGE = "watch.manage"
    BREAK_GLASS = "break_glass.use"
    # breach response (GDPR art. 33-34): scan a leaked file, keep the case, draft notices
    BREACH_MANAGE = "breach.manage"


_FRONT_OFFICE = {
    Perm.PATIENT_SEARCH, Perm.PATIENT_READ, Perm.PATIENT_WRITE,
    Perm.ORDER_READ, Perm.ORDER_WRITE, Perm.SPECIMEN_WRITE, Perm.LABEL_PRINT,
}

ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    # Break-the-glass: opening, for a stated reason and a limited time, what the role does
    # not normally open (clinical information of a request); journaled, alerted to the DPO.
    Role.FRONTDESK: frozenset(_FRONT_OFFICE | {Perm.BREAK_GLASS}),
    Role.BIOLOGIST: frozenset(
        _FRONT_OFFICE
        | {Perm.CLINICAL_READ, Perm.EXPORT_REQUEST, Perm.EXPORT_APPROVE, Perm.EXPORT_DOWNLOAD,
           Perm.PATIENT_MERGE}
    ),
    # The lab admin runs the lab but reads no patient record: separation of duties.
    Role.LABADMIN: frozenset(
        {Perm.USER_MANAGE, Perm.CATALOGUE_MANAGE, Perm.WATCH_MANAGE,
         Perm.INTEROP_MANAGE, Perm.SHARED_USE_READ,
         Perm.EXPORT_REQUEST,
         Perm.EXPORT_APPROVE, Perm.IMPORT_RUN, Perm.AUDIT_READ,
         Perm.RETENTION_MANAGE}
    ),
    # The DPO answers data-subject requests and investigates accesses, so finds and
    # reads patient records (each read journaled like anyone's); writes nothing.
    Role.DPO: frozenset(
        {Perm.PATIENT_SEARCH, Perm.PATIENT_READ, Perm.ALERT_READ, Perm.ALERT_TRIAGE,
         Perm.BREAK_GLASS, Perm.SHARED_USE_READ, Perm.JOURNAL_READ, Perm.ACCESS_HISTORY_READ,
         Perm.EXPORT_REQUEST, Perm.EXPORT_APPROVE, Perm.EXPORT_DOWNLOAD, Perm.BREACH_MANAGE,
         Perm.SUBJECT_REQUEST, Perm.AUDIT_READ}
    ),
    # Read-only oversight (an inspector, a certification auditor): no personal data.
    Role.AUDITOR: frozenset({Perm.JOURNAL_READ}),
}


def role_has(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())


def has_permission(membership, perm: Perm) -> bool:
    """True if this active membership's role grants `perm`. None grants nothing."""
    return bool(membership and membership.is_active and role_has(membership.role, perm))
