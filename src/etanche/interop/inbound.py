"""Messages the analytical LIS sends on its own: OML^O21 (ORC-1 SC) or ORL^O22 statuses.

`answer(destination, er7)` applies the statuses to the destination's lab and returns
our ACK: AA when read, AE when the message is not one we read (the filler keeps it).
No MLLP listener runs yet (docs/interop.md): statuses arrive today in the ORL^O22
answers to our orders, read by the sender.
"""

from etanche.interop import hl7, progress


def answer(destination, er7: str) -> str:
    try:
        inbound = hl7.read_status_message(er7)
    except hl7.HL7Error:
        return hl7.ack("UNREADABLE", "AE", facility=destination.lab.finess, error="100")
    if not inbound.control_id:
        return hl7.ack("UNREADABLE", "AE", facility=destination.lab.finess, error="101")
    progress.apply(destination.lab, inbound.updates, inbound.control_id)
    return hl7.ack(inbound.control_id, "AA", facility=destination.lab.finess)
