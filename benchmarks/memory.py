"""Resident memory of the stack's processes, read from /proc (Linux): now (VmRSS) and at its peak (VmHWM)."""

from __future__ import annotations

import threading
from pathlib import Path


def workers_of(master: int) -> list[int]:
    """gunicorn's worker processes: the master's children."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{master}\n" in status:
                found.append(int(entry.name))
    return found


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} for process {pid}")


def rss_kib(pid: int) -> int:
    return _status_kib(pid, "VmRSS")


def peak_rss_kib(pid: int) -> int:
    """The most the process has held resident since it started."""
    return _status_kib(pid, "VmHWM")


def peaks_line(processes: dict[str, int], *, gunicorn: set[str]) -> str:
    """'name peak MiB' per process; a gunicorn master's name stands for its largest worker."""
    parts = []
    for name, pid in processes.items():
        pids = workers_of(pid) if name in gunicorn else [pid]
        if pids:
            parts.append(f"{name} {max(peak_rss_kib(p) for p in pids) / 1024:.0f}")
    return "peak resident memory (MiB): " + ", ".join(parts)


def pids_of(processes: dict[str, int], *, gunicorn: set[str]) -> dict[str, list[int]]:
    """Each named process's pids: a gunicorn master's name stands for its workers."""
    return {name: workers_of(pid) if name in gunicorn else [pid] for name, pid in processes.items()}


class PeakRss(threading.Thread):
    """Each named process's resident memory before (its idle baseline) and at its largest while sampling, every
    50 ms; a name with several pids (gunicorn's workers) counts its largest."""

    def __init__(self, processes: dict[str, list[int]]):
        super().__init__(daemon=True)
        self.processes = processes
        self.baseline = {pid: rss_kib(pid) for pids in processes.values() for pid in pids}
        self.peak = dict(self.baseline)
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.done.wait(0.05):
            for pid in self.peak:
                self.peak[pid] = max(self.peak[pid], rss_kib(pid))

    def stop(self) -> dict[str, tuple[int, int]]:
        """Per name: (baseline KiB, peak KiB) of the pid that grew most."""
        self.done.set()
        self.join()
        return {
            name: max(((self.baseline[p], self.peak[p]) for p in pids), key=lambda pair: pair[1] - pair[0])
            for name, pids in self.processes.items()
            if pids
        }
