"""The portal's settings, from the environment (README: operator section)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    gateway_url: str  # PORTAL_GATEWAY_URL: where the gateway answers (the portal's only upstream)
    secret_key: str  # PORTAL_SECRET_KEY: signs the CSRF tokens; made once under VAR_DIR when unset
    session_dir: Path  # where the server-side sessions live (VAR_DIR/portal-sessions)
    session_hours: float  # PORTAL_SESSION_HOURS: an idle session ends after this long
    secure_cookies: bool | None  # PORTAL_SECURE_COOKIES: 1/0; unset: Secure whenever the request came over HTTPS
    timeout: float  # PORTAL_GATEWAY_TIMEOUT: seconds per call to the gateway
    # PORTAL_GATEWAY_PUBLIC_URL: where browsers reach the gateway (the survey's anonymous answers go there
    # directly, never through the portal); unset: gateway_url. The gateway lists the portal in GATEWAY_CORS_ORIGINS.
    gateway_public_url: str = ""
    survey_max_delay_seconds: float = 120.0  # PORTAL_SURVEY_MAX_DELAY_SECONDS: an answer waits 0 to this long

    @property
    def browser_gateway_url(self) -> str:
        return self.gateway_public_url or self.gateway_url

    @classmethod
    def from_env(cls, env=os.environ) -> Settings:
        var_dir = Path(env.get("VAR_DIR", "var"))
        secure = env.get("PORTAL_SECURE_COOKIES")
        return cls(
            gateway_url=env.get("PORTAL_GATEWAY_URL", "http://127.0.0.1:8000").rstrip("/"),
            secret_key=env.get("PORTAL_SECRET_KEY") or _kept_secret(var_dir / "portal-secret-key"),
            session_dir=var_dir / "portal-sessions",
            session_hours=float(env.get("PORTAL_SESSION_HOURS", "8")),
            secure_cookies=None if secure in (None, "") else secure == "1",
            timeout=float(env.get("PORTAL_GATEWAY_TIMEOUT", "30")),
            gateway_public_url=env.get("PORTAL_GATEWAY_PUBLIC_URL", "").rstrip("/"),
            survey_max_delay_seconds=float(env.get("PORTAL_SURVEY_MAX_DELAY_SECONDS", "120")),
        )


def _kept_secret(path: Path) -> str:
    """A secret made once and kept in VAR_DIR (one host only; set PORTAL_SECRET_KEY when scaling out)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x") as file:
            file.write(secrets.token_urlsafe(32))
        path.chmod(0o600)
    except FileExistsError:
        pass
    return path.read_text().strip()
