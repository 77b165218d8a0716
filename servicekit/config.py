"""Configuration from environment variables only (12-factor).

With nothing set, everything runs embedded under `var/`: one SQLite file per
service and kombu's filesystem:// transport. Setting `<SERVICE>_DATABASE_URL`
and `BROKER_URL` switches to PostgreSQL and RabbitMQ with no code change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .keys import check_url, production

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_BROKER = "localfs"  # registered with kombu by servicekit.bus.localfs
QUEUE_TYPES = ("classic", "quorum")


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in {"1", "true", "yes", "on"}


def _int_list(name: str, default: str) -> tuple[int, ...]:
    return tuple(int(part) for part in _env(name, default).split(",") if part.strip())


@dataclass(frozen=True)
class BusSettings:
    url: str
    transport_options: dict
    namespace: str
    retry_delays_ms: tuple[int, ...]
    prefetch: int
    relay_batch: int
    relay_poll_seconds: float
    heartbeat: int
    relay_safety_poll_seconds: float = 2.0
    relay_wake_on_commit: bool = True  # off behind a pooler that cannot LISTEN (PgBouncer's transaction mode)
    queue_type: str = "classic"
    # Consumers accept an event only when RabbitMQ vouches (the message's user_id) that the service owning
    # its type published it (BUS_VERIFY_PUBLISHER; on by default in production). Each service's broker user
    # is `<BUS_NAMESPACE><service>` (python -m servicekit.provision makes them).
    verify_publisher: bool = False

    @property
    def user(self) -> str | None:
        """The broker user this process connects as (RabbitMQ checks a message's user_id against it)."""
        if self.embedded:
            return None
        return unquote(urlsplit(self.url).username or "") or None

    def publisher_user(self, service: str) -> str:
        """The broker user of `service`: the only one whose events of that service's types are accepted."""
        return f"{self.namespace}{service}"

    @property
    def exchange(self) -> str:
        return f"{self.namespace}upskilling.events"

    @property
    def embedded(self) -> bool:
        return self.url.startswith(f"{LOCAL_BROKER}://")

    def queue(self, service: str) -> str:
        return f"{self.namespace}{service}"

    def retry_queue(self, service: str, delay_ms: int) -> str:
        return f"{self.namespace}{service}.retry.{delay_ms}ms"

    def dead_letter_queue(self, service: str) -> str:
        return f"{self.namespace}{service}.dead"

    # The events exchange's alternate exchange takes every event no queue is bound to: its queue is where
    # workers pick them up, log them and move them to the record operators read and replay.
    @property
    def unroutable_exchange(self) -> str:
        return f"{self.namespace}upskilling.unroutable"

    @property
    def unroutable_incoming(self) -> str:
        return f"{self.namespace}upskilling.unroutable.incoming"

    @property
    def unroutable_queue(self) -> str:
        return f"{self.namespace}upskilling.unroutable"


@dataclass(frozen=True)
class SagaSettings:
    """When a late answer is asked for again, and when a waiting item counts as stalled (servicekit.sagas)."""

    reask_seconds: float
    stall_seconds: float
    sweep_seconds: float


@dataclass(frozen=True)
class Settings:
    service: str
    var_dir: Path
    database_url: str
    migrate_on_start: bool
    log_level: str
    bus: BusSettings = field(repr=False)
    sagas: SagaSettings = field(default_factory=lambda: load_saga_settings())
    host: str = "127.0.0.1"  # what a process listens on (HOST; the image sets 0.0.0.0)
    metrics_port: int | None = None  # METRICS_PORT: the worker serves /metrics there
    # Idempotency keys (servicekit.idempotency): kept this long after first use, and a running
    # request's claim is taken over after the lease (its process died).
    idempotency_key_ttl_seconds: int = 24 * 3600
    idempotency_lease_seconds: int = 60
    # A request that queued longer than this for a worker thread is refused 503 before any work
    # (servicekit.admission); 0 turns the check off.
    api_queue_budget_seconds: float = 3.0

    def prepare_local_folders(self) -> None:
        """The embedded database file and broker folders live under var/."""
        if self.database_url.startswith("sqlite") or self.bus.embedded:
            self.var_dir.mkdir(parents=True, exist_ok=True)
        for key in ("data_folder_in", "control_folder"):
            if folder := self.bus.transport_options.get(key):
                Path(folder).mkdir(parents=True, exist_ok=True)


def load_settings(service: str) -> Settings:
    var_dir = Path(_env("VAR_DIR", str(REPO_ROOT / "var"))).resolve()
    default_db = f"sqlite:///{var_dir / (service + '.db')}"
    database_url = _env(f"{service.upper()}_DATABASE_URL", default_db)
    settings = Settings(
        service=service,
        var_dir=var_dir,
        database_url=database_url,
        migrate_on_start=_flag("MIGRATE_ON_START", database_url == default_db),
        log_level=_env("LOG_LEVEL", "INFO").upper(),
        bus=load_bus_settings(var_dir, service),
        sagas=load_saga_settings(),
        host=_env("HOST", "127.0.0.1"),
        metrics_port=int(port) if (port := _env("METRICS_PORT", "")) else None,
        idempotency_key_ttl_seconds=int(_env("IDEMPOTENCY_KEY_TTL_SECONDS", str(24 * 3600))),
        idempotency_lease_seconds=int(_env("IDEMPOTENCY_LEASE_SECONDS", "60")),
        api_queue_budget_seconds=float(_env("API_QUEUE_BUDGET_SECONDS", "3")),
    )
    check_url(f"{service.upper()}_DATABASE_URL", database_url)
    check_url("BROKER_URL", settings.bus.url)
    return settings


def load_saga_settings() -> SagaSettings:
    return SagaSettings(
        reask_seconds=float(_env("SAGA_REASK_SECONDS", "60")),
        stall_seconds=float(_env("SAGA_STALL_SECONDS", "900")),
        sweep_seconds=float(_env("SAGA_SWEEP_SECONDS", "10")),
    )


def load_bus_settings(var_dir: Path, service: str | None = None) -> BusSettings:
    # A service's own broker user may come in `<SERVICE>_BROKER_URL` (the provisioning job holds all of them).
    url = _env("BROKER_URL", "filesystem://")
    if service:
        url = _env(f"{service.upper()}_BROKER_URL", url)
    if url.startswith("filesystem://"):
        # kombu's filesystem transport with atomic message files (servicekit.bus.localfs).
        url = f"{LOCAL_BROKER}://" + url[len("filesystem://") :]
    options: dict = {}
    if url.startswith(f"{LOCAL_BROKER}://"):
        folder = var_dir / "broker"
        options = {
            "data_folder_in": str(folder / "data"),
            "data_folder_out": str(folder / "data"),
            "control_folder": str(folder / "control"),
        }
    queue_type = _env("BUS_QUEUE_TYPE", "classic").lower()
    if queue_type not in QUEUE_TYPES:
        raise ValueError(f"BUS_QUEUE_TYPE must be one of {', '.join(QUEUE_TYPES)}, not {queue_type!r}")
    return BusSettings(
        url=url,
        transport_options=options,
        namespace=_env("BUS_NAMESPACE", ""),
        # Growing delays between handling attempts; after the last one the
        # message goes to the service's dead-letter queue.
        retry_delays_ms=_int_list("BUS_RETRY_DELAYS_MS", "1000,5000,30000"),
        # The most events handled in one transaction: a backlog (the registration saga under load) drains in
        # batches of 100 with a fifth of 20's round trips (settled 141-149/s -> 158-167/s, saga_throughput.py).
        prefetch=int(_env("BUS_PREFETCH", "100")),
        relay_batch=int(_env("RELAY_BATCH", "200")),
        relay_poll_seconds=float(_env("RELAY_POLL_SECONDS", "0.2")),
        heartbeat=int(_env("BROKER_HEARTBEAT", "30")),
        # On PostgreSQL relays are woken by each commit (LISTEN/NOTIFY); this slow poll is the safety net.
        relay_safety_poll_seconds=float(_env("RELAY_SAFETY_POLL_SECONDS", "2")),
        relay_wake_on_commit=_flag("RELAY_WAKE_ON_COMMIT", True),
        queue_type=queue_type,
        verify_publisher=_flag("BUS_VERIFY_PUBLISHER", production()),
    )
