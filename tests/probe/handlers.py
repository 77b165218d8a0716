import os
import time
from pathlib import Path

from sqlalchemy import select

from servicekit.db import upsert

from .models import Cure, Handling, Tally


def on_noted(uow, event):
    data = event.data
    if data.get("marker_dir"):
        Path(data["marker_dir"], event.id).touch()
    time.sleep(data.get("sleep_s", 0))
    if event.attempt < data.get("fail_until_attempt", 0):
        raise RuntimeError(f"planned failure on attempt {event.attempt}")
    session = uow.session
    if data.get("poison") and session.get(Cure, data["key"]) is None:
        raise ValueError(f"poisoned: no cure for {data['key']}")
    session.execute(
        upsert(session.bind, Tally)
        .values(key=data["key"], count=1)
        .on_conflict_do_update(index_elements=["key"], set_={"count": Tally.count + 1})
    )
    session.add(Handling(event_id=event.id, key=data["key"], pid=os.getpid(), attempt=event.attempt))


HANDLERS = {"probe.noted": on_noted}


def tally(session, key: str) -> dict:
    rows = session.execute(select(Handling).where(Handling.key == key).order_by(Handling.id)).scalars().all()
    found = session.get(Tally, key)
    return {
        "key": key,
        "count": found.count if found else 0,
        "handlings": [{"event_id": r.event_id, "pid": r.pid, "attempt": r.attempt} for r in rows],
    }
