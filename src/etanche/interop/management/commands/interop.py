from django.core.management.base import BaseCommand, CommandError

from etanche.interop import listener, services
from etanche.interop.models import MessageStatus
from etanche.interop.transport import TransportError
from etanche.labs.models import Lab


class Command(BaseCommand):
    help = (
        "HL7 v2.5 over MLLP to each lab's analytical LIS (docs/interop.md). "
        "`interop destinations add NAME --lab LAB --host HOST --port PORT [--tls-ca FILE] "
        "[--tls-cert FILE --tls-key FILE] [--messages orders,patients] [--facility CODE] "
        "[--clinical-info]`, `destinations list|test NAME|remove NAME`; "
        "`interop outbox list [--lab LAB] [--parked]`, `outbox retry|drop ID_OR_CONTROL_ID`; "
        "`interop listen NAME --port PORT [--tls-cert F --tls-key F [--tls-client-ca F]]` "
        "receives the LIS's status updates. "
        "Plain TCP only to a loopback address. Journaled."
    )

    def add_arguments(self, parser):
        top = parser.add_subparsers(dest="area", required=True)
        dest = top.add_parser("destinations", help="where each lab's messages go")
        sub = dest.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add a destination")
        add.add_argument("name")
        add.add_argument("--lab", required=True, help="the lab's slug")
        add.add_argument("--host", required=True)
        add.add_argument("--port", required=True)
        add.add_argument("--tls-ca", default="", help="PEM file of the CA the server's "
                         "certificate must chain to (TLS on)")
        add.add_argument("--tls-cert", default="", help="PEM client certificate")
        add.add_argument("--tls-key", default="", help="PEM client key")
        add.add_argument("--messages", default="", help="orders,patients (default: both)")
        add.add_argument("--facility", default="", help="receiving facility code (MSH-6)")
        add.add_argument("--clinical-info", action="store_true",
                         help="send the request's clinical information (OBR-13)")
        sub.add_parser("list", help="list destinations")
        for name, text in (("test", "connect once (TLS handshake included)"),
                           ("remove", "remove a destination")):
            one = sub.add_parser(name, help=text)
            one.add_argument("name")
            if name == "remove":
                one.add_argument("--drop-unsent", action="store_true",
                                 help="drop its unsent messages too")
        listen = top.add_parser("listen", help="receive the LIS's status updates over MLLP")
        listen.add_argument("name", help="the destination whose lab the updates are for")
        listen.add_argument("--host", default="127.0.0.1")
        listen.add_argument("--port", type=int, required=True)
        listen.add_argument("--tls-cert", default="", help="PEM server certificate")
        listen.add_argument("--tls-key", default="", help="PEM server key")
        listen.add_argument("--tls-client-ca", default="",
                            help="PEM CA the LIS's client certificate must chain to")
        box = top.add_parser("outbox", help="messages waiting, parked or sent")
        sub = box.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="list messages (ids, types, status only)")
        listing.add_argument("--lab", default="")
        listing.add_argument("--parked", action="store_true")
        for name, text in (("retry", "put a parked message back in the queue"),
                           ("drop", "delete an unsent message")):
            one = sub.add_parser(name, help=text)
            one.add_argument("message", help="its id or control id")

    def handle(self, *args, **options):
        try:
            action = options.get("action")
            getattr(self, f"_{options['area']}" + (f"_{action}" if action else ""))(options)
        except services.InteropError as exc:
            raise CommandError(str(exc)) from None

    def _destinations_add(self, o):
        lab = Lab.objects.filter(slug=o["lab"]).first()
        if lab is None:
            raise CommandError(f"no lab {o['lab']}")
        d = services.add_destination(
            o["name"], lab=lab, host=o["host"], port=o["port"], tls_ca=o["tls_ca"],
            tls_cert=o["tls_cert"], tls_key=o["tls_key"], messages=o["messages"],
            facility=o["facility"], clinical_info=o["clinical_info"])
        self.stdout.write(f"destination {d.name} added for lab {lab.slug}: {d.host}:{d.port} "
                          f"({'TLS' if d.uses_tls else 'TCP, loopback'}), messages "
                          f"{', '.join(d.messages.split())}")

    def _destinations_list(self, o):
        for d in services.Destination.objects.select_related("lab").order_by("name"):
            tls = "tls" + ("+client" if d.tls_cert else "") if d.uses_tls else "plain"
            self.stdout.write(f"{d.name}\t{d.lab.slug}\t{d.host}:{d.port}\t{tls}\t"
                              f"{','.join(d.messages.split())}\t{d.facility or '-'}")

    def _destinations_test(self, o):
        self.stdout.write(services.test_destination(o["name"]))

    def _destinations_remove(self, o):
        dropped = services.remove_destination(o["name"], drop_unsent=o["drop_unsent"])
        self.stdout.write(f"destination {o['name']} removed"
                          + (f", {dropped} unsent message(s) dropped" if dropped else ""))

    def _listen(self, o):
        destination = services.get_destination(o["name"])
        if bool(o["tls_cert"]) != bool(o["tls_key"]):
            raise CommandError("--tls-cert and --tls-key go together")
        try:
            context = (listener.server_context(o["tls_cert"], o["tls_key"], o["tls_client_ca"])
                       if o["tls_cert"] else None)
            server = listener.Listener(destination, o["host"], o["port"], context)
        except (OSError, TransportError) as exc:
            raise CommandError(f"cannot listen on {o['host']}:{o['port']}: {exc}") from None
        self.stdout.write(f"listening on {o['host']}:{o['port']} for {destination.name} "
                          f"({'TLS' if context else 'TCP, loopback'}); Ctrl+C stops")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()

    def _outbox_list(self, o):
        lab = None
        if o["lab"]:
            lab = Lab.objects.filter(slug=o["lab"]).first()
            if lab is None:
                raise CommandError(f"no lab {o['lab']}")
        rows = services.outbox(lab, status=MessageStatus.PARKED if o["parked"] else None)
        for m in rows:
            self.stdout.write(f"{m.pk}\t{m.control_id}\t{m.message_type}\t{m.destination.name}\t"
                              f"{m.status}\t{m.attempts}\t{m.last_error or '-'}")

    def _outbox_retry(self, o):
        m = services.retry(None, None, o["message"])
        self.stdout.write(f"message {m.control_id} ({m.message_type}) queued again")

    def _outbox_drop(self, o):
        m = services.drop(None, None, o["message"])
        self.stdout.write(f"message {m.control_id} ({m.message_type}) dropped")
