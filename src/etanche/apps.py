from django.apps import AppConfig


class EtancheConfig(AppConfig):
    name = "etanche"
    verbose_name = "Étanche"

    def ready(self):
        from etanche import checks  # noqa: F401  (registers the system checks)
