"""The evaluation service's domain problems (problem+json codes, English and Chinese titles)."""

from servicekit import define_problem

BATCH_REJECTED = define_problem(
    "evaluation_batch_rejected",
    422,
    "The batch has lines with errors; nothing was recorded",
    "批次中有错误行，全部未录入",
)
CERTIFICATE_REFUSED = define_problem(
    "evaluation_certificate_refused", 422, "A certificate cannot be issued for this enrolment", "该学员不能发证"
)
CERTIFICATE_NUMBER_TAKEN = define_problem(
    "evaluation_certificate_number_taken",
    409,
    "This certificate number is already used by the institution",
    "该证书编号已被本机构使用",
)
ALREADY_CERTIFIED = define_problem(
    "evaluation_already_certified", 409, "The enrolment already has a certificate in force", "该学员已有有效证书"
)
ALREADY_REVOKED = define_problem(
    "evaluation_certificate_already_revoked", 409, "The certificate is already revoked", "该证书已被撤销"
)
NOT_INVITED = define_problem(
    "evaluation_not_invited", 403, "You are not invited to this survey", "您未被邀请参加该评估"
)
TOKEN_ALREADY_ISSUED = define_problem(
    "evaluation_token_already_issued", 409, "Your survey token was already issued", "您的评估凭证已发放"
)
BAD_TOKEN = define_problem(
    "evaluation_bad_token", 403, "The survey token or its signature is not valid", "评估凭证或签名无效"
)
ALREADY_ANSWERED = define_problem(
    "evaluation_already_answered", 409, "This token has already been used to answer", "该凭证已提交过评估"
)
TOKEN_SCHEME_RETIRED = define_problem(
    "evaluation_token_scheme_retired",
    410,
    "This survey token was made with the retired signature scheme and can no longer be used",
    "该评估凭证采用已停用的签名方案，无法再使用",
)
SIGNING_FAILED = define_problem(
    "evaluation_signing_failed", 503, "The signature could not be made safely; try again", "签名未能安全生成，请重试"
)
SURVEY_CLOSED = define_problem("evaluation_survey_closed", 409, "The survey is closed", "评估已结束")
CALENDAR_MISSING = define_problem(
    "evaluation_calendar_missing", 422, "No working-day calendar for that year", "缺少该年度的工作日历"
)
STANDING_UNCHANGED = define_problem(
    "evaluation_standing_unchanged", 409, "The institution is already in that standing", "该机构已处于该状态"
)
