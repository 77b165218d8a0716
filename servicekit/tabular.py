"""Spreadsheets in and out: .xlsx and .csv imports that are all-or-nothing, and exports.

The federation and the unions work in spreadsheets. An import reads every row,
validates each with a marshmallow schema, and either returns all rows or
refuses the whole file with a per-row error report; nothing is written
before every row is good.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from flask import Response
from marshmallow import Schema, ValidationError
from openpyxl import Workbook, load_workbook

from .errors import Problem, define_problem

IMPORT_REJECTED = define_problem("import_rejected", 422, "The file has rows with errors; nothing was imported",
                                 "文件中有错误行，全部未导入")
UNREADABLE_FILE = define_problem("unreadable_file", 400, "The file cannot be read as .xlsx or .csv",
                                 "无法读取文件（需为 .xlsx 或 .csv）")
MAX_ROWS = 50_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


def export(rows: list[dict], columns: list[Column], fmt: str, filename: str) -> Response:
    """Rows as a .xlsx or .csv download (UTF-8 with BOM so Excel shows Chinese correctly)."""
    header = [c.header for c in columns]
    body = [[_safe(row.get(c.key)) for c in columns] for row in rows]
    if fmt == "xlsx":
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(header)
        for line in body:
            sheet.append(line)
        buffer = io.BytesIO()
        workbook.save(buffer)
        data, mimetype = buffer.getvalue(), XLSX
    else:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in line] for line in body)
        data, mimetype = ("\ufeff" + text.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'})


def _xlsx(content: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _csv(content: bytes) -> list[list]:
    text = content.decode("utf-8-sig")
    return [row for row in csv.reader(io.StringIO(text))]


def _norm(header: str) -> str:
    return "".join(header.split()).lower()


def _cell(value):
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
