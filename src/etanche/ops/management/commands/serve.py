import multiprocessing

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from etanche.ops.server import run_gunicorn


class Command(BaseCommand):
    help = "Serve the web application and API with gunicorn (a production WSGI server)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port to bind (8000)")
        # Measured (bench intake, 2 cores, PostgreSQL on the same machine): a request
        # spends much of its time waiting on the database, and 3 workers x 2 threads
        # registered 53 patients/s where 5 single-threaded workers did 39 (the
        # threaded worker also keeps connections alive). See bench/RESULTS.md.
        parser.add_argument(
            "--workers",
            type=int,
            default=multiprocessing.cpu_count() + 1,
            help="worker processes (cores + 1)",
        )
        parser.add_argument("--threads", type=int, default=2, help="threads per worker (2)")

    def handle(self, *args, host, port, workers, threads, **options):
        if not 0 < port < 65536:
            raise CommandError(f"--port must be between 1 and 65535, not {port}")
        if workers < 1 or threads < 1:
            raise CommandError("--workers and --threads must be at least 1")
        connection = connections[DEFAULT_DB_ALIAS]
        plan = MigrationExecutor(connection).migration_plan(
            MigrationExecutor(connection).loader.graph.leaf_nodes()
        )
        connection.close()  # workers fork: each opens its own connection
        if plan:
            raise CommandError("the database schema is not up to date: run `etanche init`")


        self.stdout.write(f"Étanche on http://{host}:{port}/ ({workers} workers"
                          f"{', and a task worker' if settings.ETANCHE_SERVE_WORKER else ''})")
        self.stdout.flush()
        run_gunicorn(
            host=host,
            port=port,
            workers=workers,
            threads=threads,
            housekeeping_seconds=settings.ETANCHE_HOUSEKEEPING_SECONDS,
            checkpoint_target=settings.ETANCHE_CHECKPOINT_TARGET,
            with_worker=settings.ETANCHE_SERVE_WORKER,
        )
