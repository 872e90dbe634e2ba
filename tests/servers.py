"""Start the real `etanche serve` (gunicorn) on a free loopback port for a test."""

import contextlib
import socket
import subprocess
import tempfile
import time
import urllib.request

from tests.cli_helpers import ETANCHE


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(env: dict[str, str], workers: int = 1):
    port = free_port()
    # A file, not a pipe: nobody reads the server's output while it runs, and a
    # full pipe would block the server (and its housekeeping) mid-test.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [ETANCHE, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode(errors="replace")
                    raise RuntimeError(f"etanche serve did not start:\n{output}") from None
                time.sleep(0.2)
        try:
            yield base
        except BaseException:
            log.seek(0)
            print("--- etanche serve output ---")  # shown by pytest with the failure
            print(log.read().decode(errors="replace")[-4000:])
            raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
