from django.apps import AppConfig


class LabsConfig(AppConfig):
    name = "etanche.labs"
    label = "labs"
