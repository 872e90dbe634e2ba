from django.apps import AppConfig


class JournalConfig(AppConfig):
    name = "etanche.journal"
    label = "journal"
