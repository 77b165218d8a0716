"""How registered students are grouped into classes (开班) and when a class may open."""

from __future__ import annotations

DEDICATED, PUBLIC = "dedicated", "join_public_class_or_transfer"
FORMING, SUBMITTED, RETURNED, APPROVED, PUBLISHED, OPENED = (
    "forming",
    "submitted",
    "returned",
    "approved",
    "published",
    "opened",
)


def arrangement(registered: int, threshold: int) -> str:
    """More than the threshold (30) registered for one programme at one institution: a class of their own."""
    return DEDICATED if registered > threshold else PUBLIC


def staffing_gaps(dedicated: bool, head_teacher: str | None, learning_assistant: str | None) -> list[str]:
    """A dedicated class needs a head teacher (班主任) and a learning assistant (学习助理)."""
    if not dedicated:
        return []
    return [
        role
        for role, person in (("head_teacher", head_teacher), ("learning_assistant", learning_assistant))
        if not person
    ]


def retakes_after(kind: str, failed: bool, passed_before: bool, class_opened: bool) -> bool:
    """A skills student who failed the exam of an opened class may join a later class, training fee waived."""
    return kind == "skills" and failed and not passed_before and class_opened
