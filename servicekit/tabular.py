"""Spreadsheets in and out: .xlsx and .csv imports that are all-or-nothing, and exports.

The federation and the unions work in spreadsheets. An import reads every row,
validates each with a marshmallow schema, and either returns all rows or
refuses the whole file with a per-row error report; nothing is written
before every row is good.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from itertools import chain

from flask import Response
from marshmallow import Schema, ValidationError
from openpyxl import load_workbook

from .errors import Problem, define_problem
from .xlsx_stream import xlsx_chunks

IMPORT_REJECTED = define_problem(
    "import_rejected", 422, "The file has rows with errors; nothing was imported", "文件中有错误行，全部未导入"
)
UNREADABLE_FILE = define_problem(
    "unreadable_file", 400, "The file cannot be read as .xlsx or .csv", "无法读取文件（需为 .xlsx 或 .csv）"
)
MAX_ROWS = 50_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIMETYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX, "json": "application/json"}
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Column:
    key: str  # the field name in the schema / the row dict
    header: str  # the header people see, e.g. "单位名称 Unit name"
    aliases: tuple[str, ...] = ()  # other headers accepted on import


def read_rows(content: bytes, filename: str, columns: list[Column]) -> list[tuple[int, dict]]:
    """(spreadsheet row number, {key: cell}) for every non-empty row; header row required."""
    try:
        table = _xlsx(content) if filename.lower().endswith(".xlsx") else _csv(content)
    except Exception as exc:
        raise Problem(UNREADABLE_FILE, f"{filename}: {type(exc).__name__}") from None
    if not table:
        raise Problem(UNREADABLE_FILE, f"{filename} is empty")
    by_header = {_norm(name): c.key for c in columns for name in (c.header, c.key, *c.aliases)}
    headers = [by_header.get(_norm(str(h or ""))) for h in table[0]]
    missing = [c.header for c in columns if c.key not in headers]
    if missing:
        raise Problem(IMPORT_REJECTED, "Missing columns", errors={"columns": missing})
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if all(cell in (None, "") for cell in cells):
            continue
        rows.append((number, {key: _cell(value) for key, value in zip(headers, cells) if key}))
    if len(rows) > MAX_ROWS:
        raise Problem(IMPORT_REJECTED, f"At most {MAX_ROWS} rows per file")
    return rows


def validate_rows(rows: list[tuple[int, dict]], schema: Schema) -> list[dict]:
    """All rows loaded through the schema, or a problem listing every bad row."""
    loaded, errors = [], []
    for number, row in rows:
        try:
            loaded.append(schema.load(row))
        except ValidationError as exc:
            errors.append({"row": number, "errors": exc.normalized_messages()})
    if errors:
        raise Problem(IMPORT_REJECTED, f"{len(errors)} of {len(rows)} rows have errors", errors={"rows": errors})
    return loaded


def export(rows: Iterable[dict], columns: list[Column], fmt: str, filename: str) -> Response:
    """Rows as a streamed .xlsx, .csv (UTF-8 with BOM, for Excel) or JSON download."""
    return Response(
        chunks(fmt, rows, columns),
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'},
    )


def chunks(fmt: str, rows: Iterable[dict], columns: list[Column]) -> Iterator[bytes]:
    """The file in pieces of about 64 KiB as rows are read, so a large export never sits in memory.

    (To read rows inside a unit of work while streaming, wrap a generator in
    flask.stream_with_context and give it to a Response with MIMETYPES[fmt].)
    """
    if fmt == "json":
        return _json_chunks(rows)
    return (_csv_chunks if fmt == "csv" else _xlsx_chunks)(rows, columns)


def _csv_chunks(rows: Iterable[dict], columns: list[Column]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([_text(row.get(c.key)) for c in columns])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _json_chunks(rows: Iterable[dict]) -> Iterator[bytes]:
    """A JSON array, one element at a time (money as "1500.00", dates ISO)."""

    def plain(value):
        return f"{value:.2f}" if isinstance(value, Decimal) else value.isoformat()

    yield b"["
    for number, row in enumerate(rows):
        yield (b"," if number else b"") + json.dumps(row, ensure_ascii=False, default=plain).encode("utf-8")
    yield b"]"


def _xlsx_chunks(rows: Iterable[dict], columns: list[Column]) -> Iterator[bytes]:
    header = [c.header for c in columns]
    return xlsx_chunks(chain([header], ([_safe(row.get(c.key)) for c in columns] for row in rows)), CHUNK)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return _safe(value.isoformat() if isinstance(value, date) else value)


def _xlsx(content: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _csv(content: bytes) -> list[list]:
    text = content.decode("utf-8-sig")
    return [row for row in csv.reader(io.StringIO(text))]


def _norm(header: str) -> str:
    return "".join(header.split()).lower()


def _cell(value):
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()  # a date cell: openpyxl reads every date as a datetime
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)  # spreadsheets store whole numbers as floats
    if isinstance(value, float):
        return str(Decimal(str(value)))  # never hand a float to money fields
    if isinstance(value, str):
        return value.strip()
    return value


def _safe(value):
    """Neutralise spreadsheet formulas in text cells (CSV/formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _numeric(value):
        return "'" + value
    return value


def _numeric(text: str) -> bool:
    try:
        Decimal(text)
        return True
    except ArithmeticError:
        return False
