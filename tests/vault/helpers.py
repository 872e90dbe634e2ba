from tests.cli_helpers import clean_env


def sqlite_cli_env(data_dir, **extra):
    """Env for a CLI subprocess with its own SQLite database in `data_dir`.

    Under a PostgreSQL run DATABASE_URL names a shared database that `etanche
    init` in several tests would fight over; these tests are about the CLI and
    the key files, which do not depend on the database engine.
    """
    env = clean_env(data_dir, **extra)
    env.pop("DATABASE_URL", None)
    return env
