"""Signals the patients services send inside their own transactions.

Apps above patients (interop writes an HL7 ADT message to its sealed outbox)
connect receivers; a receiver runs in the sender's transaction, so the change and
what it causes commit or roll back together, and a receiver that raises refuses
the change. Each signal is sent with `sender=Patient` and keyword arguments only,
ids rather than identity (a receiver that needs the identity reads it through the
services):

    from etanche.patients import events
    events.patient_created.send(Patient, lab=lab, patient_id=patient.pk)

Send them after the rows are written, before the journal entry, which stays last.
"""

from django.dispatch import Signal

#: A record was created. Keywords: lab, patient_id.
patient_created = Signal()
#: A record's identity or details were corrected or updated. Keywords: lab, patient_id.
patient_corrected = Signal()
#: `merged_id` was merged into `survivor_id`. Keywords: lab, survivor_id, merged_id.
patient_merged = Signal()
