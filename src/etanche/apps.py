from django.apps import AppConfig


class EtancheConfig(AppConfig):
    name = "etanche"
    verbose_name = "Étanche"

    def ready(self):
        # Django app loading: the checks module registers its checks once the registry is ready.
        from etanche import checks  # noqa: F401, PLC0415
