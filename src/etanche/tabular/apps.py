from django.apps import AppConfig


class TabularConfig(AppConfig):
    name = "etanche.tabular"
    label = "tabular"
