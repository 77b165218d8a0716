"""Uploaded spreadsheets are zips of XML from strangers: checked before parsing, read within caps, never trusted."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from marshmallow import Schema, fields, validate

from servicekit import tabular
from servicekit.errors import Problem
from servicekit.tabular import Column, read_rows, validate_rows
from servicekit.testing import xlsx

COLUMNS = [Column("name", "单位名称"), Column("headcount", "职工人数")]
SHEET = "xl/worksheets/sheet1.xml"


class UnitRow(Schema):
    name = fields.String(required=True)
    headcount = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000_000))


def rewritten(content: bytes, member: str, change) -> bytes:
    """The workbook with one member's XML changed (or added), as a crafted upload would be."""
    source, buffer = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        names = source.namelist() if member in source.namelist() else [*source.namelist(), member]
        for name in names:
            data = source.read(name) if name in source.namelist() else b""
            target.writestr(name, change(data) if name == member else data)
    return buffer.getvalue()


def refused(content: bytes, filename: str = "units.xlsx") -> Problem:
    with pytest.raises(Problem) as caught:
        read_rows(content, filename, COLUMNS)
    return caught.value


def workbook() -> bytes:
    return xlsx([["单位名称", "职工人数"], ["海珠区总工会", 120000], ["天河区总工会", 98000]])


def test_a_sheet_claiming_the_whole_grid_is_read_as_the_rows_it_has():
    claimed = rewritten(
        workbook(), SHEET, lambda xml: xml.replace(b"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>', 1)
    )
    started = time.perf_counter()
    rows = validate_rows(read_rows(claimed, "units.xlsx", COLUMNS), UnitRow())
    assert [r["name"] for r in rows] == ["海珠区总工会", "天河区总工会"]
    assert time.perf_counter() - started < 2


def test_a_row_far_below_the_cap_is_refused_while_reading_not_padded_to():
    far = rewritten(
        workbook(),
        SHEET,
        lambda xml: xml.replace(
            b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
        ),
    )
    started = time.perf_counter()
    assert refused(far).problem.code == "file_too_large"
    assert time.perf_counter() - started < 5


def test_a_cell_beyond_the_column_cap_is_refused():
    wide = rewritten(
        workbook(),
        SHEET,
        lambda xml: xml.replace(b"</row>", b'<c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>', 1),
    )
    assert refused(wide).problem.code == "file_too_large"


def test_a_zip_bomb_is_refused_before_anything_is_decompressed():
    bomb = rewritten(workbook(), "xl/media/padding.bin", lambda _: b"\0" * (20 * 1024 * 1024))
    problem = refused(bomb)
    assert problem.problem.code == "file_too_large" and "zip bomb" in problem.detail


def test_too_many_parts_or_too_much_uncompressed_data_are_refused(monkeypatch):
    many = workbook()
    for number in range(tabular.MAX_MEMBERS):
        many = rewritten(many, f"xl/extra/{number}.xml", lambda _: b"<x/>") if number < 3 else many
    monkeypatch.setattr(tabular, "MAX_MEMBERS", 10)
    assert refused(many).problem.code == "file_too_large"
    monkeypatch.setattr(tabular, "MAX_MEMBERS", 200)
    monkeypatch.setattr(tabular, "MAX_UNCOMPRESSED_BYTES", 1024)
    assert refused(workbook()).problem.code == "file_too_large"


@pytest.mark.parametrize(
    "doctype",
    [
        # billion laughs
        b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
        # an external entity reading a file of the server
        b'<!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    ],
)
def test_entities_in_the_xml_are_refused(doctype):
    def poisoned(xml: bytes) -> bytes:
        root = xml.index(b"<", xml.index(b"?>") if b"?>" in xml else 0)
        entity = b"&d;" if b"ENTITY d" in doctype else b"&xxe;"
        cell = b'<row r="9"><c r="A9" t="inlineStr"><is><t>' + entity + b"</t></is></c></row></sheetData>"
        return xml[:root] + doctype + xml[root:].replace(b"</sheetData>", cell)

    for member in (SHEET, "xl/workbook.xml"):
        problem = refused(rewritten(workbook(), member, poisoned))
        assert problem.problem.code == "unreadable_file"
        assert "EntitiesForbidden" in problem.detail  # defusedxml refused it, not a parser that went ahead


def test_csv_has_the_same_caps(monkeypatch):
    monkeypatch.setattr(tabular, "MAX_ROWS", 3)
    header = "单位名称,职工人数\n"
    assert len(read_rows((header + "a,1\n" * 3).encode(), "units.csv", COLUMNS)) == 3
    assert refused((header + "a,1\n" * 4).encode(), "units.csv").problem.code == "file_too_large"
    monkeypatch.setattr(tabular, "MAX_COLUMNS", 4)
    assert refused((header + "a,1,,,,x\n").encode(), "units.csv").problem.code == "file_too_large"


def test_cells_a_database_cannot_store_are_row_errors():
    problem = refused("单位名称,职工人数\na\x00b,1\nok,2\n".encode(), "units.csv")
    assert problem.problem.code == "import_rejected"
    assert problem.errors["rows"][0]["row"] == 2 and list(problem.errors["rows"][0]["errors"]) == ["name"]


def test_a_row_schema_taking_an_unbounded_number_is_a_programming_error():
    class Unbounded(Schema):
        headcount = fields.Integer()

    with pytest.raises(ValueError, match="headcount"):
        validate_rows([(2, {"headcount": 1})], Unbounded())
