from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "etanche.imports"
    label = "imports"
