"""Turn a vault failure into an error page that names the problem, not a traceback."""

import logging

from django.http import HttpResponse
from django.template.loader import render_to_string

from etanche.vault.errors import MasterKeyError, TamperedData, VaultError

log = logging.getLogger("etanche.vault")


class VaultErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, VaultError):
            return None
        # Vault messages hold no personal data: safe for the log, which the admin reads.
        log.error("vault: %s", exception)
        if isinstance(exception, TamperedData):
            status, title = 500, "Un dossier chiffré est illisible"
            advice = (
                "Il a été altéré ou déplacé. "
                "L'administrateur doit le restaurer depuis une sauvegarde."
            )
        elif isinstance(exception, MasterKeyError):
            status, title = 503, "Les clés de chiffrement sont indisponibles"
            advice = (
                "La clé maîtresse est absente ou incorrecte. "
                "Prévenez l'administrateur du laboratoire."
            )
        else:
            status, title = 503, "Les données chiffrées sont indisponibles"
            advice = (
                "Les clés de ce laboratoire ne sont pas disponibles. "
                "Prévenez l'administrateur."
            )
        context = {"title": title, "advice": advice, "status": status}
        try:
            body = render_to_string("vault/unavailable.html", context, request=request)
        except Exception:  # noqa: BLE001  the layout itself may need what is unavailable
            log.warning("vault: the error page's layout failed; the bare page is shown")
            body = render_to_string("vault/unavailable_bare.html", context)
        return HttpResponse(body, status=status)
