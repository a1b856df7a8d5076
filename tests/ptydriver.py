"""Drive a command through a pseudo-terminal, like a person at a keyboard (no pexpect needed)."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import time


class PtyProcess:
    def __init__(self, argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None,
                 rows: int = 40, cols: int = 120, stdout: int | None = None) -> None:
        """`stdout`: a file descriptor for the command's stdout instead of the terminal (`| tee log`)."""
        self.master, slave = pty.openpty()
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave if stdout is None else stdout, stderr=slave,
                                     env=env, cwd=cwd,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.output = ""
        import codecs

        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")  # a character may span two reads

    def _pump(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        if not data:
            return False
        self.output += self._decoder.decode(data)
        return True

    def expect(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Wait until `pattern` (a regex) appears in the output after the last match; return the match."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            m = regex.search(self.output)
            if m:
                self.output = self.output[m.end():]
                return m
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.proc.poll() is not None and not self._pump(0.05)):
                raise AssertionError(f"did not see {pattern!r}; output so far:\n{self.output[-2000:]}")
            self._pump(min(remaining, 0.1))

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def interrupt(self) -> None:
        """Ctrl-C, as the terminal sends it: SIGINT to the foreground process group."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def wait(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._pump(0.05)
        if self.proc.poll() is None:
            self.close()
            raise AssertionError(f"process did not exit; output:\n{self.output[-2000:]}")
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass
