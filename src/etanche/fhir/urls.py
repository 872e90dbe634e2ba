"""Every route of the FHIR API (included under /fhir/ by web/urls.py)."""

from django.urls import path

from etanche.fhir import orders, patients, views

urlpatterns = [
    path("metadata", views.metadata, name="fhir_metadata"),
    path("openapi.json", views.openapi_json, name="fhir_openapi"),
    path("Patient", patients.patient_type, name="fhir_patient_type"),
    path("Patient/_search", patients.patient_search, name="fhir_patient_search"),
    path("Patient/<str:rid>", patients.patient_instance, name="fhir_patient"),
    path("Practitioner/<str:rid>", patients.practitioner_instance, name="fhir_practitioner"),
    path("Coverage", patients.coverage_type, name="fhir_coverage_type"),
    path("Coverage/<str:rid>", patients.coverage_instance, name="fhir_coverage"),
    path("ServiceRequest", orders.service_request_type, name="fhir_service_request_type"),
    path("ServiceRequest/_search", orders.service_request_search,
         name="fhir_service_request_search"),
    path("ServiceRequest/<str:rid>", orders.service_request_instance,
         name="fhir_service_request"),
    path("Specimen", orders.specimen_type, name="fhir_specimen_type"),
    path("Specimen/_search", orders.specimen_search_post, name="fhir_specimen_search"),
    path("Specimen/<str:rid>", orders.specimen_instance, name="fhir_specimen"),
    path("Organization", views.organization_type, name="fhir_organization_type"),
    path("Organization/<str:rid>", views.organization_instance, name="fhir_organization"),
    path("", views.not_supported, name="fhir_root"),
    path("<path:rest>", views.not_supported, name="fhir_not_supported"),
]
