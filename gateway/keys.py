"""The gateway's keys, each of one purpose and none held by a service (servicekit.keys lists them all).

`GATEWAY_ACCESS_TOKEN_KEY` signs its access tokens; `GATEWAY_CLIENT_SECRET_KEY` derives every
machine client's secret from its key id and secret generation (the database holds no secret: changing the key changes
every client's secret); `IDENTITY_PRIVATE_KEY` signs the identity header the services check with
its public key. Locally each is made once under var/keys/; in production each must be set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from servicekit.keys import identity_private_key, secret


@dataclass(frozen=True)
class Keys:
    identity: Ed25519PrivateKey = field(repr=False)
    access_token_key: bytes = field(repr=False)
    client_secret_key: bytes = field(repr=False)

    @classmethod
    def load(cls, var_dir: Path) -> Keys:
        return cls(
            identity=identity_private_key(var_dir),
            access_token_key=secret(var_dir, "GATEWAY_ACCESS_TOKEN_KEY"),
            client_secret_key=secret(var_dir, "GATEWAY_CLIENT_SECRET_KEY"),
        )

    @property
    def access_token(self) -> bytes:
        # Derived as before from the key it is given: GATEWAY_CLIENT_SECRET_KEY set to the retired
        # GATEWAY_SECRET_KEY keeps every machine client's secret (the README's upgrade note).
        return hmac.new(self.access_token_key, b"access-token", hashlib.sha256).digest()

    def client_secret(self, key_id: str, generation: int = 0) -> str:
        """The secret of a machine client's `generation` (0 when made; each rotation the next one)."""
        derived = hmac.new(self.client_secret_key, b"machine-client", hashlib.sha256).digest()
        message = key_id if generation == 0 else f"{key_id}/{generation}"  # generation 0: as before rotations
        digest = hmac.new(derived, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
