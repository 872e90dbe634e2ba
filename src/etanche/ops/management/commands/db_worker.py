from django_tasks_db.management.commands import db_worker

from etanche.ops.refusal import RefusingCommand


class Command(RefusingCommand, db_worker.Command):
    help = ("Disabled: the library's worker does not put back the tasks of a worker that was "
            "killed. Use `etanche worker`.")
    refusal = (
        "not available in Étanche (a task of a killed db_worker would stay running forever): "
        "use `etanche worker`, which `etanche serve` starts"
    )
