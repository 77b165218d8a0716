from flask_smorest import Blueprint

from servicekit import unit_of_work
from servicekit.identity import (AUDITOR, EMPLOYEE, FEDERATION_ADMIN, INSTITUTION_OPERATOR, INSTITUTION_SYSTEM,
                                 current_identity, requires)

from .. import certificates
from ..listing import by_enrolment
from ..models import Certificate
from ..schemas import CertificateIn, CertificateOut, EnrolmentQuery, RevocationIn

blp = Blueprint("certificates", __name__, url_prefix="/certificates",
                description="Certificates (结业证书 / 毕业证书): issue after a pass, revoke")


@blp.route("", methods=["POST"])
@blp.arguments(CertificateIn)
@blp.response(201, CertificateOut, description="Issued (200: the same certificate already issued, a retry)")
@blp.alt_response(409, description="The number is taken, or the enrolment already has a certificate in force")
@blp.alt_response(422, description="Not after a pass, withdrawn, or not a student of the institution")
@requires(INSTITUTION_SYSTEM, INSTITUTION_OPERATOR)
def issue(body):
    """Issue a certificate to a student who passed; announces `certificate.issued` (the federation's share follows)."""
    with unit_of_work() as uow:
        certificate, new = certificates.issue(uow, current_identity(), str(body["enrolment_id"]),
                                              body["number"].strip(), body["issued_on"])
        uow.commit()
    return certificate, 201 if new else 200


@blp.route("/<uuid:certificate_id>/revocation", methods=["POST"])
@blp.arguments(RevocationIn)
@blp.response(200, CertificateOut)
@blp.alt_response(404, description="No such certificate of the caller's institution")
@blp.alt_response(409, description="Already revoked")
@requires(INSTITUTION_OPERATOR, INSTITUTION_SYSTEM, FEDERATION_ADMIN)
def revoke(body, certificate_id):
    """Revoke a certificate with a reason; announces `certificate.revoked`."""
    with unit_of_work() as uow:
        certificate = certificates.revoke(uow, current_identity(), str(certificate_id), body["reason"].strip())
        uow.commit()
    return certificate


@blp.route("", methods=["GET"])
@blp.arguments(EnrolmentQuery, location="query")
@blp.response(200, CertificateOut(many=True))
@requires(EMPLOYEE, INSTITUTION_OPERATOR, INSTITUTION_SYSTEM, FEDERATION_ADMIN, AUDITOR)
def list_certificates(query):
    """Certificates: an employee's own, an institution's, or all for the federation."""
    with unit_of_work() as uow:
        return by_enrolment(uow.session, current_identity(), Certificate, query,
                            (Certificate.institution_id, Certificate.number))
