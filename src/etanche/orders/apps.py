from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "etanche.orders"
    label = "orders"
