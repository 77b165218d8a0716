"""The dashboard's charts: inline SVG drawn on the server, scaled to the largest figure, escaped, no inline style."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

from portal.charts import Series, bars
from portal.views.oversight import payer_totals

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_are_scaled_to_the_largest_figure_and_name_every_value():
    rows = [{"label": "天河区总工会", "a": 100, "b": "50.00"}, {"label": "<script>", "a": 25, "b": None}]
    drawn = str(bars("名额", rows, [Series("a", "已分配"), Series("b", "已使用")]))
    tree = ET.fromstring(drawn).find(f"{SVG}svg")  # well-formed: the label is escaped
    assert tree.get("role") == "img" and tree.find(f"{SVG}title").text == "名额"
    widths = [float(r.get("width")) for r in tree.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert widths[0] > 0 and widths[1] == widths[0] / 2 and widths[2] == widths[0] / 4 and widths[3] == 0
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    assert "style=" not in drawn  # the pages' CSP allows no inline style
    assert re.search(r"天河区总工会 · 已使用: 50</title>", drawn)
    assert "&lt;script&gt; · 已使用: —</title>" in drawn  # no figure is shown as none, not as 0


def test_an_empty_chart_is_still_a_chart():
    tree = ET.fromstring(str(bars("空", [], [Series("a", "甲")])))
    assert tree.get("class") == "chart-wrap" and tree.find(f"{SVG}svg") is not None


def test_the_payers_share_the_fees_due():
    rows = [
        {"fees_due": "3000.00", "federation_committed": "1500.00", "unit_committed": "500.00"},
        {"fees_due": "1000.00", "federation_committed": "600.00", "unit_committed": "0.00"},
    ]
    from portal.app import create_app

    with create_app().test_request_context():
        amounts = [str(p["amount"]) for p in payer_totals(rows)]
    assert amounts == ["1400.00", "2100.00", "500.00"]


def test_the_registrations_are_counted_per_month_of_the_campaign():
    from portal.views.oversight import months_of

    months = months_of({"year": 2026, "windows": {"registration_start": "2026-03-15", "study_end": "2026-05-02"}})
    assert [(str(a), str(b)) for a, b in months] == [
        ("2026-03-01", "2026-03-31"),
        ("2026-04-01", "2026-04-30"),
        ("2026-05-01", "2026-05-31"),
    ]
    assert (
        len(months_of({"year": 2026, "windows": {"registration_start": "2024-01-01", "study_end": "2026-12-31"}})) == 12
    )
    assert len(months_of({"year": 2026, "windows": None})) == 12
    assert len(months_of({"year": 2026, "windows": None}, today=date(2026, 4, 9))) == 4  # none to come
