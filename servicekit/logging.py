"""Logs: one JSON object per line in production; a short readable line per event locally.

LOG_FORMAT=json (the default) writes each event as one JSON object carrying the request id and
the event correlation id. LOG_FORMAT=console (what `./dev up` sets) writes one short line per
event, with warnings and errors in colour (unless NO_COLOR is set), and leaves out a service's
access line for a request the gateway forwarded: the gateway's line already tells it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from datetime import UTC, datetime

from .personal import scrub

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
causation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("causation_id", default=None)

FORMATS = ("json", "console")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Library chatter at INFO would drown the service's own lines.
NOISY = ("amqp", "kombu", "alembic", "werkzeug")


def _fields(record: logging.LogRecord) -> dict:
    """The event's own fields: the context's ids, then what the caller passed in `extra`."""
    entry = {}
    for key, var in (("request_id", request_id), ("correlation_id", correlation_id)):
        if (value := var.get()) is not None:
            entry[key] = value
    entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
    return entry


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return scrub(json.dumps(entry, ensure_ascii=False, default=str))


class ConsoleFormatter(logging.Formatter):
    """`12:04:05.120 gateway    POST /api/<service>/<path:rest> → quota 201 12.3 ms  request_id=...`"""

    COLOURS = {logging.WARNING: "\x1b[33m", logging.ERROR: "\x1b[1;31m"}
    RESET = "\x1b[0m"
    # Said by the line itself, or not worth a column on a terminal.
    UNSHOWN = {"method", "route", "status", "ms", "upstream_service", "upstream", "correlation_id", "forwarded"}
    LONGEST = 80  # characters of one detail's value (the JSON format keeps them whole)

    def __init__(self, service: str, colour: bool):
        super().__init__()
        self.service, self.colour = service, colour

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:12]
        if record.name == "access" and "status" in fields:
            upstream = f" → {fields['upstream_service']}" if fields.get("upstream_service") else ""
            text = f"{fields['method']} {fields['route']}{upstream} {fields['status']} {fields['ms']} ms"
        else:
            level = "" if record.levelno == logging.INFO else f"{record.levelname} "
            text = f"{level}{record.getMessage()}  [{record.name}]"
        details = " ".join(
            f"{k}={_shortened(str(v), self.LONGEST)}" for k, v in fields.items() if k not in self.UNSHOWN
        )
        line = f"{when} {self.service:<10} {text}" + (f"  {details}" if details else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        colour = self.COLOURS.get(_severity(record, fields)) if self.colour else None
        line = scrub(line)  # personal data never reaches a log (servicekit.personal)
        return f"{colour}{line}{self.RESET}" if colour else line


def _shortened(text: str, longest: int) -> str:
    return text if len(text) <= longest else text[: longest - 1] + "…"


def _severity(record: logging.LogRecord, fields: dict) -> int:
    """An access line takes the level its status deserves: a 5xx is an error, a 4xx a warning."""
    status = fields.get("status") if record.name == "access" else None
    if isinstance(status, int) and status >= 500:
        return logging.ERROR
    if isinstance(status, int) and status >= 400:
        return max(record.levelno, logging.WARNING)
    return logging.ERROR if record.levelno >= logging.ERROR else record.levelno


def _not_forwarded(record: logging.LogRecord) -> bool:
    return not (record.name == "access" and getattr(record, "forwarded", False))


def log_format() -> str:
    chosen = os.environ.get("LOG_FORMAT", "").strip().lower() or "json"
    if chosen not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {chosen!r}")
    return chosen


def formatter(service: str) -> logging.Formatter:
    """The formatter LOG_FORMAT chooses (gunicorn's own lines use it too: servicekit.gunicorn_conf)."""
    if log_format() == "console":
        return ConsoleFormatter(service, colour=not os.environ.get("NO_COLOR"))
    return JsonFormatter(service)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(service))
    if log_format() == "console":
        handler.addFilter(_not_forwarded)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
