"""Messages come from the babel catalogue: Chinese by default, English on request, with the field's name."""

from __future__ import annotations

import pickle

import pytest
from marshmallow import Schema, ValidationError, fields, validate

from servicekit.i18n import Text, _, field_label, localise_errors, translate


class Form(Schema):
    resident_id = fields.String(required=True, validate=validate.Length(equal=18))
    headcount = fields.Integer(validate=validate.Range(min=0, max=100))
    kind = fields.String(validate=validate.OneOf(["academic", "skills"]))


def messages(data: dict) -> dict:
    with pytest.raises(ValidationError) as refused:
        Form().load(data)
    return refused.value.normalized_messages()


def test_a_text_is_english_where_code_reads_it_and_keeps_its_template_for_the_catalogue():
    text = _("At most {limit} rows per file.").format(limit=50_000)
    assert text == "At most 50000 rows per file." and isinstance(text, Text)
    assert translate(text, zh=True) == "每个文件最多 50000 行。"
    assert translate(text, zh=False) == "At most 50000 rows per file."
    assert pickle.loads(pickle.dumps(text)).stages == text.stages


def test_marshmallows_own_messages_translate_with_their_values():
    errors = messages({"headcount": 101, "kind": "other", "extra": 1})
    zh = localise_errors(errors, zh=True)
    assert zh == {
        "resident_id": ["身份证号：必填项，不能缺少。"],
        "headcount": ["职工人数：必须大于或等于 0，且小于或等于 100。"],
        "kind": ["培训类别：必须是以下之一：academic, skills。"],
        "extra": ["extra：未知字段。"],
    }
    assert localise_errors(errors, zh=False)["headcount"] == [
        "Must be greater than or equal to 0 and less than or equal to 100."
    ]
    assert localise_errors(messages({"resident_id": "1"}), zh=True)["resident_id"] == ["身份证号：长度须为 18。"]


def test_row_reports_name_the_field_not_the_row():
    errors = {"rows": [{"row": 3, "errors": {"amount": [_("Must not be negative.")]}}]}
    assert localise_errors(errors, zh=True) == {"rows": [{"row": 3, "errors": {"amount": ["金额：不能为负数。"]}}]}


def test_an_unknown_message_or_field_stays_as_written():
    assert translate("Something the catalogue lacks.", zh=True) == "Something the catalogue lacks."
    assert field_label("no_such_field", zh=True) == "no_such_field"
    assert field_label("resident_id", zh=False) == "resident_id"


def test_problems_answer_in_the_language_the_caller_prefers(client):
    chinese = client.post("/notes", json={"count": 0})
    assert chinese.get_json()["errors"] == {
        "key": ["key：必填项，不能缺少。"],
        "count": ["数量：必须大于或等于 1，且小于或等于 500。"],
    }
    english = client.post("/notes", json={"count": 0}, headers={"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"})
    assert english.get_json()["errors"]["key"] == ["Missing data for required field."]
    assert english.headers["Content-Language"] == "en"
