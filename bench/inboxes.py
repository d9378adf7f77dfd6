"""The SMTP servers the notification benchmarks send to, each in its own process.

Both note each message's arrival time by Message-ID (`arrived`).

- `PostfixSink`: Postfix's `smtp-sink` (Debian package `postfix`; /usr/sbin/smtp-sink),
  the test server Postfix ships for measuring SMTP clients. Written in C, it
  takes a fraction of the CPU that a Python server takes on the same two cores,
  so the figure is Consulta's and not the test server's. Each message is
  dumped to a file; its arrival time is the file's modification time
  (read, then the file deleted).
- `AiosmtpdSink`: aiosmtpd (bench/smtp_sink.py), the server the tests use.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SMTP_SINK = "/usr/sbin/smtp-sink"
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _memory_folder() -> str | None:
    """/dev/shm where it is a memory file system: creating a file per message on the disk's
    file system took about 0.7 ms of the sink's time here (strace), which made the sink, not
    Consulta, the limit of the benchmark."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


class _Inbox:
    name = ""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()

    def count(self) -> int:
        with self.lock:
            return len(self.arrived)


class AiosmtpdSink(_Inbox):
    name = "aiosmtpd (Python, bench/smtp_sink.py)"

    def __init__(self) -> None:
        super().__init__()
        sink = Path(__file__).with_name("smtp_sink.py")
        self.process = subprocess.Popen(
            [sys.executable, str(sink), str(self.port)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message_id, _, at = line.strip().rpartition(" ")
            with self.lock:
                self.arrived[message_id] = float(at)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


class PostfixSink(_Inbox):
    name = "Postfix smtp-sink (C)"

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="consulta-smtp-sink-", dir=_memory_folder()))
        self.folder.chmod(0o777)  # smtp-sink drops to `nobody` when started as root
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            [SMTP_SINK, *user, "-h", "127.0.0.1", "-d", f"{self.folder}/m.", f"127.0.0.1:{self.port}", "256"],
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("smtp-sink did not start") from None
                time.sleep(0.05)
        self.running = True
        threading.Thread(target=self._scan, daemon=True).start()

    def _scan(self) -> None:
        """Note each dumped message's arrival (its file's modification time), then delete the file:
        the folder stays small, so scanning it every 10 ms costs little of the cores being measured."""
        while self.running:
            for entry in os.scandir(self.folder):
                at = entry.stat().st_mtime
                found = _MESSAGE_ID.search(Path(entry.path).read_bytes())
                if found is None:
                    continue  # still being written: read it on the next pass
                os.unlink(entry.path)
                with self.lock:
                    self.arrived[found.group(1).decode()] = at
            time.sleep(0.01)

    def stop(self) -> None:
        self.running = False
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def make_inbox(kind: str) -> _Inbox:
    """`postfix` (the default where /usr/sbin/smtp-sink exists) or `aiosmtpd`."""
    if kind == "postfix" or (kind == "auto" and Path(SMTP_SINK).exists()):
        return PostfixSink()
    return AiosmtpdSink()
