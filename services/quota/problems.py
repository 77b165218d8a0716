"""The quota service's domain problems (codes are global, hence the prefixes)."""

from servicekit import define_problem

CAMPAIGN_NOT_FOUND = define_problem("campaign_not_found", 404, "No such campaign", "未找到该计划年度")
UNIT_NOT_FOUND = define_problem("unit_not_found", 404, "No such organisation unit", "未找到该单位")
UNIT_EXISTS = define_problem("unit_exists", 409, "An organisation unit with this id exists", "该单位编号已存在")
UNIT_INVALID = define_problem("unit_invalid", 422, "The organisation unit breaks a rule", "单位信息不符合规则")
CAMPAIGN_PUBLISHED = define_problem(
    "campaign_already_published", 409, "The campaign is already published", "该计划年度已发布"
)
CAMPAIGN_NOT_PUBLISHED = define_problem(
    "campaign_not_published", 409, "The campaign is not published yet", "该计划年度尚未发布"
)
NO_ALLOCATION = define_problem(
    "allocation_not_found", 404, "The campaign has no saved allocation", "该计划年度尚无分配方案"
)
ALLOCATION_PUBLISHED = define_problem(
    "allocation_already_published", 409, "The allocation is already published", "分配方案已发布"
)
ALLOCATION_NOT_PUBLISHED = define_problem(
    "allocation_not_published", 409, "The allocation is not published yet", "分配方案尚未发布"
)
OVER_POOL = define_problem("allocation_exceeds_pool", 422, "The allocation exceeds the fund pool", "分配总额超出资金池")
BELOW_USE = define_problem(
    "allocation_below_use", 409, "A line cannot drop below what is already in use", "分配额不能低于已占用额度"
)
REALLOCATION_CLOSED = define_problem(
    "reallocation_not_open",
    409,
    "Unused quota can be moved only after the registration deadline",
    "报名截止后方可调剂未用名额",
)
NOT_ENOUGH_UNUSED = define_problem(
    "not_enough_unused_quota", 409, "The unit has not that much unused quota", "该单位未用额度不足"
)
UNIT_RETIRED = define_problem(
    "unit_retired", 409, "The unit is retired: it takes no new allocation", "该单位已撤销，不再分配名额与补助"
)
PARTICIPANTS_FIXED = define_problem(
    "participants_fixed",
    409,
    "The allocation is published: add a unit from the reserve instead",
    "分配方案已发布，只能从预留额度中增加参与单位",
)
BELOW_RECEIVED = define_problem(
    "allocation_below_received",
    409,
    "A line cannot drop below the money already transferred to its unit",
    "分配额不能低于已划拨给该单位的资金",
)
CAMPAIGN_NOT_CLOSABLE = define_problem(
    "campaign_not_closable", 409, "Only a published campaign can be closed", "只有已发布的计划年度可以结项关闭"
)
