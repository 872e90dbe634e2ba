from django.apps import AppConfig


class SealedAppConfig(AppConfig):
    """A test-only app with a SealedModel subclass, so the vault is tested on its own."""

    name = "tests.sealedapp"
    label = "sealedapp"
