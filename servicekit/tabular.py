"""Spreadsheets in and out: .xlsx and .csv imports that are all-or-nothing, and exports.

The federation and the unions work in spreadsheets. An import reads every row,
validates each with a marshmallow schema, and either returns all rows or
refuses the whole file with a per-row error report; nothing is written
before every row is good.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from itertools import chain

import openpyxl
from flask import Response, has_request_context, stream_with_context
from marshmallow import Schema, ValidationError
from openpyxl import load_workbook

from .errors import Problem, define_problem
from .i18n import _
from .inputs import text_fault
from .openapi import unbounded_fields
from .xlsx_stream import xlsx_chunks

IMPORT_REJECTED = define_problem(
    "import_rejected", 422, "The file has rows with errors; nothing was imported", "文件中有错误行，全部未导入"
)
UNREADABLE_FILE = define_problem(
    "unreadable_file", 400, "The file cannot be read as .xlsx or .csv", "无法读取文件（需为 .xlsx 或 .csv）"
)
FILE_TOO_LARGE = define_problem(
    "file_too_large", 413, "The spreadsheet is larger than an import may be", "表格超出导入上限"
)
# Caps of one import, enforced while the file is read (never trusting what it says about itself).
MAX_ROWS = 50_000  # data rows, below the header
MAX_COLUMNS = 100
# An .xlsx is a zip of XML: checked before anything is decompressed.
MAX_MEMBERS = 200
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200  # a worksheet of text compresses 10-30 times; zip bombs a thousand and more
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIMETYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX, "json": "application/json"}
CHUNK = 64 * 1024

if not openpyxl.DEFUSEDXML:  # openpyxl parses with defusedxml only when it is installed and not switched off
    raise RuntimeError("openpyxl must parse spreadsheets with defusedxml (unset OPENPYXL_DEFUSEDXML)")


@dataclass(frozen=True)
class Column:
    key: str  # the field name in the schema / the row dict
    header: str  # the header people see, e.g. "单位名称 Unit name"
    aliases: tuple[str, ...] = ()  # other headers accepted on import


def read_rows(content: bytes, filename: str, columns: list[Column]) -> list[tuple[int, dict]]:
    """(spreadsheet row number, {key: cell}) for every non-empty row; header row required.

    At most MAX_ROWS rows of MAX_COLUMNS columns, counted as they are read; a text
    cell that cannot be stored (NUL, unpaired surrogate) is a row error like any other.
    """
    try:
        table = _xlsx(content) if filename.lower().endswith(".xlsx") else _csv(content)
        header = next(table, None)
        if header is None:
            raise Problem(UNREADABLE_FILE, _("The file is empty."))
        by_header = {_norm(name): c.key for c in columns for name in (c.header, c.key, *c.aliases)}
        keys = [by_header.get(_norm(str(h or ""))) for h in header]
        missing = [c.header for c in columns if c.key not in keys]
        if missing:
            raise Problem(
                IMPORT_REJECTED,
                _("Columns are missing."),
                errors={"columns": [_("Missing column {header}.").format(header=h) for h in missing]},
            )
        rows = []
        for number, cells in enumerate(table, start=2):
            if all(cell in (None, "") for cell in cells):
                continue
            rows.append((number, {key: _cell(value) for key, value in zip(keys, cells) if key}))
    except Problem:
        raise
    except Exception as exc:
        cause: BaseException = exc
        while cause.__cause__ or cause.__context__:  # openpyxl wraps what the XML parser refused
            cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
        raise Problem(
            UNREADABLE_FILE,
            _("{filename} cannot be read ({error}).").format(
                filename=_printable_name(filename), error=type(cause).__name__
            ),
        ) from None
    faults = [
        {"row": number, "errors": {key: [fault]}}
        for number, row in rows
        for key, value in row.items()
        if isinstance(value, str) and (fault := text_fault(value))
    ]
    if faults:
        raise Problem(IMPORT_REJECTED, _("Some cells hold characters no text may hold."), errors={"rows": faults})
    return rows


def validate_rows(rows: list[tuple[int, dict]], schema: Schema) -> list[dict]:
    """All rows loaded through the schema, or a problem listing every bad row."""
    _require_bounds(type(schema))
    loaded, errors = [], []
    for number, row in rows:
        try:
            loaded.append(schema.load(row))
        except ValidationError as exc:
            errors.append({"row": number, "errors": exc.normalized_messages()})
    if errors:
        raise Problem(
            IMPORT_REJECTED,
            _("{bad} of {total} rows have errors.").format(bad=len(errors), total=len(rows)),
            errors={"rows": errors},
        )
    return loaded


@functools.cache
def _require_bounds(schema: type[Schema]) -> None:
    unbounded = unbounded_fields(schema())
    if unbounded:
        raise ValueError(f"{schema.__name__} takes numbers without a minimum and a maximum: {', '.join(unbounded)}")


def export(rows: Iterable[dict], columns: list[Column], fmt: str, filename: str) -> Response:
    """Rows as a streamed .xlsx, .csv (UTF-8 with BOM, for Excel) or JSON download.

    `rows` may be a generator reading inside a session it opens itself: it runs as the answer is sent, within
    the request's context (identity, locale)."""
    pieces = chunks(fmt, rows, columns)
    return Response(
        stream_with_context(pieces) if has_request_context() else pieces,
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'},
    )


def workbook(sheets: dict[str, list[dict]], filename: str) -> Response:
    """A small .xlsx download of several sheets (name: rows), each with the keys of its rows as its header;
    nested values as JSON text, formulas neutralised. Built in memory: for a person's records, not ledgers."""
    book = openpyxl.Workbook(write_only=True)
    for name, rows in sheets.items():
        sheet = book.create_sheet(_sheet_title(name))
        keys = list(dict.fromkeys(key for row in rows for key in row))
        sheet.append(keys or ["-"])
        for row in rows:
            sheet.append([_cell_of(row.get(key)) for key in keys])
    content = io.BytesIO()
    book.save(content)
    return Response(
        content.getvalue(),
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
    )


def _sheet_title(name: str) -> str:
    return "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31]


def _cell_of(value):
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return _printable_cell(_safe(value))


def _printable_cell(value):
    if isinstance(value, str):
        return "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 0x20)
    return value


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
    for number, row in enumerate(rows):
        writer.writerow([_text(row.get(c.key)) for c in columns])
        if buffer.tell() >= CHUNK or number == 0:  # the first line at once: the download visibly starts
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


def _xlsx(content: bytes) -> Iterator[list]:
    """The first sheet's rows, streamed (openpyxl read-only, XML through defusedxml) within the caps."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        _check_archive(archive.infolist())
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # never trust <dimension>: rows are as long as their cells
        # A row is as wide as its last cell (at most column XFD): _capped refuses it before the next is read.
        yield from _capped(list(row) for row in sheet.iter_rows(values_only=True))
    finally:
        book.close()


def _check_archive(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_MEMBERS:
        raise Problem(FILE_TOO_LARGE, _("An .xlsx may have at most {limit} parts.").format(limit=MAX_MEMBERS))
    if sum(member.file_size for member in members) > MAX_UNCOMPRESSED_BYTES:
        raise Problem(
            FILE_TOO_LARGE,
            _("An .xlsx may hold at most {limit} MiB uncompressed.").format(limit=MAX_UNCOMPRESSED_BYTES >> 20),
        )
    for member in members:
        if member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1024):
            raise Problem(
                FILE_TOO_LARGE,
                _("A part of the .xlsx is compressed more than {ratio} times: refused as a zip bomb.").format(
                    ratio=MAX_COMPRESSION_RATIO
                ),
            )


def _csv(content: bytes) -> Iterator[list]:
    text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    return _capped(csv.reader(text))


def _capped(rows: Iterator[list]) -> Iterator[list]:
    """The rows, refusing the file as soon as it passes a cap (the header counts as row 1)."""
    for number, row in enumerate(rows, start=1):
        if number > MAX_ROWS + 1:
            raise Problem(FILE_TOO_LARGE, _("At most {limit} rows per file.").format(limit=MAX_ROWS))
        if len(row) > MAX_COLUMNS and any(cell not in (None, "") for cell in row[MAX_COLUMNS:]):
            raise Problem(
                FILE_TOO_LARGE,
                _("At most {limit} columns per file (row {row} has more).").format(limit=MAX_COLUMNS, row=number),
            )
        yield row


def _printable_name(filename: str) -> str:
    return filename if not text_fault(filename) else "?"


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
