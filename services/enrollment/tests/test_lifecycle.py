"""The enrolment's state machine (domain/lifecycle.py), walked whole: every action from every status, allowed or
refused, against the table below (written out independently of the module's own)."""

from __future__ import annotations

import pytest

from services.enrollment.domain import lifecycle as lc
from services.enrollment.domain.enrolment import (
    ADMITTED,
    CONFIRMED,
    NOMINATED,
    REFUSED,
    REGISTERED,
    REJECTED,
    REQUESTED,
    SENT,
    STATUSES,
    WITHDRAWN,
)

LIVE = (SENT, REQUESTED, REGISTERED, ADMITTED)
# (status, action) -> (status after, event announced); every pair not listed is refused.
ALLOWED = {
    (NOMINATED, lc.RECORD_OBJECTION): (NOMINATED, None),
    (NOMINATED, lc.DECIDE_OBJECTION): (NOMINATED, None),
    (NOMINATED, lc.UPHOLD_OBJECTION): (REJECTED, None),
    (NOMINATED, lc.RECORD_CONSENT): (NOMINATED, None),
    (NOMINATED, lc.RECORD_RECOMMENDATION): (NOMINATED, None),
    (NOMINATED, lc.CONFIRM): (CONFIRMED, None),
    (CONFIRMED, lc.SEND_LIST): (SENT, None),
    (SENT, lc.REGISTER): (REQUESTED, "enrollment.requested"),
    (REFUSED, lc.REGISTER): (REQUESTED, "enrollment.requested"),  # asked again after a refusal
    (REQUESTED, lc.QUOTA_RESERVED): (REGISTERED, "enrollment.registered"),
    (REQUESTED, lc.QUOTA_REFUSED): (REFUSED, None),
    (REQUESTED, lc.RECORD_ENTRANCE_TEST): (REQUESTED, None),
    (REGISTERED, lc.RECORD_ENTRANCE_TEST): (REGISTERED, None),
    (REGISTERED, lc.ADMIT): (ADMITTED, "enrollment.admitted"),
    # the institution's rejection before admission (entrance test failed, documents missing): the seat goes back
    (REGISTERED, lc.REJECT_REGISTRATION): (REFUSED, "enrollment.registration_rejected"),
    (REGISTERED, lc.ANNOUNCE): (REGISTERED, None),
    (ADMITTED, lc.ANNOUNCE): (ADMITTED, None),
    **{(status, lc.REQUEST_WITHDRAWAL): (status, None) for status in LIVE},
    **{(status, lc.WITHDRAW): (WITHDRAWN, "enrollment.withdrawn") for status in LIVE},
    **{(status, lc.REQUEST_MOVE): (status, None) for status in (SENT, REGISTERED, ADMITTED)},
    **{(status, lc.MOVE): (status, "enrollment.transferred") for status in (SENT, REGISTERED, ADMITTED)},
}
EVERY_PAIR = [(status, action) for status in STATUSES for action in lc.ACTIONS]


@pytest.mark.parametrize(("status", "action"), EVERY_PAIR, ids=[f"{s}-{a}" for s, a in EVERY_PAIR])
def test_every_action_from_every_status(status, action):
    if (status, action) in ALLOWED:
        target, event = ALLOWED[(status, action)]
        assert lc.allows(status, action)
        assert lc.transition(status, action) == lc.Transition(action, status, target, event)
    else:
        assert not lc.allows(status, action)
        with pytest.raises(lc.TransitionRefused) as refused:
            lc.transition(status, action)
        assert (refused.value.status, refused.value.action) == (status, action)
        assert status not in refused.value.needed
        assert str(refused.value) == f"The enrolment is {status}; this needs {' or '.join(refused.value.needed)}."


def test_the_table_has_no_action_the_walk_missed_and_final_states_lead_nowhere():
    assert {action for _, action in ALLOWED} == set(lc.ACTIONS)
    for status in lc.FINAL:
        assert not any(lc.allows(status, action) for action in lc.ACTIONS)


def test_every_status_is_reached_from_a_nomination():
    reached, frontier = {NOMINATED}, [NOMINATED]
    while frontier:
        status = frontier.pop()
        for action in lc.ACTIONS:
            if lc.allows(status, action) and (target := lc.transition(status, action).target) not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(STATUSES)


def test_an_announcement_is_the_event_of_the_status_as_it_is():
    assert lc.announcement(REGISTERED) == "enrollment.registered"
    assert lc.announcement(ADMITTED) == "enrollment.admitted"
    with pytest.raises(lc.TransitionRefused):
        lc.announcement(REQUESTED)


def test_an_unknown_status_is_a_bug_not_a_refusal():
    with pytest.raises(ValueError, match="unknown enrolment status"):
        lc.transition("graduated", lc.ADMIT)
