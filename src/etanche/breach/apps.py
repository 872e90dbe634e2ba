from django.apps import AppConfig


class BreachConfig(AppConfig):
    name = "etanche.breach"
    label = "breach"
