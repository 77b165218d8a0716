from flask_smorest import Blueprint

from servicekit import unit_of_work
from servicekit.audit import audited
from servicekit.identity import (
    AUDITOR,
    EMPLOYEE,
    FEDERATION_ADMIN,
    GRASSROOTS_OFFICER,
    INSTITUTION_OPERATOR,
    INSTITUTION_SYSTEM,
    UNIT_OFFICER,
    current_identity,
    requires,
)
from servicekit.tabular import Column, read_rows, validate_rows

from .. import certificates
from ..listing import CERTIFICATES, by_enrolment
from ..models import Certificate
from ..schemas import (
    CertificateBatchIn,
    CertificateBatchOut,
    CertificateIn,
    CertificateOut,
    CertificateRow,
    RevocationIn,
    UploadFile,
)

blp = Blueprint(
    "certificates",
    __name__,
    url_prefix="/certificates",
    description="Certificates (结业证书 / 毕业证书): issue after a pass, revoke",
)


@blp.route("", methods=["POST"])
@blp.arguments(CertificateIn)
@blp.response(201, CertificateOut, description="Issued (200: the same certificate already issued, a retry)")
@blp.alt_response(409, description="The number is taken, or the enrolment already has a certificate in force")
@blp.alt_response(422, description="Not after a pass, withdrawn, or not a student of the institution")
@requires(INSTITUTION_SYSTEM, INSTITUTION_OPERATOR)
def issue(body):
    """Issue a certificate to a student who passed; announces `certificate.issued` (the federation's share follows)."""
    with unit_of_work() as uow:
        with audited(uow, "issued", "certificate") as decision:
            certificate, new = certificates.issue(uow, current_identity(), body)
            decision.entity_id = _certificate_id(certificate, body)
        uow.commit()
    return certificate, 201 if new else 200


def _certificate_id(certificate, body: dict) -> str:
    found = certificate.get("certificate_id") if isinstance(certificate, dict) else None
    return str(found or body.get("number") or body.get("enrolment_id"))


CERTIFICATE_COLUMNS = [
    Column("enrolment_id", "报名编号 Enrolment id"),
    Column("number", "证书编号 Certificate number"),
    Column("issued_on", "发证日期 Issued on"),
]


def _issue_many(rows: list[tuple[int, dict]]):
    """Both batch routes: rows validated one by one, then issued all or none."""
    loaded = validate_rows(rows, CertificateRow())
    with unit_of_work() as uow:
        with audited(uow, "issued", "certificate_batch") as decision:
            issued = certificates.issue_many(
                uow, current_identity(), [(number, row) for (number, _), row in zip(rows, loaded)]
            )
            decision.entity_id = f"{len(rows)} rows"
        uow.commit()
    new = sum(1 for _, is_new in issued if is_new)
    answer = {
        "issued": new,
        "already_issued": len(issued) - new,
        "certificates": [{**c, "row": number, "issued_now": is_new} for (number, _), (c, is_new) in zip(rows, issued)],
    }
    return answer, 201 if new else 200


@blp.route("/batches", methods=["POST"])
@blp.arguments(CertificateBatchIn)
@blp.response(201, CertificateBatchOut, description="Issued (200: every row had already been issued, a replay)")
@blp.alt_response(409, description="A concurrent request used a number or certified an enrolment: resend")
@blp.alt_response(422, description="Rows with errors (`errors.rows`: row, field, message): nothing issued")
@requires(INSTITUTION_SYSTEM, INSTITUTION_OPERATOR)
def issue_batch(body):
    """Issue many certificates at once, all or none, each checked as a single issue; one `certificate.issued` each."""
    return _issue_many(list(enumerate(body["certificates"])))


@blp.route("/import", methods=["POST"])
@blp.arguments(UploadFile, location="files")
@blp.response(201, CertificateBatchOut, description="Issued (200: every row had already been issued, a replay)")
@blp.alt_response(400, description="The file cannot be read as .xlsx or .csv")
@blp.alt_response(409, description="A concurrent request used a number or certified an enrolment: resend")
@blp.alt_response(422, description="Rows with errors (`errors.rows`: spreadsheet row, field, message): nothing issued")
@requires(INSTITUTION_SYSTEM, INSTITUTION_OPERATOR)
def import_certificates(files):
    """Issue certificates from .xlsx/.csv (报名编号 / 证书编号 / 发证日期), all or none, as the batch route does."""
    upload = files["file"]
    return _issue_many(read_rows(upload.read(), upload.filename or "", CERTIFICATE_COLUMNS))


@blp.route("/<uuid:certificate_id>/revocation", methods=["POST"])
@blp.arguments(RevocationIn)
@blp.response(200, CertificateOut)
@blp.alt_response(404, description="No such certificate of the caller's institution")
@blp.alt_response(409, description="Already revoked")
@requires(INSTITUTION_OPERATOR, INSTITUTION_SYSTEM, FEDERATION_ADMIN)
def revoke(body, certificate_id):
    """Revoke a certificate with a reason; announces `certificate.revoked`."""
    with unit_of_work() as uow:
        with audited(uow, "revoked", "certificate", str(certificate_id), reason=body["reason"].strip()):
            certificate = certificates.revoke(uow, current_identity(), str(certificate_id), body["reason"].strip())
        uow.commit()
    return certificate


@blp.route("", methods=["GET"])
@blp.arguments(CERTIFICATES.query, location="query")
@blp.response(200, CertificateOut(many=True))
@requires(
    EMPLOYEE, GRASSROOTS_OFFICER, UNIT_OFFICER, INSTITUTION_OPERATOR, INSTITUTION_SYSTEM, FEDERATION_ADMIN, AUDITOR
)
def list_certificates(query):
    """Certificates: an employee's own, a union's employees' (grassroots union or first-level unit), an
    institution's, or all for the federation."""
    with unit_of_work() as uow:
        return by_enrolment(uow.session, current_identity(), CERTIFICATES, Certificate, query)
