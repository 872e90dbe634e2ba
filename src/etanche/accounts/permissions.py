"""What each role may do: the one place where authority is declared.

Views check a permission with `etanche.web.decorators.require_permission`;
objects are fetched with `get_object_for_user` (404 for another lab, 403 for
too little authority). Other apps add their permissions here, not in views.
"""

from enum import StrEnum

from etanche.accounts.models import Role


class Perm(StrEnum):
    # front office
    PATIENT_SEARCH = "patient.search"
    PATIENT_READ = "patient.read"
    PATIENT_WRITE = "patient.write"
    PATIENT_MERGE = "patient.merge"
    ORDER_READ = "order.read"
    ORDER_WRITE = "order.write"
    SPECIMEN_WRITE = "specimen.write"
    LABEL_PRINT = "label.print"
    # clinical
    CLINICAL_READ = "clinical.read"
    # exports (four eyes: the approver cannot be the requester, checked by exports)
    EXPORT_REQUEST = "export.request"
    EXPORT_APPROVE = "export.approve"
    EXPORT_DOWNLOAD = "export.download"
    IMPORT_RUN = "import.run"
    # administration
    USER_MANAGE = "user.manage"
    LAB_SETTINGS = "lab.settings"
    CATALOGUE_MANAGE = "catalogue.manage"
    KEYS_MANAGE = "keys.manage"
    # oversight
    SHARED_USE_READ = "shared_use.read"
    JOURNAL_READ = "journal.read"
    ACCESS_HISTORY_READ = "access_history.read"
    ALERT_READ = "alert.read"
    BREACH_MANAGE = "breach.manage"
    SUBJECT_REQUEST = "subject_request.manage"


_FRONT_OFFICE = {
    Perm.PATIENT_SEARCH, Perm.PATIENT_READ, Perm.PATIENT_WRITE,
    Perm.ORDER_READ, Perm.ORDER_WRITE, Perm.SPECIMEN_WRITE, Perm.LABEL_PRINT,
}

ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.FRONTDESK: frozenset(_FRONT_OFFICE),
    Role.BIOLOGIST: frozenset(
        _FRONT_OFFICE
        | {Perm.PATIENT_MERGE, Perm.CLINICAL_READ, Perm.EXPORT_REQUEST,
           Perm.EXPORT_APPROVE, Perm.EXPORT_DOWNLOAD}
    ),
    # The lab admin runs the lab but reads no patient record: separation of duties.
    Role.LABADMIN: frozenset(
        {Perm.USER_MANAGE, Perm.LAB_SETTINGS, Perm.CATALOGUE_MANAGE, Perm.KEYS_MANAGE,
         Perm.SHARED_USE_READ, Perm.EXPORT_REQUEST, Perm.EXPORT_APPROVE, Perm.IMPORT_RUN,
         Perm.ALERT_READ}
    ),
    # The DPO answers data-subject requests and investigates accesses, so finds and
    # reads patient records (each read journaled like anyone's); writes nothing.
    Role.DPO: frozenset(
        {Perm.PATIENT_SEARCH, Perm.PATIENT_READ,
         Perm.SHARED_USE_READ, Perm.JOURNAL_READ, Perm.ACCESS_HISTORY_READ, Perm.ALERT_READ,
         Perm.BREACH_MANAGE, Perm.SUBJECT_REQUEST, Perm.EXPORT_REQUEST,
         Perm.EXPORT_APPROVE, Perm.EXPORT_DOWNLOAD}
    ),
    # Read-only oversight (an inspector, a certification auditor): no personal data.
    Role.AUDITOR: frozenset({Perm.JOURNAL_READ, Perm.ALERT_READ}),
}


def role_has(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())


def has_permission(membership, perm: Perm) -> bool:
    """True if this active membership's role grants `perm`. None grants nothing."""
    return bool(membership and membership.is_active and role_has(membership.role, perm))
