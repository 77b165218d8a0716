"""Body size, dead and hanging upstreams, the circuit breaker: the gateway fails fast, never hangs."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from gateway.guard import EXTENSION as GUARD
from gateway.guard import RATE_WINDOW_SECONDS
from gateway.limits import LeasedCounter
from tests.support.processes import wait_for
from tests.support.wsgi_server import Server

from .conftest import authorized_client, gateway_app
from .upstream import Blackhole, Unreachable, service_app

PROBLEM_JSON = "application/problem+json"


def timed(client, path, method="GET", **kwargs):
    started = time.perf_counter()
    response = client.open(path, method=method, **kwargs)
    return response, time.perf_counter() - started


def test_a_body_over_10_mib_is_a_413_problem(sqlite_runtime, sqlite_service):
    client = authorized_client(gateway_app(sqlite_runtime, quota=sqlite_service.url))
    response = client.post("/api/quota/whoami", data=b"x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413 and response.mimetype == PROBLEM_JSON
    assert response.get_json()["code"] == "payload_too_large"
    assert sqlite_service.app.config["hits"] == []
    assert client.post("/api/quota/whoami", data=b"x" * 1024).status_code == 200


def test_a_stopped_upstream_is_a_503_problem_within_a_second(sqlite_runtime):
    server = Server(service_app(sqlite_runtime.settings.var_dir))
    client = authorized_client(gateway_app(sqlite_runtime, finance=server.url))
    assert client.get("/api/finance/whoami").status_code == 200
    server.stop()
    response, seconds = timed(client, "/api/finance/whoami")
    assert response.status_code == 503 and response.mimetype == PROBLEM_JSON
    assert response.get_json()["code"] == "service_unavailable"
    assert seconds < 1.0


def test_a_connection_attempt_gives_up_after_the_connect_timeout_with_a_503_problem(sqlite_runtime):
    host = Unreachable()
    try:
        for timeout in (0.2, 0.6):
            env = {"GATEWAY_CONNECT_TIMEOUT": str(timeout)}
            client = authorized_client(gateway_app(sqlite_runtime, env, finance=host.url))
            response, seconds = timed(client, "/api/finance/whoami")
            assert response.status_code == 503 and response.mimetype == PROBLEM_JSON
            assert response.get_json()["code"] == "service_unavailable"
            assert timeout <= seconds < timeout + 0.3
    finally:
        host.stop()


def test_the_circuit_opens_after_consecutive_failures_and_lets_one_trial_through_after_the_cooldown(
    sqlite_runtime, blackhole
):
    env = {"GATEWAY_UPSTREAM_TIMEOUT": "0.3", "GATEWAY_BREAKER_FAILURES": "2", "GATEWAY_BREAKER_COOLDOWN": "0.6"}
    client = authorized_client(gateway_app(sqlite_runtime, env, quota=blackhole.url))
    for _ in range(2):
        response, seconds = timed(client, "/api/quota/whoami")
        assert response.status_code == 504 and seconds >= 0.3
    assert len(blackhole.accepted) == 2

    response, seconds = timed(client, "/api/quota/whoami")  # open: not even tried
    assert response.status_code == 503 and response.mimetype == PROBLEM_JSON
    assert seconds < 0.2
    assert len(blackhole.accepted) == 2

    # After the cool-down one trial reaches the instance again (and, failing, opens the circuit anew).
    wait_for(lambda: client.get("/api/quota/whoami").status_code == 504, timeout=5, message="the trial request")
    assert len(blackhole.accepted) == 3
    assert timed(client, "/api/quota/whoami")[0].status_code == 503
    assert len(blackhole.accepted) == 3


def test_an_open_instance_is_skipped_for_a_healthy_one(sqlite_runtime, blackhole, sqlite_service):
    env = {"GATEWAY_UPSTREAM_TIMEOUT": "0.3", "GATEWAY_BREAKER_FAILURES": "1", "GATEWAY_BREAKER_COOLDOWN": "30"}
    client = authorized_client(gateway_app(sqlite_runtime, env, quota=f"{blackhole.url},{sqlite_service.url}"))
    statuses = [timed(client, "/api/quota/whoami") for _ in range(6)]
    assert [response.status_code for response, _ in statuses].count(504) == 1
    assert all(seconds < 0.2 for response, seconds in statuses if response.status_code == 200)
    assert len(blackhole.accepted) == 1


def test_a_service_whose_every_instance_hangs_answers_503_within_a_second(sqlite_runtime):
    holes = [Blackhole(), Blackhole()]
    try:
        env = {"GATEWAY_UPSTREAM_TIMEOUT": "0.2", "GATEWAY_BREAKER_FAILURES": "1", "GATEWAY_BREAKER_COOLDOWN": "30"}
        client = authorized_client(gateway_app(sqlite_runtime, env, enrollment=",".join(h.url for h in holes)))
        for _ in range(2):
            assert client.get("/api/enrollment/whoami").status_code == 504
        response, seconds = timed(client, "/api/enrollment/whoami")
        assert response.status_code == 503 and seconds < 1.0
    finally:
        for hole in holes:
            hole.stop()


def test_a_late_lease_for_an_ended_window_leaves_the_next_windows_lease_alone(sqlite_runtime):
    counter = LeasedCounter(sqlite_runtime.sessions.begin)
    limit, window, key = 600, 60, "rate:subject:late-lease"
    counter.lease(key, limit=limit, window=window, now=1_000_020.0)  # the window starting at 1,000,020
    counter.lease(key, limit=limit, window=window, now=1_000_019.0)  # started in the previous one, done late
    assert counter.spend(key, window=window, now=1_000_021.0).allowed


def test_a_request_begun_before_another_turned_the_window_is_counted_in_the_new_one(sqlite_runtime, monkeypatch):
    """A request reads the clock just before a minute ends; another takes the next minute's lease first. The
    first one must then be counted in the new minute, not wait for the ended minute's lease for ever."""
    guard = gateway_app(sqlite_runtime).extensions[GUARD]
    client, ended, turned = "subject:window-turn", 1_000_019.0, 1_000_021.0
    guard.rates.lease(f"rate:{client}", limit=600, window=RATE_WINDOW_SECONDS, now=turned)
    readings = iter([ended])
    monkeypatch.setattr("gateway.guard.time", SimpleNamespace(time=lambda: next(readings, turned)))

    async def run_blocking(function, *args, **kwargs):
        return function(*args, **kwargs)

    asyncio.run(asyncio.wait_for(guard.limit(client, run_blocking), timeout=5))  # raises when refused or stuck
    assert guard.rates.spend(f"rate:{client}", window=RATE_WINDOW_SECONDS, now=turned).allowed


def test_a_lease_done_for_the_ended_minute_is_not_awaited_again_in_the_new_one(sqlite_runtime, monkeypatch):
    """At a minute's turn a request may run before the callback that forgets the lease just done: it must take the
    new minute's lease, not await the one done again and again without ever letting the event loop go on."""
    guard = gateway_app(sqlite_runtime).extensions[GUARD]
    client, ended, turned = "subject:lease-done", 1_000_019.0, 1_000_021.0
    key = f"rate:{client}"
    guard.rates.lease(key, limit=600, window=RATE_WINDOW_SECONDS, now=ended)
    readings = iter([turned] * 50)  # far more than a request reads: then the clock fails, ending a spin

    def clock() -> float:
        reading = next(readings, None)
        assert reading is not None, "the request read the clock fifty times: it spins, the event loop hangs"
        return reading

    monkeypatch.setattr("gateway.guard.time", SimpleNamespace(time=clock))

    async def run_blocking(function, *args, **kwargs):
        return function(*args, **kwargs)

    async def request_after_the_lease_is_done() -> None:
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        guard._leasing[key] = done  # the ended minute's lease, its callback not run yet
        await guard.limit(client, run_blocking)

    asyncio.run(asyncio.wait_for(request_after_the_lease_is_done(), timeout=5))
    assert guard.rates.spend(key, window=RATE_WINDOW_SECONDS, now=turned).allowed


def test_a_lease_done_late_does_not_forget_the_lease_begun_after_it(sqlite_runtime):
    """The callback of the lease just done runs after a request may have begun the next one: that one stays the
    client's lease being taken, so no second lease is taken beside it (each takes a batch of the shared count)."""
    guard = gateway_app(sqlite_runtime).extensions[GUARD]
    key = "rate:subject:lease-after"

    async def a_lease_done_after_the_next_began() -> None:
        loop = asyncio.get_running_loop()
        ended, next_one = loop.create_future(), loop.create_future()
        guard._leasing[key] = next_one
        ended.set_result(None)
        guard._lease_done(key, ended)
        assert guard._leasing.get(key) is next_one
        next_one.set_result(None)
        guard._lease_done(key, next_one)
        assert key not in guard._leasing

    asyncio.run(a_lease_done_after_the_next_began())
