from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "etanche.interop"
    label = "interop"
