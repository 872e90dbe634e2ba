from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "etanche.exports"
    label = "exports"
