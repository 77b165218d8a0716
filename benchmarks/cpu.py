"""CPU time spent by the stack's processes and by the servers under it, read from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
SERVERS = {"PostgreSQL": ("postgres",), "RabbitMQ": ("beam.smp",)}


def cpu_seconds(pid: int) -> float:
    """User and system time of a process so far; 0 for one gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def server_pids() -> dict[str, list[int]]:
    """The local PostgreSQL's processes (its backends come and go with connections) and RabbitMQ's."""
    found: dict[str, list[int]] = {name: [] for name in SERVERS}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        program = command.split()[0].rsplit("/", 1)[-1].rstrip(":") if command else ""
        for name, programs in SERVERS.items():
            if program in programs:
                found[name].append(int(entry.name))
    return found


class CpuSpent:
    """CPU seconds per named group of processes between `__init__` and `line`; PostgreSQL's and RabbitMQ's
    processes are found again at the end, so a backend started in between counts in full."""

    def __init__(self, processes: dict[str, list[int]]):
        self.processes = processes
        self.before = {pid: cpu_seconds(pid) for pids in self._groups().values() for pid in pids}

    def _groups(self) -> dict[str, list[int]]:
        return {**self.processes, **server_pids()}

    def spent(self) -> dict[str, float]:
        return {
            name: sum(cpu_seconds(pid) - self.before.get(pid, 0.0) for pid in pids)
            for name, pids in self._groups().items()
        }

    def line(self, per: int, what: str) -> str:
        spent = self.spent()
        parts = [f"{name} {seconds * 1000 / per:.2f}" for name, seconds in sorted(spent.items(), key=lambda i: -i[1])]
        return f"CPU per {what} (ms): " + ", ".join(parts) + f"; all {sum(spent.values()) * 1000 / per:.2f}"
