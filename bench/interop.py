"""interop_throughput and interop_lag_p95 (issue 21).

interop_throughput: requests registered per second through the orders service with one
destination configured (each request writes its sealed OML^O21 in its transaction),
against the same with no destination (baseline); ratio = time with / time without.

interop_lag_p95: from a request's commit to its ACK received from a loopback MLLP
receiver (answering AA at once), sending with the worker's round function called
right after the commit. A running worker adds up to ETANCHE_INTEROP_ROUND_SECONDS
(1 s by default) of polling on top: the detail says so.
"""

import socketserver
import statistics
import threading
import time

START, END = b"\x0b", b"\x1c\x0d"


class _Ack(socketserver.BaseRequestHandler):
    """A minimal receiver: AA to every message, echoing MSH-10 (no validation: speed)."""

    def handle(self):
        data = b""
        while chunk := self.request.recv(65536):
            data += chunk
            while END in data:
                frame, _, data = data.partition(END)
                msh = frame.lstrip(START).split(b"\r", 1)[0].split(b"|")
                control = msh[9] if len(msh) > 9 else b""
                self.request.sendall(START + b"MSH|^~\\&|LIS|LAB|ETANCHE|LAB|20260101||"
                                     b"ACK^O21^ACK|A1|P|2.5\rMSA|AA|" + control + END)


def _patients(lab, n: int, seed: int):
    from etanche.patients.bulk import bulk_register
    from etanche.patients.models import Patient
    from etanche.synthetic.people import envelope_of, generate

    bulk_register(lab, map(envelope_of, generate(n, seed=seed)))
    return list(Patient.objects.for_lab(lab).order_by("pk"))


def _requests(lab, user, patients) -> float:
    from etanche.orders import services as orders

    started = time.perf_counter()
    for patient in patients:
        orders.create_order(lab, user, patient, tests=["1104", "1208"],
                            prescriber_name="Dr Banc", prescription_date="2026-01-05",
                            answers={"anticoagulant": "aucun"})
    return time.perf_counter() - started


def run(ctx) -> list[dict]:
    from bench.users import make_frontdesk
    from etanche.accounts.models import User
    from etanche.interop import sender
    from etanche.interop import services as interop
    from etanche.interop.models import MessageStatus, OutboxMessage
    from etanche.ops.labs import create_lab

    n = 200 if ctx.quick else 2000
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Ack)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    results = []
    try:
        off_lab = create_lab("bench-hl7-off", "Banc HL7 sans", "990000010")
        on_lab = create_lab("bench-hl7-on", "Banc HL7 avec", "990000028")
        off_user, on_user = (User.objects.get(username=make_frontdesk(lab, 1, prefix)[0][0])
                             for lab, prefix in ((off_lab, "off"), (on_lab, "on")))
        interop.add_destination("bench-lis", lab=on_lab, host="127.0.0.1", port=port,
                                messages="orders")
        off_patients, on_patients = _patients(off_lab, n, 1), _patients(on_lab, n, 2)
        if ctx.wants("interop_throughput"):
            # Warm both paths, then alternate quarters so drift on a loaded machine
            # (caches, other processes) falls on both sides alike.
            _requests(off_lab, off_user, off_patients[:10])
            _requests(on_lab, on_user, on_patients[:10])
            off_s = on_s = 0.0
            step = max((n - 10) // 4, 1)
            for start in range(10, n, step):
                off_s += _requests(off_lab, off_user, off_patients[start:start + step])
                on_s += _requests(on_lab, on_user, on_patients[start:start + step])
            n -= 10
            results.append({
                "name": "interop_throughput", "value": round(n / on_s, 1),
                "unit": "requests/s", "baseline": round(n / off_s, 1),
                "ratio": round(on_s / off_s, 3), "n": n,
                "detail": {"with_outbox_s": round(on_s, 2), "without_s": round(off_s, 2),
                           "path": "orders.create_order (service, no web stack)"},
            })
            while sender.send_round():  # drain what the throughput run queued
                pass
        if ctx.wants("interop_lag_p95"):
            lags = []
            for patient in on_patients[: min(len(on_patients), 300)]:
                _requests(on_lab, on_user, [patient])
                committed = time.perf_counter()
                while not sender.send_round():
                    pass
                lags.append(time.perf_counter() - committed)
            assert not OutboxMessage.objects.exclude(status=MessageStatus.SENT).exists()
            lags.sort()
            p95 = lags[int(0.95 * (len(lags) - 1))]
            results.append({
                "name": "interop_lag_p95", "value": round(p95 * 1000, 1), "unit": "ms",
                "baseline": None, "ratio": None, "n": len(lags),
                "detail": {"median_ms": round(statistics.median(lags) * 1000, 1),
                           "excludes": "the worker's polling period "
                                       "(ETANCHE_INTEROP_ROUND_SECONDS, 1 s by default)",
                           "receiver": "loopback, AA at once, no validation"},
            })
    finally:
        server.shutdown()
        server.server_close()
        sender.close_links()
    return results
