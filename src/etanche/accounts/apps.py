from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "etanche.accounts"
    label = "accounts"
