"""Streamed spreadsheet exports: rows go out as they are read, so a large ledger never sits in memory.

(servicekit.tabular.export builds the whole file in memory; fine for small lists, not for 100,000 lines.)
"""
from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from openpyxl import Workbook

from servicekit.tabular import XLSX, Column, _safe

CHUNK = 64 * 1024
MIMETYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX, "json": "application/json"}


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return _safe(value.isoformat() if isinstance(value, date) else value)


def csv_chunks(rows: Iterable[dict], columns: list[Column]) -> Iterator[bytes]:
    """UTF-8 with BOM so Excel shows Chinese; yielded in chunks of about 64 KiB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([_csv_value(row.get(c.key)) for c in columns])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def json_chunks(rows: Iterable[dict]) -> Iterator[bytes]:
    """A JSON array, one element at a time (money as "1500.00", dates ISO)."""
    def plain(value):
        return f"{value:.2f}" if isinstance(value, Decimal) else value.isoformat()

    yield b"["
    for number, row in enumerate(rows):
        yield (b"," if number else b"") + json.dumps(row, ensure_ascii=False, default=plain).encode("utf-8")
    yield b"]"


def xlsx_chunks(rows: Iterable[dict], columns: list[Column]) -> Iterator[bytes]:
    """A write-only workbook (rows spooled to disk as written), then the file read back in chunks."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([c.header for c in columns])
    for row in rows:
        sheet.append([_safe(row.get(c.key)) for c in columns])
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk


def chunks(fmt: str, rows: Iterable[dict], columns: list[Column]) -> Iterator[bytes]:
    return json_chunks(rows) if fmt == "json" else (csv_chunks if fmt == "csv" else xlsx_chunks)(rows, columns)
