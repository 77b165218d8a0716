"""The envelope every integration event travels in."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import contracts

FIELDS = ("id", "type", "version", "occurred_at", "producer", "correlation_id", "causation_id", "data")


class MalformedMessage(ValueError):
    """A message that is not an envelope, or whose data breaks its contract."""


@dataclass(frozen=True)
class Envelope:
    id: str
    type: str
    version: int
    occurred_at: str
    producer: str
    correlation_id: str
    causation_id: str | None
    data: dict
    # Message headers, not part of the event's contract: the W3C trace context (traceparent, tracestate)
    # of what published it (servicekit.tracing). Left out of the JSON when empty.
    headers: dict = field(default_factory=dict, compare=False)
    # Delivery facts, not part of the event: which handling attempt this is.
    attempt: int = field(default=1, compare=False)

    @classmethod
    def new(
        cls,
        event_type: str,
        data: dict,
        *,
        producer: str,
        version: int | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        headers: dict | None = None,
    ) -> Envelope:
        """Build an event, refusing at once a payload that breaks its contract."""
        version = version or contracts.latest_version(event_type)
        contracts.validate(event_type, version, data, strict=True)
        event_id = str(uuid.uuid4())
        return cls(
            id=event_id,
            type=event_type,
            version=version,
            occurred_at=datetime.now(UTC).isoformat(timespec="microseconds"),
            producer=producer,
            correlation_id=correlation_id or event_id,
            causation_id=causation_id,
            data=data,
            headers=headers or {},
        )

    def to_dict(self) -> dict:
        # Not dataclasses.asdict: its deep copy of `data` was a third of the time a 1000-line batch spent
        # building its events, and the JSON written from this dict copies the values anyway.
        body = {name: getattr(self, name) for name in FIELDS}
        if self.headers:
            body["headers"] = self.headers
        return body

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def parse(cls, body: bytes | str | dict, *, attempt: int = 1) -> Envelope:
        """Decode and validate (leniently: newer producers may add fields)."""
        try:
            raw = body if isinstance(body, dict) else json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedMessage(f"body is not JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise MalformedMessage("body is not a JSON object")
        missing = [name for name in FIELDS if name not in raw]
        if missing:
            raise MalformedMessage(f"envelope lacks {', '.join(missing)}")
        if not isinstance(raw["version"], int) or not isinstance(raw["type"], str):
            raise MalformedMessage("envelope type must be a string and version an integer")
        try:
            uuid.UUID(str(raw["id"]))
            datetime.fromisoformat(str(raw["occurred_at"]))
        except ValueError as exc:
            raise MalformedMessage(f"envelope id or occurred_at malformed: {exc}") from None
        try:
            contracts.validate(raw["type"], raw["version"], raw["data"], strict=False)
        except contracts.ContractViolation as exc:
            raise MalformedMessage(str(exc)) from None
        headers = raw.get("headers")
        headers = {k: v for k, v in headers.items() if isinstance(v, str)} if isinstance(headers, dict) else {}
        return cls(**{name: raw[name] for name in FIELDS}, headers=headers, attempt=attempt)
