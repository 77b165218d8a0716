"""Domain errors: what a use case refuses, by meaning, with no notion of HTTP (no Flask, no status codes).

A use case raises one of the meanings below, or a refusal of its own made from one of them with `refusal`:

    UNIT_NOT_FOUND = refusal(NotFound, "unit_not_found", "No such organisation unit", "未找到该单位")
    ...
    raise UNIT_NOT_FOUND(_("No unit {unit_id}.").format(unit_id=unit_id))
    raise Invalid(errors={"windows": {...}})                     # the generic code validation_failed

Each carries a stable code (global: services prefix theirs), its English and Chinese titles, a detail
(marked for translation with servicekit.i18n._, translated in the caller's language when answered), field
or row errors, and extra members (figures a client may use, e.g. `available=3`). Only the HTTP layer
(servicekit.errors) turns them into problem+json: the meaning decides the status (`STATUS` there), the code
and titles are the refusal's own, so the answer is what it would be had the HTTP layer raised it itself.
Workers and commands catch them as exceptions (`except NotFound`), with no web framework involved.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar


class DomainError(Exception):
    """A refusal of a use case: a code, titles, a detail, field errors and extra members."""

    code: ClassVar[str] = "domain_error"
    title_en: ClassVar[str] = "Refused"
    title_zh: ClassVar[str] = "操作被拒绝"

    def __init__(self, detail: str | None = None, *, errors: dict | list | None = None, **extra):
        super().__init__(detail or self.title_en)
        self.detail, self.errors, self.extra = detail, errors, extra


class Invalid(DomainError):
    """The input breaks a rule (field by field in `errors` where it can say which)."""

    code, title_en, title_zh = "validation_failed", "Invalid input", "输入数据校验未通过"


class Malformed(DomainError):
    """The request cannot be understood at all (an unreadable file, a missing header)."""

    code, title_en, title_zh = "bad_request", "Bad request", "请求有误"


class NotFound(DomainError):
    """What the use case needs does not exist, or not for this caller."""

    code, title_en, title_zh = "not_found", "Not found", "未找到"


class Conflict(DomainError):
    """The current state does not allow it (already done, wrong status, a window closed, not enough left)."""

    code, title_en, title_zh = "conflict", "Conflict with the current state", "与当前状态冲突"


class Forbidden(DomainError):
    """The caller may not do this."""

    code, title_en, title_zh = "forbidden", "Not allowed", "无权执行此操作"


class Gone(DomainError):
    """What was asked for existed once and is retired for good."""

    code, title_en, title_zh = "gone", "Gone", "已不再提供"


class Unavailable(DomainError):
    """It cannot be done right now; the same request may succeed later (`retry_after` seconds, if known)."""

    code, title_en, title_zh = "service_unavailable", "Service unavailable", "服务暂不可用"

    def __init__(self, detail: str | None = None, *, retry_after: int | None = None, **kwargs):
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


MEANINGS: tuple[type[DomainError], ...] = (Invalid, Malformed, NotFound, Conflict, Forbidden, Gone, Unavailable)

E = TypeVar("E", bound=DomainError)

# code -> the refusal that owns it (codes are global: two refusals of one code would answer alike)
REFUSALS: dict[str, type[DomainError]] = {}


def refusal(meaning: type[E], code: str, title_en: str, title_zh: str) -> type[E]:
    """A refusal of its own stable code and titles, of one of the MEANINGS (made once per code)."""
    if meaning not in MEANINGS:
        raise TypeError(f"{meaning.__name__} is not one of the domain error meanings")
    made = REFUSALS.get(code)
    if made is not None:
        if (made.__bases__, made.title_en, made.title_zh) != ((meaning,), title_en, title_zh):
            raise ValueError(f"refusal code {code!r} is already defined differently")
        return made  # type: ignore[return-value]
    name = "".join(part.capitalize() for part in code.split("_"))
    made = type(name, (meaning,), {"code": code, "title_en": title_en, "title_zh": title_zh, "__doc__": title_en})
    REFUSALS[code] = made
    return made  # type: ignore[return-value]


# servicekit's own: an import (servicekit.tabular, servicekit.bulk) refused whole, each bad row in errors["rows"].
IMPORT_REJECTED = refusal(
    Invalid, "import_rejected", "The file has rows with errors; nothing was imported", "文件中有错误行，全部未导入"
)
