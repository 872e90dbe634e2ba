from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "etanche.fhir"
    label = "fhir"
