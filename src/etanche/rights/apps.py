from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "etanche.rights"
    label = "rights"
