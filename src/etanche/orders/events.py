"""Signals the orders services send inside their own transactions.

Apps above orders (interop writes an HL7 message to its sealed outbox) connect
receivers; a receiver runs in the sender's transaction, so the change and what it
causes commit or roll back together, and a receiver that raises refuses the
change. Each signal is sent with `sender=Order` and keyword arguments only:

    from etanche.orders import events
    events.request_created.send(Order, lab=lab, order=order)

Send them after the rows are written (tests and specimens included), before the
journal entry, which stays last.
"""

from django.dispatch import Signal

#: A request was registered with its tests and specimens. Keywords: lab, order.
request_created = Signal()
#: A request was cancelled (its status is already CANCELLED). Keywords: lab, order.
request_cancelled = Signal()
#: A request's content changed (tests, specimens, urgency, sampling time, clinical
#: information): whatever a receiving lab would need to know again. Keywords: lab, order.
request_changed = Signal()
