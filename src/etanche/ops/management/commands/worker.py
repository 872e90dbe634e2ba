from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from etanche.ops import worker


class Command(BaseCommand):
    help = ("Run the queued background tasks (export production) until stopped. "
            "`etanche serve` starts one; run more, or run it alone, as you need. A worker "
            "killed mid-task loses nothing: the next one to start runs the task again.")

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true",
                            help="run the tasks queued now, then exit")
        parser.add_argument("--interval", type=float,
                            default=settings.ETANCHE_WORKER_POLL_SECONDS,
                            help="seconds between looks at an empty queue "
                                 "(ETANCHE_WORKER_POLL_SECONDS, 1)")

    def handle(self, *args, batch, interval, **options):
        if not 0 < interval <= 3600:
            raise CommandError(f"--interval must be between 0 and 3600 seconds, not {interval}")
        worker.run(interval=interval, batch=batch)
