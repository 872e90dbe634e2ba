"""What the exports app raises: a rule's refusal, or an export whose file is gone."""

from django.core.exceptions import ValidationError


class ExportRefused(ValidationError):
    """Bad input or a rule that says no; messages are French and hold no personal data."""


class ExportGone(Exception):
    """The export's file was destroyed (expired, downloads used up, purged)."""

    def __init__(self, export):
        self.export = export
        super().__init__(f"export {export.pk} is {export.status}: its file was destroyed")

    @property
    def message_fr(self) -> str:
        return (f"L'export n° {self.export.pk} n'est plus disponible : son fichier a été "
                f"détruit ({self.export.get_status_display()}). Demandez un nouvel export.")
