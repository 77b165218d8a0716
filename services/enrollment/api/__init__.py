"""Thin HTTP layer of enrollment: flask-smorest blueprints over the use cases."""

from http import HTTPStatus

from servicekit import unit_of_work
from servicekit.audit import Changes, audit_changes, reason_in
from servicekit.bulk import each
from servicekit.identity import current_identity


def change(use_case, present, *args, action: str | None = None) -> dict:
    """Run one use case in a unit of work and answer with what it changed, as the caller may see it.

    The decision is audited in the same transaction: the use case's name (or `action`), the row it
    returns with its old and new values (and the other rows it touched), the reason the body gives.
    """
    with unit_of_work() as uow:
        changes = Changes(uow.session)
        changed = use_case(uow, current_identity(), *args)
        uow.session.flush()
        audit_changes(uow, changes, action or use_case.__name__, changed, reason=reason_in(*args))
        # The view is read in the same transaction: a second one would cost a registration more round trips
        # (BEGIN, ROLLBACK); its three reads hold the changed rows' locks a moment longer, and a view that fails
        # now leaves nothing half done.
        view = present(uow.session, changed)
        uow.commit()
    return view


def change_each(items: list[dict], use_case, args_of, id_of) -> dict:
    """A bulk action (servicekit.bulk): `use_case(uow, identity, *args_of(item))` per item, each its own transaction."""
    identity = current_identity()

    def one(item: dict) -> None:
        with unit_of_work() as uow:
            changes = Changes(uow.session)
            args = args_of(item)
            changed = use_case(uow, identity, *args)
            uow.session.flush()
            audit_changes(uow, changes, use_case.__name__, changed, reason=reason_in(*args))  # each item's own
            uow.commit()

    return each(items, one, id_of)


def documents(blp, *statuses: int):
    """Document the problem responses an endpoint can give (beyond 422 for invalid input)."""

    def decorate(view):
        for status in reversed(statuses):
            view = blp.alt_response(status, response=HTTPStatus(status).name)(view)
        return view

    return decorate


def blueprints() -> list:
    from .catalogue import blp as catalogue
    from .changes import blp as changes
    from .classes import blp as classes
    from .corrections import blp as corrections
    from .enrolments import blp as enrolments
    from .ledger import blp as ledger
    from .lessons import blp as lessons
    from .lists import blp as lists

    return [catalogue, enrolments, lists, changes, classes, lessons, ledger, corrections]
