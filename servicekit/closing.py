"""A closed campaign is read-only in every service (campaign.closed, published by quota on the federation's close).

A service declares how to tell a closed campaign and how its rows name their campaign (`ClosedCampaigns`); the
runtime then refuses, before anything is written, every HTTP request that adds, changes or deletes a row of a
closed campaign: 409 `campaign_closed`. A row names its campaign by a `campaign_id` attribute, or through one of
`via` (e.g. `enrolment_id` → the enrolment's campaign). Event handlers are not refused: the facts other services
publish keep the read models true (nothing a person asks for changes a closed campaign).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import has_request_context, request
from marshmallow import Schema, fields
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from .i18n import _
from .refusals import Conflict, refusal

CampaignClosed = refusal(
    Conflict,
    "campaign_closed",
    "The campaign is closed: it is read-only",
    "该计划批次已结项关闭，只可查看，不可修改",
)
READS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class ClosedCampaigns:
    """`key`: the campaign read model's id column (its primary key); `closed`: the condition true of a closed
    campaign, and `is_closed` the same of a campaign row; `via`: attribute name → (the id column of the row it
    names, that row's campaign_id column)."""

    key: Any
    closed: Any
    is_closed: Callable[[Any], bool]
    via: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @classmethod
    def by_closed_at(cls, key: Any, closed_at: Any, via: dict[str, tuple[Any, Any]] | None = None) -> ClosedCampaigns:
        """A read model closed once its `closed_at` column is set (campaign.closed's moment): both forms of the rule."""
        return cls(
            key, closed_at.is_not(None), lambda campaign: getattr(campaign, closed_at.key) is not None, via or {}
        )

    def closed_among(self, session: Session, campaign_ids: Iterable[str]) -> set[str]:
        wanted = {campaign_id for campaign_id in campaign_ids if campaign_id}
        # A campaign this transaction has read already is answered from that read: a write that loaded its
        # campaign (a registration) saves the round trip of asking again.
        read = {campaign_id: _read(session, self.key, campaign_id) for campaign_id in wanted}
        closed = {campaign_id for campaign_id, row in read.items() if row is not None and self.is_closed(row)}
        unread = {campaign_id for campaign_id, row in read.items() if row is None}
        if unread:
            closed |= set(session.scalars(select(self.key).where(self.key.in_(unread), self.closed)))
        return closed

    def campaigns_of(self, session: Session, rows: Iterable[Any]) -> set[str]:
        found: set[str] = set()
        named: dict[str, set[str]] = {}
        for row in rows:
            mapper = inspect(row).mapper
            if self.key.table in mapper.tables:
                continue  # the campaign itself: its own use cases say what may change
            if "campaign_id" in mapper.attrs:
                found.add(row.campaign_id)
                continue
            for attribute in self.via:
                if attribute in mapper.attrs and getattr(row, attribute):
                    id_column, campaign_column = self.via[attribute]
                    named_row = _read(session, id_column, getattr(row, attribute))
                    if named_row is not None:
                        found.add(getattr(named_row, campaign_column.key))
                    else:
                        named.setdefault(attribute, set()).add(getattr(row, attribute))
                    break
        for attribute, ids in named.items():
            id_column, campaign_column = self.via[attribute]
            found |= set(session.scalars(select(campaign_column).where(id_column.in_(ids))))
        return found


def _read(session: Session, key: Any, value: str) -> Any | None:
    """The row whose primary key `key` is `value`, as this transaction read it and left it (None: not read, or
    changed since, or expired by a commit)."""
    mapper = inspect(key.class_)
    if len(mapper.primary_key) != 1 or mapper.primary_key[0] is not key.property.columns[0]:
        return None
    row = session.identity_map.get(mapper.identity_key_from_primary_key([value]))
    if row is None:
        return None
    state = inspect(row)
    return None if state.modified or state.expired_attributes or row in session.deleted else row


def refuse_writes(sessions: sessionmaker[Session], campaigns: ClosedCampaigns) -> None:
    def check(session: Session, _flush_context, _instances) -> None:
        if not has_request_context() or request.method in READS:
            return
        with session.no_autoflush:
            closed = campaigns.closed_among(
                session, campaigns.campaigns_of(session, (*session.new, *session.dirty, *session.deleted))
            )
        if closed:
            raise CampaignClosed(_("Campaign {campaign_id} is closed.").format(campaign_id=", ".join(sorted(closed))))

    event.listen(sessions, "before_flush", check)


def ensure_open(session: Session, campaigns: ClosedCampaigns, campaign_id: str) -> None:
    """For a use case that writes nothing it could be refused for (a published event, a read-only answer)."""
    if campaigns.closed_among(session, [campaign_id]):
        raise CampaignClosed(_("Campaign {campaign_id} is closed.").format(campaign_id=campaign_id))


# --- the close-out checklist and report: each service answers its part, the gateway merges them --------------

MISSING_SHOWN = 50  # what is missing, named; the count says how many in all


class ChecklistItemOut(Schema):
    item = fields.String(
        metadata={
            "description": "classes_finished, objections_decided (enrollment); results_in (evaluation); "
            "reimbursements_paid, funds_transferred (finance)"
        }
    )
    done = fields.Boolean()
    total = fields.Integer(metadata={"description": "how many were checked"})
    open = fields.Integer(metadata={"description": "how many are not done yet"})
    missing = fields.List(fields.String(), metadata={"description": f"the first {MISSING_SHOWN} not done, named"})


class CloseoutPartOut(Schema):
    """One service's part of a campaign's close-out: its checklist items, and its figures per first-level unit
    and per institution (money as strings with two decimals)."""

    campaign_id = fields.String()
    checklist = fields.List(fields.Nested(ChecklistItemOut))
    units = fields.Dict(keys=fields.String(), values=fields.Dict(), metadata={"description": "unit id → figures"})
    institutions = fields.Dict(
        keys=fields.String(), values=fields.Dict(), metadata={"description": "institution id → figures"}
    )


def checklist_item(item: str, total: int, missing: list[str]) -> dict:
    return {
        "item": item,
        "done": not missing,
        "total": total,
        "open": len(missing),
        "missing": missing[:MISSING_SHOWN],
    }
