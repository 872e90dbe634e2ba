"""Every URL of the web surface, in one table.

URL names are unique across the project: tests/web/views.py keys its checklist
on them, and a URL that no test classifies fails the build.
"""

from django.urls import include, path

from etanche.web import (
    account,
    activation,
    alerts,
    audit,
    birthplaces,
    breach,
    exports,
    home,
    imports,
    interop,
    journal,
    login,
    orders,
    patients,
    rights,
    team,
    tokens,
)

urlpatterns = [
    path("", home.home, name="home"),
    # watch: alerts (DPO), watch settings (lab admin), break-the-glass
    path("alertes/", alerts.alert_list, name="alert_list"),
    path("alertes/<int:pk>/", alerts.alert_detail, name="alert_detail"),
    path("alertes/<int:pk>/prise-en-compte/", alerts.alert_ack, name="alert_ack"),
    path("alertes/<int:pk>/cloture/", alerts.alert_close, name="alert_close"),
    path("alertes/<int:pk>/violation/", alerts.alert_breach_case, name="alert_breach_case"),
    path("surveillance/", alerts.watch_settings, name="watch_settings"),
    path("surveillance/personnel/<int:pk>/", alerts.staff_identity, name="staff_identity"),
    path("demandes/<int:pk>/acces-urgence/", alerts.break_glass, name="break_glass"),
    path("demandes/<int:pk>/acces-urgence/ouvert/", alerts.break_glass_view,
         name="break_glass_view"),
    path("healthz", home.healthz, name="healthz"),
    # login steps
    path("login/", login.login_view, name="login"),
    path("logout/", login.logout_view, name="logout"),
    path("connexion/code/", login.otp_verify, name="otp_verify"),
    path("connexion/double-facteur/", login.mfa_enrol, name="mfa_enrol"),
    path("connexion/mot-de-passe/", login.password_first_change, name="password_first_change"),
    # an activation link (a new account, a reset): no login, a valid token only
    path("activation/", activation.activation, name="activation"),
    # one's own account
    path("compte/", account.account, name="account"),
    path("compte/mot-de-passe/", account.account_password, name="account_password"),
    path("compte/codes-de-secours/", account.account_recovery, name="account_recovery"),
    path("compte/double-facteur/", account.account_mfa, name="account_mfa"),
    path("compte/deconnexion-partout/", account.account_logout_all, name="account_logout_all"),
    path("compte/confirmation/", account.sudo, name="sudo"),
    path("compte/jetons-api/", tokens.account_tokens, name="account_tokens"),
    # the lab's team
    path("equipe/", team.users, name="users"),
    path("equipe/nouveau/", team.user_create, name="user_create"),
    path("equipe/<int:pk>/", team.member_detail, name="member_detail"),
    path("equipe/<int:pk>/role/", team.member_role, name="member_role"),
    path("equipe/<int:pk>/desactivation/", team.member_disable, name="member_disable"),
    path("equipe/<int:pk>/deverrouillage/", team.member_unlock, name="member_unlock"),
    path("equipe/adresse/", team.address_unlock, name="address_unlock"),
    path("equipe/<int:pk>/mot-de-passe/", team.member_reset_password,
         name="member_reset_password"),
    path("equipe/<int:pk>/double-facteur/", team.member_reset_mfa, name="member_reset_mfa"),
    path("equipe/usage-partage/", team.shared_use, name="shared_use"),
    # journal
    path("journal/", journal.journal, name="journal"),
    path("journal/export/", journal.journal_export, name="journal_export"),
    path("journal/patient/<int:patient_id>/", journal.access_history, name="access_history"),
    # patients
    path("patients/", patients.patient_search, name="patient_search"),
    path("patients/nouveau/", patients.patient_create, name="patient_create"),
    path("patients/du-jour/", patients.patients_today, name="patients_today"),
    path("patients/lieux-de-naissance/", birthplaces.birthplace_search,
         name="birthplace_search"),
    path("patients/<int:pk>/", patients.patient_detail, name="patient_detail"),
    # the installation's self-audit (lab admin, DPO)
    path("audit/", audit.audit_last, name="audit_last"),
    # data-subject requests (the DPO)
    path("droits/", rights.subject_requests, name="subject_requests"),
    path("droits/<int:pk>/", rights.subject_request_detail, name="subject_request_detail"),
    path("droits/<int:pk>/reponse/", rights.subject_request_answer,
         name="subject_request_answer"),
    path("patients/<int:pk>/correction/", patients.patient_correct, name="patient_correct"),
    path("patients/<int:pk>/fusion/", patients.patient_merge, name="patient_merge"),
    path("patients/<int:pk>/fusion/annulation/", patients.patient_unmerge,
         name="patient_unmerge"),
    # requests and catalogue
    path("patients/<int:patient_id>/demandes/nouvelle/", orders.order_create,
         name="order_create"),
    path("demandes/analyses/", orders.order_tests_preview, name="order_tests_preview"),
    path("demandes/analyses/recherche/", orders.test_search, name="test_search"),
    path("demandes/<int:pk>/", orders.order_detail, name="order_detail"),
    path("demandes/<int:pk>/prelevement/", orders.order_sample, name="order_sample"),
    path("demandes/<int:pk>/reception/", orders.order_receive, name="order_receive"),
    path("demandes/<int:pk>/annulation/", orders.order_cancel, name="order_cancel"),
    path("demandes/<int:pk>/non-conformite/", orders.order_reject, name="order_reject"),
    path("demandes/<int:pk>/etiquettes.pdf", orders.order_labels, name="order_labels"),
    path("demandes/<int:pk>/recu/", orders.order_receipt, name="order_receipt"),
    path("demandes/<int:pk>/modifier/", orders.order_edit, name="order_edit"),
    path("catalogue/", orders.catalogue_list, name="catalogue"),
    path("messages-hl7/", interop.outbox, name="interop_outbox"),
    path("catalogue/nouvelle/", orders.catalogue_add, name="catalogue_add"),
    path("catalogue/<int:pk>/", orders.catalogue_edit, name="catalogue_edit"),
    path("catalogue/<int:pk>/activation/", orders.catalogue_toggle, name="catalogue_toggle"),
    # exports
    path("violations/", breach.breach_list, name="breach_list"),
    path("violations/analyse/", breach.breach_upload, name="breach_upload"),
    path("violations/<int:pk>/", breach.breach_case, name="breach_case"),
    path("violations/<int:pk>/suivi/", breach.breach_case_update, name="breach_case_update"),
    path("violations/<int:pk>/notification-cnil.pdf", breach.breach_cnil_pdf,
         name="breach_cnil_pdf"),
    path("violations/<int:pk>/lettres/", breach.breach_letters, name="breach_letters"),
    path("exports/", exports.export_list, name="export_list"),
    path("exports/nouveau/", exports.export_create, name="export_create"),
    path("exports/<int:pk>/", exports.export_detail, name="export_detail"),
    path("exports/<int:pk>/approuver/", exports.export_approve, name="export_approve"),
    path("exports/<int:pk>/refuser/", exports.export_refuse, name="export_refuse"),
    path("exports/<int:pk>/telecharger/", exports.export_download, name="export_download"),
    path("exports/<int:pk>/purger/", exports.export_purge, name="export_purge"),
    # imports from the previous software (lab admin, fresh re-authentication)
    path("imports/", imports.import_list, name="import_list"),
    path("imports/revue/", imports.import_review, name="import_review"),
    path("imports/<int:pk>/", imports.import_detail, name="import_detail"),
    path("imports/<int:pk>/confirmer/", imports.import_confirm, name="import_confirm"),
    path("imports/<int:pk>/abandonner/", imports.import_abandon, name="import_abandon"),
    # the FHIR API: personal tokens, no session (etanche/fhir/urls.py)
    path("fhir/", include("etanche.fhir.urls")),
]
