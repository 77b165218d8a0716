"""The employee's id everywhere outside enrollment: a keyed pseudonym of the resident ID number.

Enrollment names each employee `emp-<hmac>`; the gateway, creating an employee's
account from the same resident ID number, computes the same id, so the account
sees that employee's own enrolments and results without any service holding
the other's data. The key (`EMPLOYEE_ID_KEY`, shared by gateway and enrollment)
must never change once employees exist: their ids would change with it. Without
the key the id cannot be traced back to a resident ID number.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from .keys import secret


def employee_id_key(var_dir: Path) -> bytes:
    return secret(var_dir, "EMPLOYEE_ID_KEY")


def employee_id(resident_id: str, key: bytes) -> str:
    """`resident_id` already validated (18 characters, upper-case check character)."""
    digest = hmac.new(key, f"employee:{resident_id.upper()}".encode(), hashlib.sha256).hexdigest()
    return f"emp-{digest[:32]}"
