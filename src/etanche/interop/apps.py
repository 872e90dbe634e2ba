from django.apps import AppConfig

from etanche.orders import events as orders
from etanche.patients import events as patients


class InteropConfig(AppConfig):
    name = "etanche.interop"
    label = "interop"

    def ready(self):
        # The lower apps define the signals and send them inside their transactions;
        # interop, above them, writes its outbox there (interop/outbox.py).
        from etanche.interop import outbox  # noqa: PLC0415  (models are ready only now)

        connections = [
            (orders.request_created, outbox.on_request_created),
            (orders.request_cancelled, outbox.on_request_cancelled),
            (orders.request_changed, outbox.on_request_changed),
            (patients.patient_created, outbox.on_patient_created),
            (patients.patient_corrected, outbox.on_patient_corrected),
            (patients.patient_merged, outbox.on_patient_merged),
        ]
        for signal, receiver in connections:
            signal.connect(receiver, dispatch_uid=f"interop.{receiver.__name__}")
