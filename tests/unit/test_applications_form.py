"""The application form (附件) and the officials' records as HTTP input: every instruction of the
form refused field by field (LT-form-1 dates, LT-form-5 education and joined work periods,
LT-form-6 affirmations, LT-form-7 no classified material, LT-form-8 无 for empty items), the
evidence of the chosen category, identity numbers (GB 11643, GB 32100)."""

import copy
import datetime as dt
import random

import pytest
from marshmallow import ValidationError

from services.applications import identity, schemas
from talent_client.samples import application_body, stage_body

D = dt.date


def body(category="LT-6.3", **overrides):
    return application_body(
        "楚雄市", "李明", category, D(2026, 3, 2), 2026, rng=random.Random(7), **overrides
    )


def errors_of(data, schema=schemas.SubmitApplication):
    with pytest.raises(ValidationError) as info:
        schema().load(data)
    return info.value.messages


def with_(data, path, value):
    data = copy.deepcopy(data)
    *parents, last = path
    node = data
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


DELETE = object()


def test_a_complete_form_loads_and_keeps_no_id_number():
    data = schemas.SubmitApplication().load(body())
    assert data["applicant_name"] == "李明"
    assert data["enterprise_name"] == "李明电子商务有限公司"
    assert identity.credit_code_error(data["enterprise_code"]) is None
    assert identity.id_number_error(data["id_number"]) is None
    assert "id_number" not in data["form"]["applicant"]
    assert data["evidence"] == {
        "sales_fen": 350_000_000,
        "sales_fen_year_before": 315_000_000,
        "jobs_driven": 12,
        "tax_paid_fen": 1_200_000,
    }
    assert data["facts"] == {}
    work = data["form"]["work_history"]
    assert work[0]["end"] == work[1]["start"] and work[1]["end"] is None
    assert data["form"]["applicant"]["party_joined_on"] is None  # 无


def test_facts_and_figures_are_split():
    data = schemas.SubmitApplication().load(body("LT-6.1"))
    assert data["evidence"] == {"followers": 150_000, "exposure": 2_400_000}
    assert data["facts"]["account_registered_on"] == D(2023, 3, 1)
    assert set(data["facts"]) == {"account_registered_on", "activity_proof", "local_influence"}


# -- LT-form-1: yyyy.mm.dd -----------------------------------------------------------------------
DATE_ERROR = ["Write the date as yyyy.mm.dd, e.g. 1980.01.01 (LT-form-1)."]


@pytest.mark.parametrize(
    "value", ["1990-01-01", "1990.1.1", "1990.02.30", "19900101", 19900101, "无"]
)
def test_form_dates_are_yyyy_mm_dd(value):
    errors = errors_of(with_(body(), ("form", "applicant", "birth_date"), value))
    assert errors == {"form": {"applicant": {"birth_date": DATE_ERROR}}}


def test_a_work_period_date_in_the_wrong_format():
    errors = errors_of(with_(body(), ("form", "work_history", 0, "start"), "2008/07/01"))
    assert errors == {"form": {"work_history": {0: {"start": DATE_ERROR}}}}


# -- LT-form-5: work periods join end to start; education after high school ---------------------
def test_work_periods_must_join_end_to_start():
    errors = errors_of(with_(body(), ("form", "work_history", 1, "start"), "2013.03.02"))
    start = body()["form"]["work_history"][0]["end"]
    assert errors == {
        "form": {
            "work_history": {
                1: {
                    "start": [
                        f"Must be {start}, the end of the period before (LT-form-5: periods join end to "
                        f"start)."
                    ]
                }
            }
        }
    }


def test_only_the_last_period_runs_to_date():
    data = with_(body(), ("form", "work_history", 0, "end"), "至今")
    errors = errors_of(data)
    assert errors["form"]["work_history"][0] == {"end": ["Only the last period may run 至今."]}


def test_a_period_does_not_end_before_it_starts():
    data = body()
    first = data["form"]["work_history"][0]
    data = with_(data, ("form", "work_history", 0, "end"), "2000.01.01")
    data = with_(data, ("form", "work_history", 1, "start"), "2000.01.01")
    errors = errors_of(data)
    assert errors == {"form": {"work_history": {0: {"end": ["Must not be before start."]}}}}
    assert first["start"] > "2000.01.01"


@pytest.mark.parametrize("level", ["高中", "中专", "初中"])
def test_education_is_listed_from_after_high_school(level):
    errors = errors_of(with_(body(), ("form", "education", 0, "qualification"), level))
    assert errors == {
        "form": {
            "education": {
                0: {"qualification": ["Education is listed from after high school (LT-form-5)."]}
            }
        }
    }


# -- LT-form-8: 无 for empty items ------------------------------------------------------------------
def test_an_empty_item_must_be_written_none():
    errors = errors_of(with_(body(), ("form", "applicant", "professional_title"), " "))
    assert errors == {
        "form": {"applicant": {"professional_title": ["Write 无 for an empty item (LT-form-8)."]}}
    }
    errors = errors_of(with_(body(), ("form", "education"), []))
    assert errors == {"form": {"education": ["Write 无 for an empty item (LT-form-8)."]}}


def test_none_is_accepted_where_the_form_allows_it():
    data = schemas.SubmitApplication().load(with_(body(), ("form", "education"), "无"))
    assert data["form"]["education"] == []


def test_none_is_not_a_name():
    errors = errors_of(with_(body(), ("form", "applicant", "name"), "无"))
    assert errors == {"form": {"applicant": {"name": ["Required: 无 is not an answer here."]}}}


# -- LT-form-6 and LT-form-7 -----------------------------------------------------------------------
def test_the_applicant_and_the_employer_affirm_the_truth():
    data = with_(body(), ("form", "affirmation", "applicant_affirms"), False)
    data = with_(data, ("form", "affirmation", "employer_agrees"), False)
    assert errors_of(data) == {
        "form": {
            "affirmation": {
                "applicant_affirms": ["The applicant affirms the form's truth (LT-form-6)."],
                "employer_agrees": ["The employer affirms and agrees (LT-form-6)."],
            }
        }
    }


def test_no_classified_material():
    errors = errors_of(with_(body(), ("form", "classified_material"), True))
    assert errors == {
        "form": {
            "classified_material": [
                "The form may not contain classified material; send it apart under the secrecy rules "
                "(LT-form-7)."
            ]
        }
    }


def test_an_individual_has_no_employer_code_nor_stamp():
    data = with_(body(), ("form", "employer"), {"name": "无", "credit_code": "无"})
    data = with_(data, ("form", "affirmation", "employer_agrees"), False)
    data = with_(data, ("form", "affirmation", "employer_stamped_on"), "无")
    loaded = schemas.SubmitApplication().load(data)
    assert loaded["enterprise_code"] is None and loaded["form"]["employer"] == {"name": "无"}
    errors = errors_of(with_(body(), ("form", "employer", "credit_code"), "无"))
    assert "credit_code" in errors["form"]["employer"]


# -- required, unknown, evidence -------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        ("county",),
        ("category",),
        ("evidence",),
        ("form",),
        ("form", "applicant", "phone"),
        ("declarations", "law_abiding"),
        ("integrity", "bad_credit_record"),
        ("form", "work_history", 0, "employer"),
    ],
)
def test_missing_fields_are_named(path):
    errors = errors_of(with_(body(), path, DELETE))
    node = errors
    for key in path:
        node = node[key]
    assert node == ["Missing data for required field."]


def test_unknown_fields_are_refused():
    assert errors_of({**body(), "applicant_name": "x"}) == {"applicant_name": ["Unknown field."]}


@pytest.mark.parametrize("figure", ["sales_fen", "sales_fen_year_before", "tax_paid_fen"])
def test_negative_figures_are_refused(figure):
    errors = errors_of(with_(body(), ("evidence", figure), -1))
    assert errors == {"evidence": {figure: ["Must be greater than or equal to 0."]}}


def test_money_is_integer_fen():
    errors = errors_of(with_(body(), ("evidence", "sales_fen"), 350000.5))
    assert errors == {"evidence": {"sales_fen": ["Not a valid integer."]}}


def test_the_category_needs_its_evidence():
    data = with_(body("LT-6.2"), ("evidence", "sells_mainly_chuxiong_products"), DELETE)
    assert errors_of(data) == {
        "evidence": {"sells_mainly_chuxiong_products": ["Required for LT-6.2."]}
    }
    data = with_(body("LT-6.3"), ("evidence",), {"sales_fen": 1})
    assert set(errors_of(data)["evidence"]) == {
        "sales_fen_year_before",
        "jobs_driven",
        "tax_paid_fen",
    }


def test_counties_of_chuxiong_only():
    errors = errors_of(with_(body(), ("county",), "昆明市"))
    assert list(errors) == ["county"]


def test_the_form_is_not_filled_after_submission():
    errors = errors_of(with_(body(), ("form", "filled_on"), "2026.03.03"))
    assert errors == {"form": {"filled_on": ["Must not be after submitted_on."]}}


# -- identity numbers ------------------------------------------------------------------------------
def test_id_number_and_credit_code_check_characters():
    assert identity.id_number_error("11010519491231002X") is None  # GB 11643's example
    assert (
        identity.id_number_error("110105194912310021")
        == "The check digit does not match (GB 11643)."
    )
    assert identity.id_number_error("1101051949123100") is not None
    assert identity.credit_code_error("91350100M000100Y43") is None
    assert (
        identity.credit_code_error("91350100M000100Y44")
        == "The check character does not match (GB 32100)."
    )
    assert identity.credit_code_error("91350100I000100Y43") is not None  # no I in the code
    assert identity.mask_id_number("11010519491231002X") == "110105************"
    key = identity.person_key("s", "11010519491231002x")
    assert (
        key
        == identity.person_key("s", "11010519491231002X")
        != identity.person_key("t", "11010519491231002X")
    )
    assert "11010519491231002X" not in key


def test_the_id_number_matches_the_birth_date():
    errors = errors_of(with_(body(), ("form", "applicant", "birth_date"), "1960.01.01"))
    assert errors == {"form": {"applicant": {"id_number": ["Does not match birth_date."]}}}


def test_a_bad_credit_code_and_phone():
    data = with_(body(), ("form", "employer", "credit_code"), "915323010000000000")
    data = with_(data, ("form", "applicant", "phone"), "12345")
    errors = errors_of(data)
    assert errors["form"]["employer"] == {
        "credit_code": ["The check character does not match (GB 32100)."]
    }
    assert errors["form"]["applicant"] == {
        "phone": ["Not a mobile (11 digits) or landline number."]
    }


# -- officials' records ----------------------------------------------------------------------------
def test_every_stage_body_of_the_walk_loads():
    for stage in schemas.STAGES:
        schemas.RecordReview().load(stage_body(stage, D(2026, 4, 1)))


def test_a_stage_record_belongs_to_its_stage():
    data = {
        **stage_body("qualification_review", D(2026, 4, 1)),
        "experts": [{"name": "a", "score": 1}],
    }
    assert errors_of(data, schemas.RecordReview) == {
        "experts": ["Not part of the qualification_review record."]
    }


def test_county_opinions_one_per_body_and_known_bodies():
    data = stage_body("county_recommendation", D(2026, 4, 1))
    data["county_opinions"][1]["body"] = data["county_opinions"][0]["body"]
    assert errors_of(data, schemas.RecordReview) == {
        "county_opinions": ["One opinion per county body."]
    }
    data["county_opinions"][1]["body"] = "police"
    assert list(errors_of(data, schemas.RecordReview)["county_opinions"][1]) == ["body"]


def test_expert_marks():
    data = stage_body("expert_review", D(2026, 4, 1))
    data["experts"][0]["score"] = 101
    assert errors_of(data, schemas.RecordReview) == {
        "experts": {
            0: {"score": ["Must be greater than or equal to 0 and less than or equal to 100."]}
        }
    }
    data = stage_body("expert_review", D(2026, 4, 1))
    del data["experts"][0]["vote"]
    assert errors_of(data, schemas.RecordReview) == {
        "experts": ["Either every member votes or none does."]
    }


def test_a_rejection_cites_well_formed_clauses():
    data = {
        **stage_body("county_recommendation", D(2026, 4, 1), passed=False),
        "clauses": ["LT-7", "article 7"],
    }
    assert errors_of(data, schemas.RecordReview) == {
        "clauses": {1: ["String does not match expected pattern."]}
    }
