"""The gateway's keys, all from one master secret so the embedded run needs no configuration.

`IDENTITY_SIGNING_KEY` (shared with the services) signs the identity header.
`GATEWAY_SECRET_KEY` (the gateway's alone; default: the identity key) derives
the key of its access tokens and every machine client's secret: the database
holds no secret, and changing the master invalidates tokens and client secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from servicekit.identity import signing_key


@dataclass(frozen=True)
class Keys:
    identity: bytes = field(repr=False)
    master: bytes = field(repr=False)

    @classmethod
    def load(cls, var_dir: Path) -> Keys:
        identity = signing_key(var_dir)
        master = os.environ.get("GATEWAY_SECRET_KEY", "").strip().encode() or identity
        return cls(identity=identity, master=master)

    def derive(self, label: str) -> bytes:
        return hmac.new(self.master, label.encode(), hashlib.sha256).digest()

    @property
    def access_token(self) -> bytes:
        return self.derive("access-token")

    def client_secret(self, key_id: str) -> str:
        digest = hmac.new(self.derive("machine-client"), key_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
