"""What evaluation holds about an employee (GET /me/data), and how it follows enrollment's corrections and
anonymisation (PIPL)."""

import pytest

from .helpers import Evaluation, campaign

pytestmark = pytest.mark.servers


def test_corrected_names_and_anonymised_employees_follow_enrollment(stack_of):
    evaluation = Evaluation(stack_of("evaluation"))
    evaluation.deliver("campaign.published", campaign())
    evaluation.register()
    student = evaluation.enrol(holder_name_masked="张*明", employee_id="emp-1")
    other = evaluation.enrol(holder_name_masked="李*", employee_id="emp-2")

    def mine(employee_id: str) -> dict:
        answer = evaluation.client.get(
            "/me/data", headers=evaluation.stack.as_caller("employee", employee_id=employee_id)
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_json()["parts"]

    assert [(e["enrolment_id"], e["holder_name_masked"]) for e in mine("emp-1")["enrolments"]] == [
        (student["enrolment_id"], "张*明")
    ]
    evaluation.deliver("employee.corrected", {"employee_id": "emp-1", "holder_name_masked": "欧*明"})
    assert [e["holder_name_masked"] for e in mine("emp-1")["enrolments"]] == ["欧*明"]

    evaluation.deliver("employee.anonymised", {"employee_id": "emp-1", "anonymised_id": "anon-1"})
    assert mine("emp-1")["enrolments"] == []
    assert [(e["enrolment_id"], e["holder_name_masked"]) for e in mine("anon-1")["enrolments"]] == [
        (student["enrolment_id"], None)
    ]
    assert [e["enrolment_id"] for e in mine("emp-2")["enrolments"]] == [other["enrolment_id"]]  # others untouched
    forbidden = evaluation.client.get("/me/data", headers=evaluation.stack.as_caller("federation_admin"))
    assert forbidden.status_code == 403
