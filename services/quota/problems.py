"""The quota service's refusals (domain errors, servicekit.refusals; codes are global, hence the prefixes)."""

from servicekit.refusals import Conflict, Invalid, NotFound, refusal

CAMPAIGN_NOT_FOUND = refusal(NotFound, "campaign_not_found", "No such campaign", "未找到该计划年度")
UNIT_NOT_FOUND = refusal(NotFound, "unit_not_found", "No such organisation unit", "未找到该单位")
UNIT_EXISTS = refusal(Conflict, "unit_exists", "An organisation unit with this id exists", "该单位编号已存在")
UNIT_INVALID = refusal(Invalid, "unit_invalid", "The organisation unit breaks a rule", "单位信息不符合规则")
CAMPAIGN_PUBLISHED = refusal(
    Conflict, "campaign_already_published", "The campaign is already published", "该计划年度已发布"
)
CAMPAIGN_NOT_PUBLISHED = refusal(
    Conflict, "campaign_not_published", "The campaign is not published yet", "该计划年度尚未发布"
)
NO_ALLOCATION = refusal(
    NotFound, "allocation_not_found", "The campaign has no saved allocation", "该计划年度尚无分配方案"
)
ALLOCATION_PUBLISHED = refusal(
    Conflict, "allocation_already_published", "The allocation is already published", "分配方案已发布"
)
ALLOCATION_NOT_PUBLISHED = refusal(
    Conflict, "allocation_not_published", "The allocation is not published yet", "分配方案尚未发布"
)
OVER_POOL = refusal(Invalid, "allocation_exceeds_pool", "The allocation exceeds the fund pool", "分配总额超出资金池")
BELOW_USE = refusal(
    Conflict, "allocation_below_use", "A line cannot drop below what is already in use", "分配额不能低于已占用额度"
)
REALLOCATION_CLOSED = refusal(
    Conflict,
    "reallocation_not_open",
    "Unused quota can be moved only after the registration deadline",
    "报名截止后方可调剂未用名额",
)
NOT_ENOUGH_UNUSED = refusal(
    Conflict, "not_enough_unused_quota", "The unit has not that much unused quota", "该单位未用额度不足"
)
UNIT_RETIRED = refusal(
    Conflict, "unit_retired", "The unit is retired: it takes no new allocation", "该单位已撤销，不再分配名额与补助"
)
PARTICIPANTS_FIXED = refusal(
    Conflict,
    "participants_fixed",
    "The allocation is published: add a unit from the reserve instead",
    "分配方案已发布，只能从预留额度中增加参与单位",
)
BELOW_RECEIVED = refusal(
    Conflict,
    "allocation_below_received",
    "A line cannot drop below the money already transferred to its unit",
    "分配额不能低于已划拨给该单位的资金",
)
CAMPAIGN_NOT_CLOSABLE = refusal(
    Conflict, "campaign_not_closable", "Only a published campaign can be closed", "只有已发布的计划年度可以结项关闭"
)
