"""The last signed requests of each machine client and how they ended: what an institution's IT staff needs to
see whether their system's requests get through (the portal's 接口对接 page). A request is kept only for a
known client's key id (a stranger's guesses fill nothing) and for MACHINE_REQUESTS_KEPT_DAYS."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from .models import MachineClient, MachineRequest

MACHINE_REQUESTS_KEPT_DAYS = 30
MAX_PATH = 300


def record(session: Session, key_id: str, method: str, path: str, status: int, request_id: str, at: datetime) -> None:
    if session.get(MachineClient, key_id) is None:
        return
    session.add(
        MachineRequest(
            id=str(uuid.uuid4()),
            key_id=key_id,
            at=at,
            method=method[:10],
            path=path[:MAX_PATH],
            status=status,
            request_id=request_id[:64],
        )
    )


def forget_old(session: Session, now: datetime) -> None:
    session.execute(delete(MachineRequest).where(MachineRequest.at < now - timedelta(days=MACHINE_REQUESTS_KEPT_DAYS)))
