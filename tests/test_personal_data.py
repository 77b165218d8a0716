"""Personal data (PIPL) kept out of logs, dead-letter headers and error details (servicekit.personal).

The whole campaign's logs are searched for the ID numbers and phones it used in
tests/test_campaign_end_to_end.py (one campaign, not two)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from servicekit.db import make_engine
from servicekit.personal import scrub


def test_scrub_masks_ids_phones_and_names_as_lists_show_them():
    line = 'Key (resident_id)=(44010619850312001X) exists: {"name": "欧阳娜娜", "phone": "13920130001"}'
    assert scrub(line) == 'Key (resident_id)=(4401**********001X) exists: {"name": "欧**娜", "phone": "139****0001"}'
    assert scrub("(name)=(张三) re-nominated") == "(name)=(张*) re-nominated"
    untouched = "enrolment 5f1c2a4e-8a7b-4c1d-9e2f-3a4b5c6d7e80 paid 1590.00 at 1733225259123 filename: 'x'"
    assert scrub(untouched) == untouched


def test_a_failing_statement_never_carries_its_values(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'people.db'}")
    with engine.begin() as db:
        db.execute(text("CREATE TABLE people (resident_id TEXT PRIMARY KEY)"))
        db.execute(text("INSERT INTO people VALUES (:id)"), {"id": "44010619850312001X"})
    with pytest.raises(IntegrityError) as failed, engine.begin() as db:
        db.execute(text("INSERT INTO people VALUES (:id)"), {"id": "44010619850312001X"})
    assert "44010619850312001X" not in str(failed.value)
    assert "hidden due to hide_parameters" in str(failed.value)
