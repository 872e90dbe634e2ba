from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "etanche.vault"
    label = "vault"
