"""Optional sampling profiles of the server during a measured phase (BENCH_PYSPY=DIR).

py-spy (the `bench` extra) attaches to the gunicorn master and its workers and
writes collapsed stacks; `python -m bench.profile FILE` prints where the time goes:
the functions with the most inclusive samples, and the product files by self time.
BENCH_PYSPY_ARGS adds py-spy options, e.g. `--gil`: only the thread holding the GIL
is sampled, so time spent waiting for the database or for the GIL drops out.
"""

import contextlib
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path


@contextlib.contextmanager
def sampling(pid: int, name: str):
    with _pyspy(pid, name), _perf(name):
        yield


@contextlib.contextmanager
def _pyspy(pid: int, name: str):
    target = os.environ.get("BENCH_PYSPY")
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not target or not Path(spy).exists():
        yield None
        return
    Path(target).mkdir(parents=True, exist_ok=True)
    out = Path(target) / f"{name}.txt"
    with _until_interrupted([
            spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate",
            "200", "--nonblocking", *os.environ.get("BENCH_PYSPY_ARGS", "").split(),
            "-o", str(out)]):
        yield out


@contextlib.contextmanager
def _perf(name: str):
    """BENCH_PERF=DIR: `perf record` of the whole machine (CPU clock, kernel included), for
    what py-spy cannot see: PostgreSQL, system calls, C code that released the GIL.
    `perf report -i DIR/NAME.data --sort comm,dso` splits it by process and library."""
    target = os.environ.get("BENCH_PERF")
    perf = shutil.which("perf")
    if not target or not perf:
        yield None
        return
    Path(target).mkdir(parents=True, exist_ok=True)
    out = Path(target) / f"{name}.data"
    with _until_interrupted([perf, "record", "-a", "-e", "cpu-clock", "-F", "499", "-g",
                             "-o", str(out)]):
        yield out


@contextlib.contextmanager
def _until_interrupted(command: list[str]):
    proc = subprocess.Popen(  # noqa: S603  a profiler of the bench, on our own server
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.send_signal(2)  # SIGINT: the profiler writes its file and exits
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def summarize(path: str, top: int = 40) -> str:
    inclusive, self_time, total = Counter(), Counter(), 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        count = int(count)
        frames = stack.split(";")
        if frames and frames[0].startswith("process"):
            frames = frames[1:]
        if any("gunicorn/arbiter" in f and "sleep" in f for f in frames):
            continue  # the master waiting
        if frames and ("select" in frames[-1] or "wait" in frames[-1]) and not any(
                "etanche" in f or "django" in f for f in frames):
            continue  # an idle worker waiting for a connection
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        self_time[frames[-1]] += count
    lines = [f"{total} busy samples", "", "inclusive:"]
    for frame, count in inclusive.most_common(top):
        lines.append(f"{100 * count / total:5.1f}%  {frame}")
    lines += ["", "self:"]
    for frame, count in self_time.most_common(top // 2):
        lines.append(f"{100 * count / total:5.1f}%  {frame}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40))
