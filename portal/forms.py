"""Helpers of the portal's forms: the gateway's field errors shown next to the fields they concern."""

from __future__ import annotations

from collections.abc import Callable

from flask import render_template

from .gateway import Problem


def show_problem(form, error: Problem, fields: dict[str, str] | None = None) -> str:
    """Attach the problem's per-field messages to the form's fields (API name -> form field name when they
    differ); what names no field of the form becomes the form's general message. Returns that message."""
    general = []
    for name, message in error.field_errors().items():
        field = getattr(form, (fields or {}).get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]
        else:
            general.append(message)
    from .app import problem_message

    if error.status in (429, 502, 503, 504) or not general:
        general.insert(0, problem_message(error))
    return "；".join(general)


def refusal(send: Callable[[], object]) -> Problem | None:
    """`send()`, a form's request to the gateway: None when done, its refusal (4xx) to show on the form; the
    gateway failing (5xx) is raised, for the error page."""
    try:
        send()
    except Problem as error:
        if error.status >= 500:
            raise
        return error
    return None


def refusal_text(error: Problem) -> str:
    """A refusal in one line, for a flash: its detail (or title) and each field's message."""
    return "；".join([error.detail or error.title, *error.field_errors().values()])


def render_form(template: str, form, error: Problem | None = None, status: int = 200, **context):
    message = show_problem(form, error) if error else None
    return render_template(template, form=form, form_error=message, **context), (error.status if error else status)


def import_refusal(error: Problem) -> dict:
    """An import refused: its message, the messages about the file (missing columns...) and every bad row."""
    from .app import problem_message

    fields = {name: text for name, text in error.field_errors().items() if name != "rows"}
    message = error.detail if error.status < 500 else problem_message(error)
    return {"ok": False, "message": message, "fields": fields, "rows": error.rows()}


def options(pairs) -> list:
    """(value, label) pairs as the select fields' choices (WTForms 3.3 wants SelectChoice objects)."""
    from wtforms import SelectChoice

    return [SelectChoice(value, label) for value, label in pairs]
