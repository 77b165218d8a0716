import os
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import insert, select

from servicekit.db import upsert
from servicekit.service import Batched

from .models import Cure, Handling, Tally


def on_noted(uow, events):
    """Batched (servicekit.Batched): each event's planned behaviour first, then one statement per table
    for the whole run, as a fast consumer would write."""
    session = uow.session
    for event in events:
        data = event.data
        if data.get("marker_dir"):
            Path(data["marker_dir"], event.id).touch()
        if data.get("sleep_s"):
            time.sleep(data["sleep_s"])
        if event.attempt < data.get("fail_until_attempt", 0):
            raise RuntimeError(f"planned failure on attempt {event.attempt}")
        if data.get("poison") and session.get(Cure, data["key"]) is None:
            raise ValueError(f"poisoned: no cure for {data['key']}")
    counted = upsert(session.bind, Tally).values(
        [{"key": key, "count": count} for key, count in Counter(e.data["key"] for e in events).items()]
    )
    session.execute(
        counted.on_conflict_do_update(index_elements=["key"], set_={"count": Tally.count + counted.excluded.count})
    )
    session.execute(
        insert(Handling),
        [{"event_id": e.id, "key": e.data["key"], "pid": os.getpid(), "attempt": e.attempt} for e in events],
    )


HANDLERS = {"probe.noted": Batched(on_noted)}


def tally(session, key: str) -> dict:
    rows = session.execute(select(Handling).where(Handling.key == key).order_by(Handling.id)).scalars().all()
    found = session.get(Tally, key)
    return {
        "key": key,
        "count": found.count if found else 0,
        "handlings": [{"event_id": r.event_id, "pid": r.pid, "attempt": r.attempt} for r in rows],
    }
