"""Thin HTTP layer of quota: flask-smorest blueprints over the use cases (campaigns, units, allocations and
reports)."""

from __future__ import annotations

from servicekit.tabular import Column, read_rows, validate_rows


def uploaded_rows(upload: dict, columns: list[Column], schema) -> list[tuple[int, dict]]:
    """(row number, validated row) for every row of an uploaded .xlsx/.csv, or the per-row problem."""
    file = upload["file"]
    rows = read_rows(file.read(), file.filename or "upload.csv", columns)
    loaded = validate_rows(rows, schema)
    return [(number, row) for (number, _), row in zip(rows, loaded)]


def blueprints() -> list:
    from .allocations import blp as allocations
    from .campaigns import blp as campaigns
    from .units import blp as units

    return [campaigns, units, allocations]
