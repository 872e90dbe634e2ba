from django.apps import AppConfig


class WatchConfig(AppConfig):
    name = "etanche.watch"
    label = "watch"
