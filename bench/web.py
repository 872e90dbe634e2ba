"""The real web stack for benchmarks: `etanche serve` on loopback and a small HTTP client.

The client only ever talks to 127.0.0.1 on the port of the server this module
started; every load loop is bounded by a deadline and stops by itself.
"""

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
COOKIE = re.compile(r"^\s*([^=;\s]+)=([^;]*)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --- CPU accounting -------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> tuple[int, float]:
    """(parent pid, user+system seconds) of a live process, with those of its children
    that ended and were reaped: a gunicorn worker killed and replaced mid-phase (a timeout
    on a loaded machine) moves its time to the master instead of out of the sum."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[1]), sum(int(v) for v in fields[11:15]) / TICK


def tree_cpu(root: int) -> float:
    """CPU seconds of `root` and its live descendants (gunicorn master + workers)."""
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parents[int(entry)], cpu[int(entry)] = _proc_cpu(int(entry))
    wanted, total = {root}, 0.0
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    for pid in wanted:
        total += cpu.get(pid, 0.0)
    return total


def machine_busy() -> tuple[float, float]:
    """(busy seconds, total seconds) of all cores since boot, from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / TICK, total / TICK


def database_pids() -> list[int]:
    """PostgreSQL backends serving this instance's database (they run on this machine)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return [row[0] for row in cursor.fetchall()]


def pids_cpu(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            out[pid] = _proc_cpu(pid)[1]
    return out


class CpuMeter:
    """CPU used during a window by: this process (the client), the server tree, the
    database backends serving it (PostgreSQL), and the whole machine."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.client0 = sum(os.times()[:2])
        self.server0 = tree_cpu(self.server_pid)
        self.db0 = pids_cpu(database_pids())
        self.busy0, self.total0 = machine_busy()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.client = sum(os.times()[:2]) - self.client0
        self.server = tree_cpu(self.server_pid) - self.server0
        db1 = pids_cpu(list(self.db0))
        self.db = sum(db1[pid] - self.db0[pid] for pid in db1)
        busy, total = machine_busy()
        self.machine = busy - self.busy0
        self.machine_total = total - self.total0

    def as_dict(self) -> dict:
        cores = os.cpu_count() or 1
        return {
            "wall_s": round(self.wall, 2),
            "client_cpu_s": round(self.client, 2),
            "server_cpu_s": round(self.server, 2),
            "database_cpu_s": round(self.db, 2),
            # Everything else that ran on the machine: other people's work.
            "other_cpu_s": round(max(self.machine - self.client - self.server - self.db, 0), 2),
            "machine_busy": f"{100 * self.machine / max(self.machine_total, 1e-9):.0f}% "
                            f"of {cores} cores",
        }


# --- the server -----------------------------------------------------------------------------


class Server:
    """`etanche serve` (gunicorn) on a free loopback port, with the bench settings."""

    def __init__(self, env: dict, *, workers: int, threads: int):
        self.port = free_port()
        self.workers, self.threads = workers, threads
        self.env = {**env, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [env.get("PYTHONPATH")])])}
        self.env.pop("ETANCHE_EPHEMERAL_SECRET", None)  # the real secret key file is there
        self.proc = None

    def __enter__(self):
        etanche = Path(sys.executable).with_name("etanche")
        self.proc = subprocess.Popen(  # noqa: S603  our own console script, fixed arguments
            [str(etanche), "serve", "--host", HOST, "--port", str(self.port),
             "--workers", str(self.workers), "--threads", str(self.threads)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"etanche serve exited: {self.proc.stderr.read()[-2000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    self._wait_quiet(deadline)
                    return self
            time.sleep(0.2)
        raise RuntimeError("etanche serve did not answer /healthz within 60 s")

    def _wait_quiet(self, deadline: float) -> None:
        """Wait for the start's own work to end before anything is measured: /healthz answers
        as soon as one worker does, while the housekeeping round that `etanche serve` runs
        at start and the task worker's start still take one or both cores (3.6 s on a small
        instance; at 1,000,000 patients, searches 29 to 35 of a run measured 31-71 ms in
        that window, bench/RESULTS.md Run 19). Quiet: under 5 % of a core for two 0.25 s
        windows in a row."""
        quiet, last = 0, tree_cpu(self.proc.pid)
        while quiet < 2 and time.monotonic() < deadline:
            time.sleep(0.25)
            now = tree_cpu(self.proc.pid)
            quiet = quiet + 1 if now - last < 0.0125 else 0
            last = now

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- the client -----------------------------------------------------------------------------


class Client:
    """One browser-like user: keep-alive connection, cookies, CSRF token from its cookie.

    The `messages` cookie is dropped: a browser shows flash messages on the page a
    redirect leads to, which the benchmark does not fetch, so they would pile up.
    """

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict | None = None):
        headers = {"Host": f"{HOST}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            data = {**data, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            body = urlencode(data, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A sync worker closes the connection after each response: reconnect once.
                self.conn.close()
                if attempt:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                match = COOKIE.match(value)
                if match and match.group(1) != "messages":
                    name, val = match.groups()
                    if val in ('""', "") or "max-age=0" in value.lower():
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = val
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, response.getheader("Location", ""), payload

    def get(self, path: str, params: dict | None = None):
        return self.request("GET", f"{path}?{urlencode(params)}" if params else path)

    def post(self, path: str, data: dict):
        return self.request("POST", path, data)

    def login(self, username: str, password: str, code_now) -> None:
        """Password, then TOTP, through the real login pages (CSRF included)."""
        status, _, _ = self.get("/login/")
        if status != 200 or "csrftoken" not in self.cookies:
            raise RuntimeError(f"login page: HTTP {status}")
        status, location, _ = self.post("/login/", {"username": username, "password": password})
        if status != 302:
            raise RuntimeError(f"login {username}: HTTP {status} instead of a redirect")
        step = urlsplit(location).path
        status, location, _ = self.post(step, {"code": code_now()})
        if status != 302 or urlsplit(location).path not in ("/", ""):
            raise RuntimeError(f"TOTP step of {username}: HTTP {status} to {location!r}")

    def close(self):
        self.conn.close()


def run_for(seconds: float, clients: list, work) -> list:
    """Run work(client, deadline) in one thread per client until the deadline; their results."""
    deadline = time.monotonic() + seconds
    results = [None] * len(clients)

    def target(i):
        results[i] = work(clients[i], deadline)

    threads = [threading.Thread(target=target, args=(i,), daemon=True)
               for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    return results


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
