from django.apps import AppConfig


class WatchConfig(AppConfig):
    name = "etanche.watch"
    label = "watch"

    def ready(self):
        # Patients cannot import watch: watch tells its lists which records to leave out.
        from etanche.patients import listing  # noqa: PLC0415  (apps load before models)
        from etanche.watch import canaries  # noqa: PLC0415  (apps load before models)

        listing.register(canaries.left_out_of_lists)
