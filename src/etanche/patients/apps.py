from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "etanche.patients"
    label = "patients"
