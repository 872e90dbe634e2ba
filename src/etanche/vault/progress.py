"""A progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise."""

import sys
import time


class Progress:
    def __init__(self, total: int, label: str, stream=None, width: int = 30):
        self.total = max(total, 0)
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self._last_decile = -1
        self._started = time.monotonic()

    def update(self, done: int) -> None:
        total = max(self.total, done)
        fraction = done / total if total else 1.0
        filled = int(self.width * fraction)
        bar = "#" * filled + "." * (self.width - filled)
        rate = done / max(time.monotonic() - self._started, 1e-6)
        line = f"{self.label} [{bar}] {fraction:4.0%} {done}/{total} ({rate:.0f}/s)"
        if self.tty:
            self.stream.write("\r" + line)
        elif int(fraction * 10) != self._last_decile:
            self._last_decile = int(fraction * 10)
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
