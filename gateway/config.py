"""Gateway settings, from environment variables only (12-factor)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from servicekit.identity import (
    EMPLOYEE,
    GRASSROOTS_OFFICER,
    INSTITUTION_OPERATOR,
    INSTITUTION_SYSTEM,
    ROLES,
    UNIT_OFFICER,
)

from .incoming import parse_networks
from .sms import PROVIDERS, TencentSettings, load_tencent

# The services the gateway fronts, and where they listen in a local run (deploy/Procfile).
DEFAULT_URLS = {
    "quota": "http://127.0.0.1:8001",
    "enrollment": "http://127.0.0.1:8002",
    "finance": "http://127.0.0.1:8003",
    "evaluation": "http://127.0.0.1:8004",
}
SERVICES = tuple(DEFAULT_URLS)
ANY_ORIGIN = "*"
# Without GATEWAY_EXTERNAL_ROLES, an external token may carry only these roles, named as here: the
# federation's (federation_admin, auditor) only when the operator maps them explicitly.
DEFAULT_EXTERNAL_ROLES = {role: role for role in (UNIT_OFFICER, GRASSROOTS_OFFICER, INSTITUTION_OPERATOR, EMPLOYEE)}


@dataclass(frozen=True)
class ExternalIdentityProvider:
    """An identity provider whose RS/ES-signed tokens the gateway trusts, found by its JWKS."""

    jwks_url: str
    issuer: str
    audience: str  # required: a token made for another application must not open this one
    role_claim: str = "role"  # the scope claims carry the Identity field names (unit_id, ...)
    # The provider's role values -> the roles they grant here; a value not listed is refused.
    roles: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_EXTERNAL_ROLES))


@dataclass(frozen=True)
class AuthSettings:
    access_token_seconds: int = 900
    refresh_token_seconds: int = 12 * 3600  # a working day; each refresh starts a new one
    session_seconds: int = 12 * 3600  # how long a login lasts at most, however often refreshed (staff)
    employee_session_seconds: int = 12 * 3600  # the same for employees' logins
    rate_limit_per_minute: int = 600  # per authenticated client (or per address on public routes)
    # role -> requests a minute per client of that role; roles not named here get rate_limit_per_minute
    rate_limits_by_role: tuple[tuple[str, int], ...] = ()
    login_failures_per_address: int = 100  # failed logins per LOGIN_WINDOW_SECONDS from one client address
    login_free_failures: int = 5  # failures of one username (from anywhere) before its delays start
    login_max_delay_seconds: int = 300  # the longest a failing address waits between tries of one username
    activation_code_hours: int = 7 * 24  # how long an employee's one-time activation code is valid
    sms_provider: str = "log"  # how codes are sent (gateway.sms.PROVIDERS): locally, to the log
    sms_tencent: TencentSettings | None = None  # the credentials when sms_provider is tencent
    trusted_proxies: tuple = ()  # networks whose X-Forwarded-For names the client (gateway.incoming)
    revocation_refresh_seconds: float = 5.0  # how stale a process's map of revoked tokens may be (revocations)
    external: ExternalIdentityProvider | None = None
    bootstrap_admin: str | None = None
    bootstrap_password: str | None = field(default=None, repr=False)

    def session_seconds_of(self, role: str) -> int:
        return self.employee_session_seconds if role == EMPLOYEE else self.session_seconds


@dataclass(frozen=True)
class GatewaySettings:
    upstreams: dict[str, tuple[str, ...]]  # service -> base URLs of its instances
    upstream_timeout: float = 10.0  # seconds an upstream may stay silent once connected
    connect_timeout: float = 1.0  # short, so a dead instance fails fast instead of hanging
    log_level: str = "INFO"
    breaker_failures: int = 5  # consecutive failures that open an instance's circuit
    breaker_cooldown: float = 10.0  # seconds an open instance is skipped before one trial request
    cors_origins: tuple[str, ...] = ()  # browser portals' origins (gateway.cors); empty: no CORS
    metrics_port: int | None = None  # set: /metrics answers on this port only (servicekit.gunicorn_conf binds it)
    auth: AuthSettings = AuthSettings()


def _env(environ, name: str, default: str) -> str:
    return environ.get(name, "").strip() or default


def _positive(environ, name: str, default, convert, kind: str):
    raw = _env(environ, name, str(default))
    try:
        value = convert(raw)
    except ValueError:
        raise ValueError(f"{name} must be {kind}, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero")
    return value


def _positive_seconds(environ, name: str, default: float) -> float:
    return _positive(environ, name, default, float, "a number of seconds")


def _positive_int(environ, name: str, default: int) -> int:
    return _positive(environ, name, default, int, "a whole number")


def _listed(raw: str) -> list[str]:
    return [part.strip().rstrip("/") for part in raw.split(",") if part.strip()]


def _http_url(name: str, url: str, what: str, *, path: bool) -> str:
    """The URL when it is an http(s) one of this shape; a bad one stops the start, not a request later."""
    parts = urlsplit(url)
    try:
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise ValueError(f"{name}: {url!r} has a malformed port") from None
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.query
        or parts.fragment
        or (parts.path and not path)
    ):
        raise ValueError(f"{name}: {url!r} is not {what}")
    return url


def parse_urls(name: str, raw: str) -> tuple[str, ...]:
    """A comma-separated list of base URLs."""
    urls = tuple(_http_url(name, url, "an http(s) base URL", path=True) for url in _listed(raw))
    if not urls:
        raise ValueError(f"{name} lists no URL")
    return urls


def parse_origins(raw: str) -> tuple[str, ...]:
    """GATEWAY_CORS_ORIGINS: comma-separated scheme://host[:port], or "*" alone (gateway.cors)."""
    origins = tuple(_listed(raw))
    if ANY_ORIGIN in origins:
        if len(origins) > 1:
            raise ValueError('GATEWAY_CORS_ORIGINS: "*" admits every origin and goes alone')
        return origins
    return tuple(
        _http_url("GATEWAY_CORS_ORIGINS", origin, "an origin (scheme://host[:port])", path=False) for origin in origins
    )


def load_settings(environ=None) -> GatewaySettings:
    environ = os.environ if environ is None else environ
    upstreams = {
        service: parse_urls(f"{service.upper()}_URLS", _env(environ, f"{service.upper()}_URLS", default))
        for service, default in DEFAULT_URLS.items()
    }
    return GatewaySettings(
        upstreams=upstreams,
        upstream_timeout=_positive_seconds(environ, "GATEWAY_UPSTREAM_TIMEOUT", 10.0),
        connect_timeout=_positive_seconds(environ, "GATEWAY_CONNECT_TIMEOUT", 1.0),
        log_level=_env(environ, "LOG_LEVEL", "INFO").upper(),
        breaker_failures=_positive_int(environ, "GATEWAY_BREAKER_FAILURES", 5),
        breaker_cooldown=_positive_seconds(environ, "GATEWAY_BREAKER_COOLDOWN", 10.0),
        cors_origins=parse_origins(environ.get("GATEWAY_CORS_ORIGINS", "")),
        metrics_port=_positive_int(environ, "METRICS_PORT", 0) if environ.get("METRICS_PORT", "").strip() else None,
        auth=load_auth_settings(environ),
    )


def load_auth_settings(environ) -> AuthSettings:
    admin, password = environ.get("GATEWAY_BOOTSTRAP_ADMIN", "").strip(), environ.get("GATEWAY_BOOTSTRAP_PASSWORD", "")
    if bool(admin) != bool(password):
        raise ValueError("GATEWAY_BOOTSTRAP_ADMIN and GATEWAY_BOOTSTRAP_PASSWORD go together")
    sms_provider = _sms_provider(environ)
    return AuthSettings(
        access_token_seconds=_positive_int(environ, "GATEWAY_ACCESS_TOKEN_SECONDS", 900),
        refresh_token_seconds=_positive_int(environ, "GATEWAY_REFRESH_TOKEN_SECONDS", 12 * 3600),
        session_seconds=_positive_int(environ, "GATEWAY_SESSION_SECONDS", 12 * 3600),
        employee_session_seconds=_positive_int(environ, "GATEWAY_EMPLOYEE_SESSION_SECONDS", 12 * 3600),
        rate_limit_per_minute=_positive_int(environ, "GATEWAY_RATE_LIMIT_PER_MINUTE", 600),
        rate_limits_by_role=_rate_limits_by_role(environ, _positive_int(environ, "GATEWAY_RATE_LIMIT_PER_MINUTE", 600)),
        login_failures_per_address=_positive_int(environ, "GATEWAY_LOGIN_FAILURES_PER_ADDRESS", 100),
        login_free_failures=_positive_int(environ, "GATEWAY_LOGIN_FREE_FAILURES", 5),
        login_max_delay_seconds=_positive_int(environ, "GATEWAY_LOGIN_MAX_DELAY_SECONDS", 300),
        activation_code_hours=_positive_int(environ, "GATEWAY_ACTIVATION_CODE_HOURS", 7 * 24),
        sms_provider=sms_provider,
        sms_tencent=load_tencent(environ) if sms_provider == "tencent" else None,
        trusted_proxies=parse_networks("GATEWAY_TRUSTED_PROXIES", environ.get("GATEWAY_TRUSTED_PROXIES", "")),
        revocation_refresh_seconds=_positive_seconds(environ, "GATEWAY_REVOCATION_REFRESH_SECONDS", 5.0),
        external=_external_provider(environ),
        bootstrap_admin=admin or None,
        bootstrap_password=password or None,
    )


def _sms_provider(environ) -> str:
    provider = environ.get("GATEWAY_SMS_PROVIDER", "log").strip() or "log"
    if provider not in PROVIDERS:
        raise ValueError(f"GATEWAY_SMS_PROVIDER: one of {', '.join(PROVIDERS)}")
    return provider


# Default allowances per role, in multiples of GATEWAY_RATE_LIMIT_PER_MINUTE: an institution's system
# publishes results and attendance in bursts, officers page through lists and act in bulk.
ROLE_RATE_MULTIPLES = {
    "institution_system": 10,
    "institution_operator": 3,
    "unit_officer": 3,
    "grassroots_officer": 3,
    "federation_admin": 3,
    "auditor": 3,
}


def _rate_limits_by_role(environ, default: int) -> tuple[tuple[str, int], ...]:
    """GATEWAY_RATE_LIMITS_BY_ROLE="institution_system=6000,unit_officer=1800" over the multiples above."""
    limits = {role: default * multiple for role, multiple in ROLE_RATE_MULTIPLES.items()}
    for part in environ.get("GATEWAY_RATE_LIMITS_BY_ROLE", "").split(","):
        if not part.strip():
            continue
        role, _, value = part.partition("=")
        role = role.strip()
        if role not in ROLES or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(
                "GATEWAY_RATE_LIMITS_BY_ROLE takes role=requests-a-minute pairs separated by commas "
                f"(roles: {', '.join(sorted(ROLES))}), not {part.strip()!r}"
            )
        limits[role] = int(value)
    return tuple(sorted(limits.items()))


def _external_provider(environ) -> ExternalIdentityProvider | None:
    jwks_url = environ.get("GATEWAY_JWKS_URL", "").strip()
    if not jwks_url:
        return None
    parse_urls("GATEWAY_JWKS_URL", jwks_url)
    issuer = environ.get("GATEWAY_EXTERNAL_ISSUER", "").strip()
    if not issuer:
        raise ValueError("GATEWAY_JWKS_URL needs GATEWAY_EXTERNAL_ISSUER (the tokens' iss)")
    audience = environ.get("GATEWAY_EXTERNAL_AUDIENCE", "").strip()
    if not audience:
        raise ValueError("GATEWAY_JWKS_URL needs GATEWAY_EXTERNAL_AUDIENCE (the tokens' aud: this system's name there)")
    raw_roles = environ.get("GATEWAY_EXTERNAL_ROLES", "").strip()
    return ExternalIdentityProvider(
        jwks_url=jwks_url,
        issuer=issuer,
        audience=audience,
        role_claim=_env(environ, "GATEWAY_EXTERNAL_ROLE_CLAIM", "role"),
        roles=parse_role_map(raw_roles) if raw_roles else dict(DEFAULT_EXTERNAL_ROLES),
    )


def parse_role_map(raw: str) -> dict[str, str]:
    """GATEWAY_EXTERNAL_ROLES: comma-separated `provider-role=our-role` pairs."""
    roles = {}
    for pair in raw.split(","):
        theirs, _, ours = (part.strip() for part in pair.partition("="))
        if not theirs or ours not in ROLES or ours == INSTITUTION_SYSTEM:
            raise ValueError(
                f"GATEWAY_EXTERNAL_ROLES: {pair.strip()!r} is not provider-role=one of "
                + ", ".join(sorted(ROLES - {INSTITUTION_SYSTEM}))
            )
        roles[theirs] = ours
    return roles
