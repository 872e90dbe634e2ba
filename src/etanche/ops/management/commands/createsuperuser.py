from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Disabled: Étanche has no superuser. Use `etanche users create` (named accounts)."

    def add_arguments(self, parser):
        # Swallow Django's options so scripts calling the original get this message.
        parser.add_argument("args", nargs="*")
        parser.add_argument("--username")
        parser.add_argument("--email")
        parser.add_argument("--noinput", "--no-input", action="store_true")
        parser.add_argument("--database")

    def handle(self, *args, **options):
        raise CommandError(
            "there is no superuser in Étanche: create a named account with "
            '`etanche users create USERNAME --lab LAB --role labadmin --name "First Last" '
            "--email EMAIL`"
        )
