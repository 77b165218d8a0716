"""HTTP load from processes of their own (spawned, so the load does not share a GIL with what it measures).

`closed_loop`: C connections, each sending its next request as soon as the last is answered.
`open_loop`: requests offered at a fixed rate, whatever the answers (the way people arrive).
Each gives one `Sent` per request: when it left, when its answer came, the status.

Requests go out on http.client's keep-alive connections, not requests': its client costs 1.34 ms of CPU a POST on
this machine kind against http.client's 0.36 ms, CPU the system under test, on the same two cores, would lose.
"""

from __future__ import annotations

import http.client
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Sent:
    path: str
    at: float  # time.time() when the request left
    answered: float
    status: int


class _Connection:
    """One keep-alive HTTP/1.1 connection to `base` (http.client opens it again after the server closes it)."""

    def __init__(self, base: str, headers: dict):
        url = urlsplit(base)
        self.prefix = url.path.rstrip("/")
        self.headers = {**headers, "Content-Length": "0"}
        self.http = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    def post(self, path: str) -> int:
        """The answer's status; 0 when none came (the connection is then closed, to open afresh)."""
        try:
            self.http.request("POST", self.prefix + path, headers=self.headers)
            response = self.http.getresponse()
            response.read()
            return response.status
        except (http.client.HTTPException, OSError):
            self.http.close()
            return 0


def _connection(local: threading.local, base: str, headers: dict) -> _Connection:
    if not hasattr(local, "connection"):
        local.connection = _Connection(base, headers)
    return local.connection


def _post(local: threading.local, base: str, headers: dict, path: str) -> Sent:
    at = time.time()
    status = _connection(local, base, headers).post(path)
    return Sent(path, at, time.time(), status)


def _closed(base: str, headers: dict, paths: list[str], connections: int) -> list[Sent]:
    local, lock, sent = threading.local(), threading.Lock(), []
    pending = iter(paths)

    def connection() -> None:
        while True:
            with lock:
                path = next(pending, None)
            if path is None:
                return
            answer = _post(local, base, headers, path)
            with lock:
                sent.append(answer)

    threads = [threading.Thread(target=connection) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent


def _open(base: str, headers: dict, schedule: list[tuple[float, str]], connections: int) -> list[Sent]:
    local = threading.local()
    futures = []
    with ThreadPoolExecutor(connections) as pool:
        for at, path in schedule:
            time.sleep(max(0.0, at - time.time()))
            futures.append(pool.submit(_post, local, base, headers, path))
    return [future.result() for future in futures]


def _pool(processes: int) -> ProcessPoolExecutor:
    """`processes` processes, every one started before the pool is handed out: a spawned process first imports the
    main module (the saga benchmark's: a second of CPU), and two doing so in a loop's first seconds took that CPU
    from the system under test (the load generator's 30 % of a core over the first 8 s of the saga's loop)."""
    context = multiprocessing.get_context("spawn")
    started = context.Barrier(processes + 1)
    pool = ProcessPoolExecutor(processes, mp_context=context, initializer=_arrive, initargs=(started,))
    for _ in range(processes):
        pool.submit(int)  # a task with no process idle spawns one
    started.wait(timeout=120)
    return pool


def _arrive(started) -> None:
    started.wait(timeout=120)


def closed_loop(base: str, headers: dict, paths: list[str], connections: int, processes: int = 2) -> list[Sent]:
    shares = [paths[k::processes] for k in range(processes)]
    with _pool(processes) as pool:
        parts = pool.map(
            _closed, [base] * processes, [headers] * processes, shares, [connections // processes] * processes
        )
        return [sent for part in parts for sent in part]


def open_loop(
    base: str, headers: dict, paths: list[str], rate: float, connections: int = 64, processes: int = 2
) -> list[Sent]:
    start = time.time() + 2  # every process started and waiting
    schedule = [(start + n / rate, path) for n, path in enumerate(paths)]
    shares = [schedule[k::processes] for k in range(processes)]
    with _pool(processes) as pool:
        parts = pool.map(
            _open, [base] * processes, [headers] * processes, shares, [connections // processes] * processes
        )
        return [sent for part in parts for sent in part]


def quiet(busy_below: float = 0.2, timeout: float = 120) -> float:
    """Wait until this machine's CPUs are busy less than `busy_below` over a second (the work a load left behind,
    a saga's downstream events, done), at most `timeout` seconds: how long it took. Linux (/proc/stat)."""
    started = time.monotonic()
    before = _cpu_times()
    while time.monotonic() - started < timeout:
        time.sleep(1)
        after = _cpu_times()
        spent = [b - a for a, b in zip(before, after, strict=True)]
        idle = spent[3] + spent[4]  # idle, iowait
        if sum(spent) and 1 - idle / sum(spent) < busy_below:
            break
        before = after
    return time.monotonic() - started


def _cpu_times() -> list[int]:
    with open("/proc/stat") as stat:
        return [int(value) for value in stat.readline().split()[1:]]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")
