"""Logs: one JSON object per event in production (the default), one short line per event locally
(LOG_FORMAT=console), where a request forwarded by the gateway is told once and errors stand out."""

from __future__ import annotations

import json
import logging

import pytest

from servicekit import create_app
from servicekit.logging import configure_logging, request_id
from servicekit.service import Runtime
from tests.probe.service import SERVICE

RED, YELLOW = "\x1b[1;31m", "\x1b[33m"


@pytest.fixture
def logged(capsys, monkeypatch):
    """`logged(format, emit)` -> the lines `emit()` wrote to stderr under that LOG_FORMAT."""
    saved = logging.getLogger().handlers[:], logging.getLogger().level

    def run(log_format: str, emit, *, colour: bool = True) -> list[str]:
        monkeypatch.setenv("LOG_FORMAT", log_format)
        if colour:
            monkeypatch.delenv("NO_COLOR", raising=False)
        else:
            monkeypatch.setenv("NO_COLOR", "1")
        configure_logging("quota", "INFO")
        capsys.readouterr()
        emit()
        return capsys.readouterr().err.splitlines()

    yield run
    logging.getLogger().handlers[:], level = saved
    logging.getLogger().setLevel(level)


def access(status: int, **extra) -> None:
    fields = {"method": "POST", "route": "/campaigns/<campaign_id>", "status": status, "ms": 12.3, **extra}
    logging.getLogger("access").info("request", extra=fields)


def test_json_is_the_default_one_object_per_line_with_the_request_id(logged):
    def emit():
        token = request_id.set("req-1")
        access(201, forwarded=True)
        request_id.reset(token)

    [line] = logged("", emit)
    entry = json.loads(line)
    assert entry["service"] == "quota" and entry["logger"] == "access" and entry["level"] == "info"
    assert (entry["request_id"], entry["route"], entry["status"], entry["forwarded"]) == (
        "req-1",
        "/campaigns/<campaign_id>",
        201,
        True,
    )


def test_console_lines_are_short_and_errors_stand_out(logged):
    def emit():
        access(201)
        access(404)
        access(503)
        logging.getLogger("servicekit.bus.consumer").info("batch handled", extra={"events": 7})
        try:
            raise RuntimeError("the disk is full")
        except RuntimeError:
            logging.getLogger("servicekit.bus.relay").exception("publish failed")

    lines = logged("console", emit)
    created, missing, unavailable, handled, failed, *traceback = lines
    assert created.endswith("quota      POST /campaigns/<campaign_id> 201 12.3 ms") and "\x1b" not in created
    assert missing.startswith(YELLOW) and " 404 " in missing
    assert unavailable.startswith(RED) and " 503 " in unavailable
    assert handled.endswith("batch handled  [servicekit.bus.consumer]  events=7")
    assert failed.startswith(RED) and "ERROR publish failed" in failed
    assert "RuntimeError: the disk is full" in "\n".join(traceback)
    assert not any('{"' in line for line in lines), "no JSON on the console"


def test_no_colour_when_asked(logged):
    [line] = logged("console", lambda: access(500), colour=False)
    assert "\x1b" not in line and " 500 " in line


def test_console_tells_a_forwarded_request_once(logged, monkeypatch, tmp_path):
    """The gateway logs every request it forwards; the service's own line would say it again."""
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    runtime = Runtime(SERVICE)
    app = create_app(SERVICE, runtime)
    client = app.test_client()

    def emit():
        client.get("/openapi.json", headers={"X-Forwarded-Prefix": "/api/probe"})
        client.get("/openapi.json")

    try:
        console = logged("console", emit)
        production = logged("json", emit)
    finally:
        runtime.engine.dispose()
    assert [line for line in console if "/openapi.json" in line] == [console[-1]]
    assert [json.loads(line)["forwarded"] for line in production if '"access"' in line] == [True, False]


def test_an_unknown_format_is_refused(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        configure_logging("quota")


def test_console_shortens_long_details(logged):
    events = [f"aggregate.event_number_{n}" for n in range(20)]
    [line] = logged(
        "console", lambda: logging.getLogger("servicekit.worker").info("worker started", extra={"events": events})
    )
    assert "events=['aggregate.event_number_0'" in line and line.endswith("…") and len(line) < 200
