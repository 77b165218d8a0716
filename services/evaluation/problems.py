"""The evaluation service's domain problems (problem+json codes, English and Chinese titles)."""

from servicekit.refusals import Conflict, Forbidden, Gone, Invalid, Unavailable, refusal

BATCH_REJECTED = refusal(
    Invalid,
    "evaluation_batch_rejected",
    "The batch has lines with errors; nothing was recorded",
    "批次中有错误行，全部未录入",
)
CERTIFICATE_REFUSED = refusal(
    Invalid, "evaluation_certificate_refused", "A certificate cannot be issued for this enrolment", "该学员不能发证"
)
CERTIFICATE_NUMBER_TAKEN = refusal(
    Conflict,
    "evaluation_certificate_number_taken",
    "This certificate number is already used by the institution",
    "该证书编号已被本机构使用",
)
ALREADY_CERTIFIED = refusal(
    Conflict, "evaluation_already_certified", "The enrolment already has a certificate in force", "该学员已有有效证书"
)
ALREADY_REVOKED = refusal(
    Conflict, "evaluation_certificate_already_revoked", "The certificate is already revoked", "该证书已被撤销"
)
NOT_INVITED = refusal(Forbidden, "evaluation_not_invited", "You are not invited to this survey", "您未被邀请参加该评估")
TOKEN_ALREADY_ISSUED = refusal(
    Conflict, "evaluation_token_already_issued", "Your survey token was already issued", "您的评估凭证已发放"
)
BAD_TOKEN = refusal(
    Forbidden, "evaluation_bad_token", "The survey token or its signature is not valid", "评估凭证或签名无效"
)
ALREADY_ANSWERED = refusal(
    Conflict, "evaluation_already_answered", "This token has already been used to answer", "该凭证已提交过评估"
)
TOKEN_SCHEME_RETIRED = refusal(
    Gone,
    "evaluation_token_scheme_retired",
    "This survey token was made with the retired signature scheme and can no longer be used",
    "该评估凭证采用已停用的签名方案，无法再使用",
)
SIGNING_FAILED = refusal(
    Unavailable,
    "evaluation_signing_failed",
    "The signature could not be made safely; try again",
    "签名未能安全生成，请重试",
)
SURVEY_CLOSED = refusal(Conflict, "evaluation_survey_closed", "The survey is closed", "评估已结束")
CALENDAR_MISSING = refusal(
    Invalid, "evaluation_calendar_missing", "No working-day calendar for that year", "缺少该年度的工作日历"
)
STANDING_UNCHANGED = refusal(
    Conflict, "evaluation_standing_unchanged", "The institution is already in that standing", "该机构已处于该状态"
)
DEADLINE_NEEDED = refusal(
    Invalid,
    "evaluation_respond_by_needed",
    "Give the date the rectification report is due (no working-day calendar to count 10 working days)",
    "请指定整改报告的截止日期（没有可用的工作日历，无法自动计算 10 个工作日）",
)
RECTIFICATION_CLOSED = refusal(
    Conflict,
    "evaluation_rectification_closed",
    "The rectification of this notice was already accepted",
    "该通报的整改已被认可，不能再提交或更改",
)
NO_REPORT_YET = refusal(
    Conflict,
    "evaluation_no_rectification_report",
    "The institution has not submitted its rectification report yet",
    "该机构尚未提交整改报告",
)
VERDICT_GIVEN = refusal(
    Conflict,
    "evaluation_verdict_given",
    "The latest rectification report already has a verdict; a revised report comes first",
    "最新的整改报告已有审核结论，需待机构重新提交",
)
