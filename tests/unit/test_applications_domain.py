"""The application decider (LT-8, LT-9, LT-10, LT-10.1): the review stages in order, each by its
own record (the six county bodies' opinions and the county's own decision with its reasons and, for
LT-6.3, its judgement on job creation and tax; the expert committee's marks and the chair;
discipline inspection; the Commerce Bureau's ranked proposal; the Leading Group and the Standing
Committee), the quota at the proposal and again at approval, one talent per enterprise at
approval and certification, once per person at submission, the public notice of five working
days, objections, certification and withdrawal on their own dates."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from givenwhenthen import NewEvent, given, refused, then, types, when

from services.applications.domain import policy
from services.applications.domain.application import (
    Candidate,
    Certify,
    RaiseObjection,
    ResolveObjection,
    Review,
    StartNotice,
    Submit,
    Withdraw,
    application,
    expert_score,
    period_end,
)
from services.applications.domain.round import Round
from shared.calendar import WorkingDayCalendar
from shared.errors import NotFound

D = dt.date
APP = "app-0001"
CODE = "91532301MA6N0XKX1E"
ROUND = Round(2026, 10, D(2026, 1, 1), D(2026, 12, 31))
STAGES = (
    "county_recommendation",
    "qualification_review",
    "expert_review",
    "inspection",
    "proposal",
    "approval",
    "standing_committee",
)
STAGE_CLAUSES = ("LT-9.1", "LT-9.2", "LT-9.3", "LT-9.4", "LT-9.5", "LT-9.5", "LT-9.5")
SUBMITTED_ON = D(2026, 3, 2)
SELLER_EVIDENCE = {
    "sales_fen": 350_000_000,
    "sales_fen_year_before": 320_000_000,
    "jobs_driven": 12,
    "tax_paid_fen": 1_200_000,
}
INFLUENCER_EVIDENCE = {"followers": 150_000, "exposure": 2_400_000}
BODIES = tuple(policy.COUNTY_BODIES)
PERSON = "pk-1f3a"


# -- histories ---------------------------------------------------------------------------------
def submitted(
    category="LT-6.3",
    evidence=None,
    round_year=2026,
    submitted_on=SUBMITTED_ON,
    enterprise_code=CODE,
    person_key=None,
):
    payload = {
        "application_id": APP,
        "round_year": round_year,
        "county": "楚雄市",
        "applicant_name": "李明",
        "enterprise_name": "楚雄彝绣电子商务有限公司",
        "category": category,
        "evidence": dict(SELLER_EVIDENCE if evidence is None else evidence),
        "submitted_on": submitted_on,
        "applicant_id": "applicant-7",
    }
    if enterprise_code:
        payload["enterprise_code"] = enterprise_code
    if person_key:
        payload["person_key"] = person_key
    return NewEvent("ApplicationSubmitted", payload, ("LT-9.1", category))


def assessed(eligible=True):
    return NewEvent(
        "EligibilityAssessed",
        {
            "application_id": APP,
            "eligible": eligible,
            "failed": [] if eligible else ["LT-7 x"],
            "checks": [],
        },
        ("LT-6",),
    )


def opinions(agree=BODIES, day=D(2026, 3, 10), bodies=BODIES):
    return tuple(
        {
            "body": b,
            "agrees": b in agree,
            "opinion": "同意推荐" if b in agree else "不同意",
            "signed_on": day,
        }
        for b in bodies
    )


def experts(*scores, votes=None):
    return tuple(
        {"name": f"专家{i}", "score": s, **({"vote": votes[i]} if votes else {})}
        for i, s in enumerate(scores)
    )


CHAIR = {"name": "专家0", "signed_on": D(2026, 4, 1)}
JUDGED = {"employment_strong": True, "tax_large": False, "reasons": "带动就业12人，居全县前列"}
CLEAR = {"body": "州纪委州监委派驻纪检监察组", "clear": True, "opinion": "无违纪违法问题"}


def review(stage, passed=True, day=None, score=80, **kw):
    """A complete, valid record of ``stage``."""
    record = {}
    if stage == "county_recommendation":
        record["county_opinions"] = opinions()
        if passed:
            record["seller_contribution"] = JUDGED
    elif stage == "expert_review":
        record["experts"] = experts(score, score, score, votes=["for" if passed else "against"] * 3)
        record["chair"] = CHAIR
    elif stage == "inspection":
        record["discipline_opinion"] = CLEAR
        record["findings"] = "材料属实"
    if not passed:
        record["reasons"] = ("不符合条件",)
    record.update(kw)
    return Review(stage, passed, "同意" if passed else "", decided_on=day, **record)


def ctx(**extra):
    return {"round": ROUND, "standing": (), **extra}


def through(n, score=80, **first):
    """Submitted, eligible, and the first ``n`` stages passed (as the decider records them)."""
    history = [submitted(**first), assessed()]
    start = first.get("submitted_on", SUBMITTED_ON) + dt.timedelta(days=8)
    judged = first.get("category", "LT-6.3") == "LT-6.3"
    for i, stage in enumerate(STAGES[:n]):
        extra = {"seller_contribution": None} if stage == STAGES[0] and not judged else {}
        history += when(
            application,
            given(application, *history),
            review(stage, day=start + dt.timedelta(days=i), score=score, **extra),
            **ctx(),
        )
    return history


def approved(**first):
    return through(len(STAGES), **first)


def notice(start, end):
    return NewEvent(
        "PublicNoticeStarted",
        {"application_id": APP, "start_date": start, "end_date": end, "working_days": 5},
        ("LT-9.5",),
    )


def on_notice(start=D(2026, 11, 16), end=D(2026, 11, 20), **first):
    return approved(**first) + [notice(start, end)]


def objection(oid="obj-1", day=D(2026, 11, 17)):
    return RaiseObjection(oid, day, "举报其销售额数据不实", "来信")


# -- the policy parameters the tests rely on ---------------------------------------------------
def test_policy_parameters():
    assert policy.STAGE_NAMES == STAGES
    assert tuple(policy.STAGE_CLAUSE[s] for s in STAGES) == STAGE_CLAUSES
    assert [role for _, role, _ in policy.STAGES] == [
        "county_officer",
        "prefecture_officer",
        "expert_chair",
        "inspector",
        "prefecture_officer",
        "leading_group",
        "standing_committee",
    ]
    assert policy.NOTICE_WORKING_DAYS == 5
    assert policy.TRAINING_PERIOD_YEARS == 3
    assert policy.ROUND_QUOTA_MAX == 10
    assert len(policy.COUNTY_BODIES) == 6
    assert policy.POLICY_VERSION == "LT-2022-09-01/v3"
    assert policy.COUNTY_RECOMMENDATION_READING == "county_decides"
    assert policy.SELLER_CONTRIBUTION_READING == "county_judgement"
    assert policy.ENTERPRISE_TALENT_COUNTS == "ever"
    assert policy.PROPOSAL_DEFAULT_ORDER == "expert_score"


# -- the whole path ----------------------------------------------------------------------------
def test_the_whole_path_with_every_record():
    history = [submitted(), assessed()]

    def step(command, **extra):
        events = when(application, given(application, *history), command, **extra)
        history.extend(events)
        return events

    [county] = step(review("county_recommendation", day=D(2026, 3, 10)))
    then(
        [county],
        NewEvent(
            "ReviewPassed",
            {
                "application_id": APP,
                "stage": "county_recommendation",
                "decided_on": D(2026, 3, 10),
                "county_opinions": [dict(o) for o in opinions()],
                "seller_contribution": {
                    "jobs_driven": 12,
                    "tax_paid_fen": 1_200_000,
                    "employment_strong": True,
                    "tax_large": False,
                    "met": True,
                    "reasons": JUDGED["reasons"],
                    "reading": "county_judgement",
                },
                "opinion": "同意",
            },
            ("LT-9.1", "LT-6.3"),
        ),
    )
    then(
        step(review("qualification_review", day=D(2026, 3, 12))),
        NewEvent(
            "ReviewPassed",
            {
                "application_id": APP,
                "stage": "qualification_review",
                "decided_on": D(2026, 3, 12),
                "opinion": "同意",
            },
            ("LT-9.2",),
        ),
    )
    then(
        step(
            Review(
                "expert_review",
                True,
                "推荐",
                decided_on=D(2026, 4, 1),
                experts=experts(90, 85, 87, votes=["for", "for", "against"]),
                chair=CHAIR,
            )
        ),
        NewEvent(
            "ReviewPassed",
            {
                "application_id": APP,
                "stage": "expert_review",
                "decided_on": D(2026, 4, 1),
                "experts": [dict(e) for e in experts(90, 85, 87, votes=["for", "for", "against"])],
                "expert_score": "87.33",
                "chair": CHAIR,
                "opinion": "推荐",
            },
            ("LT-9.3",),
        ),
    )
    then(
        step(review("inspection", day=D(2026, 4, 20))),
        NewEvent(
            "ReviewPassed",
            {
                "application_id": APP,
                "stage": "inspection",
                "decided_on": D(2026, 4, 20),
                "findings": "材料属实",
                "discipline_opinion": CLEAR,
                "opinion": "同意",
            },
            ("LT-9.4",),
        ),
    )
    then(
        step(review("proposal", day=D(2026, 5, 6)), **ctx()),
        NewEvent(
            "ReviewPassed",
            {
                "application_id": APP,
                "stage": "proposal",
                "decided_on": D(2026, 5, 6),
                "proposal": {
                    "rank": 1,
                    "reason": "专家评审得分 87.33，排名第 1",
                    "order": "expert_score",
                    "rank_by_score": 1,
                    "expert_score": "87.33",
                    "quota": 10,
                    "proposed": 0,
                },
                "opinion": "同意",
            },
            ("LT-9.5", "LT-8"),
        ),
    )
    then(
        step(review("approval", day=D(2026, 5, 8)), **ctx()),
        NewEvent(
            "ReviewPassed",
            {
                "application_id": APP,
                "stage": "approval",
                "decided_on": D(2026, 5, 8),
                "ranking": {
                    "rank": 1,
                    "candidates": 1,
                    "quota": 10,
                    "approved": 0,
                    "expert_score": "87.33",
                },
                "opinion": "同意",
            },
            ("LT-9.5", "LT-8", "LT-10"),
        ),
    )
    then(
        step(review("standing_committee", day=D(2026, 5, 20)), **ctx()),
        NewEvent(
            "ReviewPassed",
            {
                "application_id": APP,
                "stage": "standing_committee",
                "decided_on": D(2026, 5, 20),
                "opinion": "同意",
            },
            ("LT-9.5", "LT-8"),
        ),
    )
    state = given(application, *history)
    assert (state.status, state.next_stage, state.expert_score) == (
        "approved",
        None,
        Decimal("87.33"),
    )

    then(step(StartNotice(D(2026, 5, 25))), notice(D(2026, 5, 25), D(2026, 5, 29)))
    then(
        step(Certify("talent-0001", certified_on=D(2026, 6, 1)), **ctx()),
        NewEvent(
            "TalentCertified",
            {
                "talent_id": "talent-0001",
                "application_id": APP,
                "applicant_name": "李明",
                "county": "楚雄市",
                "category": "LT-6.3",
                "track": "seller",
                "baseline_year": 2025,
                "baseline": {"sales_fen": 350_000_000},
                "period_start": D(2026, 6, 1),
                "period_end": D(2029, 5, 31),
                "origin": "selection",
                "round_year": 2026,
                "enterprise_name": "楚雄彝绣电子商务有限公司",
                "certified_on": D(2026, 6, 1),
                "applicant_id": "applicant-7",
                "enterprise_code": CODE,
            },
            ("LT-9.5", "LT-8", "LT-10", "LT-10.1"),
        ),
    )
    assert types(history) == (
        ["ApplicationSubmitted", "EligibilityAssessed"]
        + ["ReviewPassed"] * 7
        + ["PublicNoticeStarted", "TalentCertified"]
    )
    assert given(application, *history).status == "certified"


def test_every_event_records_valid_clauses():
    history = on_notice()
    history += when(application, given(application, *history), Certify("t-1"), **ctx())
    clause = re.compile(r"^(LT|TM)-(\d+(\.\d+)?|form-\d+)$")
    for event in history:
        assert event.clauses, f"{event.event_type} records no clause"
        assert all(clause.match(c) for c in event.clauses), event.clauses


def test_submitted_twice_is_refused():
    refused(
        "LT-9.1",
        application,
        given(application, submitted()),
        Submit(APP, 2026, "楚雄市", "李明", "x", "LT-6.3", {}, SUBMITTED_ON),
        round=ROUND,
    )


@pytest.mark.parametrize(
    "rnd, day, clause, field",
    [
        (None, SUBMITTED_ON, "LT-8", "round_year"),
        (Round(2026, 10, D(2026, 3, 3), D(2026, 4, 30)), SUBMITTED_ON, "LT-8", "submitted_on"),
        (Round(2026, 10, D(2026, 1, 1), D(2026, 3, 1)), SUBMITTED_ON, "LT-8", "submitted_on"),
        (ROUND, D(2026, 11, 24), "LT-9.1", "submitted_on"),
    ],
)
def test_submission_needs_an_open_round_and_its_window(rnd, day, clause, field):
    err = refused(
        clause,
        application,
        given(application),
        Submit(APP, 2026, "楚雄市", "李明", "x", "LT-6.3", {}, day),
        round=rnd,
    )
    assert list(err.fields) == [field]


def test_the_window_includes_both_ends():
    for day in (D(2026, 3, 3), D(2026, 4, 30)):
        events = when(
            application,
            given(application),
            Submit(APP, 2026, "楚雄市", "李明", "x", "LT-6.4", {"sales_fen": 1}, day),
            round=Round(2026, 10, D(2026, 3, 3), D(2026, 4, 30)),
        )
        assert types(events) == ["ApplicationSubmitted", "EligibilityAssessed"]


def test_an_ineligible_application_cannot_be_reviewed():
    state = given(application, submitted(), assessed(eligible=False))
    assert state.status == "ineligible"
    refused("LT-9", application, state, review("county_recommendation"))


# -- stages in order (LT-9) ----------------------------------------------------------------------
@pytest.mark.parametrize("done", range(len(STAGES)))
@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_out_of_order_is_refused(done, stage):
    state = given(application, *through(done))
    if stage == STAGES[done]:
        assert types(when(application, state, review(stage), **ctx())) == ["ReviewPassed"]
    else:
        err = refused("LT-9", application, state, review(stage), **ctx())
        assert err.fields == {"stage": [STAGES[done]]}


def test_review_before_submission_is_refused():
    refused("LT-9", application, given(application), review("county_recommendation"))


def test_no_review_after_the_standing_committee():
    refused(
        "LT-9", application, given(application, *approved()), review("standing_committee"), **ctx()
    )


# -- rejection -----------------------------------------------------------------------------------
@pytest.mark.parametrize("done", range(len(STAGES)))
def test_a_rejection_needs_reasons(done):
    stage = STAGES[done]
    state = given(application, *through(done))
    err = refused(
        STAGE_CLAUSES[done], application, state, review(stage, False, reasons=()), **ctx()
    )
    assert err.fields == {"reasons": ["Required when rejecting."]}
    [event] = when(
        application, state, review(stage, False, reasons=("销售额不足", "无纳税证明")), **ctx()
    )
    assert (event.event_type, event.payload["reasons"], event.clauses) == (
        "ReviewRejected",
        ["销售额不足", "无纳税证明"],
        (STAGE_CLAUSES[done],),
    )
    assert given(application, *through(done), event).status == "rejected"


def test_a_rejection_cites_the_clause_it_applies():
    [event] = when(
        application,
        given(application, *through(0)),
        Review(
            "county_recommendation",
            False,
            reasons=("信用中国查询有失信记录",),
            cited=("LT-7",),
            decided_on=D(2026, 3, 5),
        ),
    )
    assert event.clauses == ("LT-9.1", "LT-7")


def test_a_rejected_application_cannot_continue():
    state = given(
        application,
        *through(1),
        *when(
            application,
            given(application, *through(1)),
            review("qualification_review", False, reasons=("上年度电商销售额未达300万元",)),
        ),
    )
    assert state.status == "rejected"
    for stage in STAGES:
        refused("LT-9", application, state, review(stage), **ctx())
    refused("LT-9.5", application, state, StartNotice(D(2026, 11, 16)))
    refused("LT-9.5", application, state, Certify("talent-x"), **ctx())
    refused("LT-9", application, state, Withdraw("改变主意"))


# -- decision dates ------------------------------------------------------------------------------
def test_a_decision_is_not_dated_in_the_future_nor_before_the_step_before():
    state = given(application, *through(1))  # county recommended on 2026-03-10
    err = refused("LT-9.2", application, state, review("qualification_review", day=D(2026, 11, 24)))
    assert err.fields == {"decided_on": ["Must not be after today."]}
    err = refused("LT-9.2", application, state, review("qualification_review", day=D(2026, 3, 9)))
    assert err.fields == {"decided_on": ["Must not be before 2026-03-10."]}
    [same_day] = when(application, state, review("qualification_review", day=D(2026, 3, 10)))
    assert same_day.payload["decided_on"] == D(2026, 3, 10)
    [undated] = when(application, state, review("qualification_review"))
    assert undated.payload["decided_on"] == D(2026, 11, 23)  # today


# -- LT-9.1: the six county bodies -----------------------------------------------------------------
def test_county_recommends_only_with_all_six_opinions():
    state = given(application, *through(0))
    err = refused(
        "LT-9.1",
        application,
        state,
        review("county_recommendation", county_opinions=opinions(bodies=BODIES[:4])),
    )
    assert err.fields == {"county_opinions": ["Missing: agriculture, commerce."]}


def test_the_county_decides_after_the_six_opinions_with_its_reasons():
    """Given the six opinions with the organisation department against, when the county
    recommends, then it must give its reasons (county_decides) and the opinion against is
    recorded; without all six opinions it cannot recommend."""
    state = given(application, *through(0))
    against = opinions(agree=BODIES[1:])
    err = refused(
        "LT-9.1", application, state, review("county_recommendation", county_opinions=against)
    )
    assert err.fields == {"reasons": ["Required when a county body's opinion is against."]}
    [event] = when(
        application,
        state,
        review(
            "county_recommendation", county_opinions=against, reasons=("择优：销售额居全县首位",)
        ),
    )
    assert event.event_type == "ReviewPassed"
    assert event.payload["reasons"] == ["择优：销售额居全县首位"]
    assert event.payload["county_opinions"][0] == {
        "body": "organisation_department",
        "agrees": False,
        "opinion": "不同意",
        "signed_on": D(2026, 3, 10),
    }
    err = refused(
        "LT-9.1",
        application,
        state,
        review("county_recommendation", county_opinions=opinions(bodies=BODIES[:5])),
    )
    assert err.fields == {"county_opinions": ["Missing: commerce."]}
    [event] = when(
        application,
        state,
        review("county_recommendation", False, county_opinions=against, reasons=("不择优",)),
    )
    assert event.event_type == "ReviewRejected"


def test_the_other_reading_lets_one_body_veto(monkeypatch):
    monkeypatch.setattr(policy, "COUNTY_RECOMMENDATION_READING", "any_body_vetoes")
    state = given(application, *through(0))
    err = refused(
        "LT-9.1",
        application,
        state,
        review("county_recommendation", county_opinions=opinions(agree=BODIES[1:]), reasons=("x",)),
    )
    assert err.fields == {"county_opinions": ["Not agreed by: organisation_department."]}


# -- LT-6.3: the county's judgement on job creation and tax ------------------------------------
@pytest.mark.parametrize(
    "strong, large, ok",
    [(True, False, True), (False, True, True), (True, True, True), (False, False, False)],
)
def test_an_lt63_applicant_is_recommended_on_the_countys_judgement(strong, large, ok):
    """Given an LT-6.3 applicant with 12 jobs and 12,000 CNY of tax, when the county records its
    judgement, then it recommends only finding strong job creation or a large tax contribution."""
    state = given(application, *through(0))
    judged = {"employment_strong": strong, "tax_large": large, "reasons": "按本县同类企业比较"}
    command = review("county_recommendation", seller_contribution=judged)
    if ok:
        [event] = when(application, state, command)
        assert event.payload["seller_contribution"] == {
            "jobs_driven": 12,
            "tax_paid_fen": 1_200_000,
            "employment_strong": strong,
            "tax_large": large,
            "met": True,
            "reasons": "按本县同类企业比较",
            "reading": "county_judgement",
        }
        assert event.clauses == ("LT-9.1", "LT-6.3")
    else:
        err = refused("LT-6.3", application, state, command)
        assert err.fields == {"seller_contribution": ["Neither employment_strong nor tax_large."]}


def test_one_fen_of_tax_is_not_enough_by_itself():
    """Given an LT-6.3 applicant with no jobs and one fen of tax, the county's judgement is still
    required: a recommendation without it is refused."""
    evidence = {**SELLER_EVIDENCE, "jobs_driven": 0, "tax_paid_fen": 1}
    state = given(application, *through(0, evidence=evidence))
    err = refused(
        "LT-6.3", application, state, review("county_recommendation", seller_contribution=None)
    )
    assert err.fields == {"seller_contribution": ["Required to recommend an LT-6.3 applicant."]}
    [event] = when(
        application,
        state,
        review("county_recommendation", False, seller_contribution=None, reasons=("贡献不足",)),
    )
    assert "seller_contribution" not in event.payload


def test_the_judgement_is_for_lt63_applicants_only():
    state = given(application, *through(0, category="LT-6.4", evidence={"sales_fen": 12_000_000}))
    err = refused("LT-9.1", application, state, review("county_recommendation"))
    assert err.fields == {"seller_contribution": ["Only for an LT-6.3 applicant."]}
    err = refused(
        "LT-9.2",
        application,
        given(application, *through(1)),
        review("qualification_review", seller_contribution=JUDGED),
    )
    assert err.fields == {"seller_contribution": ["Not part of the qualification_review record."]}


# -- LT-9.3: the expert committee ------------------------------------------------------------------
@pytest.mark.parametrize(
    "votes, passes",
    [
        (("for", "for", "against"), True),
        (("for", "against", "abstain"), False),
        (("for", "for", "against", "against"), False),  # half is not more than half
        (("for", "for", "for", "against"), True),
        (("for", "for", "abstain", "abstain", "against"), False),
    ],
)
def test_the_committee_decides_by_more_than_half_of_its_members(votes, passes):
    state = given(application, *through(2))
    marks = experts(*[80] * len(votes), votes=list(votes))
    good = Review(
        "expert_review", passes, reasons=() if passes else ("未过半数",), experts=marks, chair=CHAIR
    )
    assert types(when(application, state, good)) == ["ReviewPassed" if passes else "ReviewRejected"]
    bad = Review("expert_review", not passes, reasons=("x",), experts=marks, chair=CHAIR)
    err = refused("LT-9.3", application, state, bad)
    assert err.fields == {"decision": ["pass" if passes else "reject"]}


@pytest.mark.parametrize(
    "scores, average, passes",
    [
        ((60, 60, 60), "60.00", True),  # the pass mark itself (以上)
        ((60, 60, 59), "59.67", False),
        ((100, 20, 61), "60.33", True),
        ((88, 87, 87), "87.33", True),
        ((88, 88, 87), "87.67", True),
    ],
)
def test_a_committee_that_only_scores_passes_at_the_average_pass_mark(scores, average, passes):
    assert expert_score(experts(*scores)) == Decimal(average)
    state = given(application, *through(2))
    command = Review(
        "expert_review",
        passes,
        reasons=() if passes else ("分数不足",),
        experts=experts(*scores),
        chair=CHAIR,
    )
    [event] = when(application, state, command)
    assert (event.event_type, event.payload["expert_score"]) == (
        "ReviewPassed" if passes else "ReviewRejected",
        average,
    )


def test_the_committee_has_three_members_and_the_chair_signs():
    state = given(application, *through(2))
    err = refused(
        "LT-9.3",
        application,
        state,
        Review("expert_review", True, experts=experts(90, 90, votes=["for", "for"]), chair=CHAIR),
    )
    assert err.fields == {"experts": ["At least 3 members."]}
    err = refused(
        "LT-9.3", application, state, Review("expert_review", True, experts=experts(90, 90, 90))
    )
    assert err.fields == {"chair": ["Required: the chair's sign-off."]}


# -- LT-9.4: inspection with discipline inspection -----------------------------------------------
def test_inspection_passes_only_with_a_clear_discipline_opinion():
    state = given(application, *through(3))
    err = refused("LT-9.4", application, state, Review("inspection", True, findings="属实"))
    assert err.fields == {"discipline_opinion": ["Required to pass the inspection."]}
    unclear = {**CLEAR, "clear": False, "opinion": "有信访举报待核"}
    err = refused(
        "LT-9.4", application, state, Review("inspection", True, discipline_opinion=unclear)
    )
    assert err.fields == {"discipline_opinion": ["Not clear."]}
    [event] = when(
        application,
        state,
        Review("inspection", False, reasons=("有信访举报",), discipline_opinion=unclear),
    )
    assert event.payload["discipline_opinion"] == unclear


# -- LT-8 / LT-9.5: the Commerce Bureau's proposal, the quota at proposal and at approval ------
def standing(*candidates):
    return tuple(
        Candidate(f"app-{i:04d}", Decimal(score), **flags)
        for i, (score, flags) in enumerate(candidates, start=100)
    )


INSPECTED = {"inspected": True}
PROPOSED = {"inspected": True, "proposed": True}


@pytest.mark.parametrize(
    "others, ok, clause",
    [
        ([], True, None),
        ([(90, PROPOSED)] * 9, True, None),  # the 10th place
        ([(90, PROPOSED)] * 10, False, "LT-8"),  # quota taken at the proposal
        ([(90, {**PROPOSED, "approved": True})] * 10, False, "LT-8"),
        ([(95, INSPECTED)] * 10, False, "LT-9.5"),  # 10 ahead not yet proposed
        ([(95, INSPECTED)] * 9, True, None),  # 9 ahead: place 10 is free
        ([(80, INSPECTED)] * 10, True, None),  # ties are not ahead
        ([(70, INSPECTED)] * 15, True, None),  # lower scores wait
        ([(95, {})] * 15, True, None),  # not yet inspected: not ahead
        ([(95, PROPOSED)] * 5 + [(95, INSPECTED)] * 5, False, "LT-9.5"),
    ],
)
def test_proposal_within_the_quota_by_expert_score(others, ok, clause):
    """Given candidates of the round, when the bureau proposes in the default order (expert
    score), then the candidate takes its score's rank while a place is free after those proposed
    and every higher-scored inspected candidate not yet proposed."""
    state = given(application, *through(4, score=80))
    command = review("proposal")
    context = ctx(standing=standing(*others))
    if ok:
        [event] = when(application, state, command, **context)
        rank = 1 + sum(1 for s, f in others if s > 80 and f.get("inspected"))
        assert event.payload["proposal"] == {
            "rank": rank,
            "reason": f"专家评审得分 80.00，排名第 {rank}",
            "order": "expert_score",
            "rank_by_score": rank,
            "expert_score": "80.00",
            "quota": 10,
            "proposed": sum(1 for _, f in others if f.get("proposed")),
        }
        assert event.clauses == ("LT-9.5", "LT-8")
    else:
        err = refused(clause, application, state, command, **context)
        assert err.details["quota"] == 10


def test_a_ranked_refusal_names_who_is_ahead():
    state = given(application, *through(4, score=80))
    rnd = Round(2026, 2, D(2026, 1, 1), D(2026, 12, 31))
    err = refused(
        "LT-9.5",
        application,
        state,
        review("proposal"),
        **ctx(round=rnd, standing=standing((90, INSPECTED), (85, INSPECTED), (60, INSPECTED))),
    )
    assert err.details == {"rank": 3, "quota": 2, "proposed": 0, "ahead": ["app-0100", "app-0101"]}


def test_the_bureau_ranks_on_review_and_inspection_with_its_reason():
    """Given two higher-scored candidates waiting, when the bureau gives a rank of its own with
    its reason, then it is recorded as the bureau's order; without a reason, or at a rank held or
    beyond the quota, it is refused."""
    state = given(application, *through(4, score=80))
    others = standing((90, INSPECTED), (85, {**PROPOSED, "proposal_rank": 1}))
    rnd = Round(2026, 2, D(2026, 1, 1), D(2026, 12, 31))
    [event] = when(
        application,
        state,
        review("proposal", proposal={"rank": 2, "reason": "考察中带动脱贫成效突出"}),
        **ctx(round=rnd, standing=others),
    )
    assert event.payload["proposal"] == {
        "rank": 2,
        "reason": "考察中带动脱贫成效突出",
        "order": "bureau",
        "rank_by_score": 3,
        "expert_score": "80.00",
        "quota": 2,
        "proposed": 1,
    }
    assert given(application, *through(4, score=80), event).proposal_rank == 2
    err = refused(
        "LT-9.5",
        application,
        state,
        review("proposal", proposal={"rank": 2}),
        **ctx(round=rnd, standing=others),
    )
    assert err.fields == {"proposal": {"reason": ["Required with a rank."]}}
    for rank in (1, 3):  # held by app-0101; beyond the quota of 2
        err = refused(
            "LT-9.5",
            application,
            state,
            review("proposal", proposal={"rank": rank, "reason": "x"}),
            **ctx(round=rnd, standing=others),
        )
        assert err.fields == {"proposal": {"rank": ["A free rank from 1 to 2."]}}


def test_a_rank_belongs_to_the_proposal_only():
    state = given(application, *through(5))
    err = refused("LT-9.5", application, state, review("approval", proposal={"rank": 1}), **ctx())
    assert err.fields == {"proposal": ["Not part of the approval record."]}


@pytest.mark.parametrize("approved, ok", [(0, True), (9, True), (10, False)])
def test_the_quota_binds_again_at_approval(approved, ok):
    """Given the candidate proposed at rank 3, when the Leading Group approves with ``approved``
    others of the round approved, then it is approved at its proposed rank within the quota."""
    history = through(4, score=80)
    history += when(
        application,
        given(application, *history),
        review("proposal", proposal={"rank": 3, "reason": "综合评审和考察"}),
        **ctx(),
    )
    state = given(application, *history)
    others = standing(*[(99, {**PROPOSED, "approved": True})] * approved)
    if ok:
        [event] = when(application, state, review("approval"), **ctx(standing=others))
        assert event.payload["ranking"] == {
            "rank": 3,
            "candidates": approved + 1,
            "quota": 10,
            "approved": approved,
            "expert_score": "80.00",
        }
        assert event.clauses == ("LT-9.5", "LT-8", "LT-10")
    else:
        err = refused("LT-8", application, state, review("approval"), **ctx(standing=others))
        assert err.details == {"quota": 10, "approved": 10}


def test_a_candidate_can_always_be_rejected_at_proposal_and_approval():
    full = ctx(standing=standing(*[(99, {**PROPOSED, "approved": True})] * 10))
    for n, stage in ((4, "proposal"), (5, "approval")):
        state = given(application, *through(n))
        [event] = when(application, state, review(stage, False, reasons=("名额已满",)), **full)
        assert event.event_type == "ReviewRejected"


def test_the_standing_committee_agrees_within_the_quota():
    state = given(application, *through(6))
    err = refused(
        "LT-8",
        application,
        state,
        review("standing_committee"),
        **ctx(standing=standing(*[(99, {"approved": True, "confirmed": True})] * 10)),
    )
    assert err.details == {"quota": 10, "confirmed": 10}
    [event] = when(
        application,
        state,
        review("standing_committee"),
        **ctx(standing=standing(*[(99, {"approved": True, "confirmed": True})] * 9)),
    )
    assert event.clauses == ("LT-9.5", "LT-8")


def test_the_candidate_itself_does_not_count_against_the_quota():
    state = given(application, *through(6, score=80))
    me = Candidate(APP, Decimal(80), approved=True)
    others = standing(*[(99, {"approved": True, "confirmed": True})] * 9)
    assert types(
        when(application, state, review("standing_committee"), **ctx(standing=others + (me,)))
    ) == ["ReviewPassed"]


def test_a_history_recorded_before_the_proposal_stage_goes_on():
    """Given an application approved by the Leading Group straight after the inspection (policy
    v2, no proposal stage), then its next stage is the Standing Committee; one inspected but not
    yet approved goes to the proposal."""
    history = through(4)
    v2_approval = NewEvent(
        "ReviewPassed",
        {
            "application_id": APP,
            "stage": "approval",
            "decided_on": D(2026, 3, 20),
            "opinion": "同意",
        },
        ("LT-9.5", "LT-8"),
    )
    assert given(application, *history).next_stage == "proposal"
    assert given(application, *history, v2_approval).next_stage == "standing_committee"


# -- public notice (LT-9.5) ------------------------------------------------------------------
@pytest.mark.parametrize("done", range(len(STAGES)))
def test_notice_only_once_the_standing_committee_agreed(done):
    state = given(application, *through(done))
    refused("LT-9.5", application, state, StartNotice(D(2026, 11, 16)))


def test_no_notice_before_submission_nor_twice():
    refused("LT-9.5", application, given(application), StartNotice(D(2026, 11, 16)))
    refused("LT-9.5", application, given(application, *on_notice()), StartNotice(D(2026, 11, 23)))


def test_notice_is_not_in_the_future_nor_before_the_standing_committee():
    state = given(application, *approved())  # Standing Committee on 2026-03-16
    err = refused("LT-9.5", application, state, StartNotice(D(2026, 11, 24)))
    assert err.fields == {"start_date": ["Must not be after today."]}
    err = refused("LT-9.5", application, state, StartNotice(D(2026, 3, 15)))
    assert err.fields == {"start_date": ["Must not be before 2026-03-16."]}
    then(
        when(application, state, StartNotice(D(2026, 11, 23))),
        notice(D(2026, 11, 23), D(2026, 11, 27)),
    )


@pytest.mark.parametrize(
    "start, end",
    [
        (D(2026, 11, 16), D(2026, 11, 20)),  # Monday: Mon..Fri
        (D(2026, 11, 19), D(2026, 11, 25)),  # Thursday: Thu, Fri, Mon, Tue, Wed
        (D(2025, 9, 29), D(2025, 10, 11)),  # National Day 2025: 29, 30, Oct 9, 10, 11 (调休 Sat)
        (D(2025, 9, 28), D(2025, 10, 10)),  # the adjusted working Sunday counts as day 1
        (D(2025, 10, 1), D(2025, 10, 14)),  # starting on a holiday: day 1 is Oct 9
        (D(2026, 11, 21), D(2026, 11, 27)),  # Saturday: day 1 is the Monday
        (D(2026, 11, 22), D(2026, 11, 27)),  # Sunday: day 1 is the Monday
        (D(2026, 9, 30), D(2026, 10, 12)),  # National Day 2026: 30, Oct 9, 10 (调休 Sat), 12...
        (D(2026, 2, 13), D(2026, 2, 26)),  # Spring Festival 2026: 13, 14 (调休 Sat), 24, 25, 26
        (D(2026, 12, 25), D(2026, 12, 31)),  # up to the last day the calendar knows
    ],
)
def test_notice_ends_on_the_fifth_working_day(start, end):
    state = given(application, *approved(submitted_on=D(2025, 3, 2)))
    then(when(application, state, StartNotice(start), today=start), notice(start, end))


def test_notice_running_into_an_unknown_year_is_refused_until_its_calendar_is_loaded():
    state = given(application, *approved())
    err = refused("LT-9.5", application, state, StartNotice(D(2026, 12, 28)), today=D(2026, 12, 30))
    assert (err.code, err.details) == ("calendar_year_unknown", {"year": 2027})
    calendar = WorkingDayCalendar({2027: {"holidays": ["2027-01-01"], "workdays": []}})
    then(
        when(
            application,
            state,
            StartNotice(D(2026, 12, 28)),
            today=D(2026, 12, 30),
            calendar=calendar,
        ),
        notice(D(2026, 12, 28), D(2027, 1, 4)),
    )  # 28, 29, 30, 31, (1 Jan off) 4 Jan


# -- objections (LT-9.5) ---------------------------------------------------------------------
def test_an_objection_during_the_notice_suspends_certification():
    state = given(application, *on_notice())
    [raised] = when(application, state, objection())
    then(
        [raised],
        NewEvent(
            "ObjectionRaised",
            {
                "application_id": APP,
                "objection_id": "obj-1",
                "received_on": D(2026, 11, 17),
                "summary": "举报其销售额数据不实",
                "source": "来信",
            },
            ("LT-9.5",),
        ),
    )
    state = given(application, *on_notice(), raised)
    assert state.status == "suspended"
    err = refused("LT-9.5", application, state, Certify("t-1"), **ctx())
    assert "obj-1" in err.message


@pytest.mark.parametrize(
    "day, ok",
    [
        (D(2026, 11, 15), False),
        (D(2026, 11, 16), True),
        (D(2026, 11, 20), True),
        (D(2026, 11, 21), False),
    ],
)
def test_an_objection_is_received_during_the_notice(day, ok):
    state = given(application, *on_notice(D(2026, 11, 16), D(2026, 11, 20)))
    if ok:
        assert types(when(application, state, objection(day=day))) == ["ObjectionRaised"]
    else:
        err = refused("LT-9.5", application, state, objection(day=day))
        assert err.fields == {"received_on": ["Outside the public notice."]}


def test_no_objection_outside_a_notice():
    refused("LT-9.5", application, given(application, *approved()), objection())
    certified = on_notice() + when(
        application, given(application, *on_notice()), Certify("t-1"), **ctx()
    )
    refused("LT-9.5", application, given(application, *certified), objection())


def resolve(oid="obj-1", upheld=False, day=D(2026, 11, 23)):
    return ResolveObjection(
        oid, upheld, "经核查，销售额有税务发票佐证" if not upheld else "经核查，销售额数据不实", day
    )


def test_a_dismissed_objection_lets_certification_go_on():
    history = on_notice() + when(application, given(application, *on_notice()), objection())
    [resolved] = when(application, given(application, *history), resolve())
    then(
        [resolved],
        NewEvent(
            "ObjectionResolved",
            {
                "application_id": APP,
                "objection_id": "obj-1",
                "outcome": "dismissed",
                "finding": "经核查，销售额有税务发票佐证",
                "resolved_on": D(2026, 11, 23),
            },
            ("LT-9.5",),
        ),
    )
    state = given(application, *history, resolved)
    assert state.status == "on_notice"
    assert types(when(application, state, Certify("t-1"), **ctx())) == ["TalentCertified"]


def test_an_upheld_objection_rejects_the_candidate():
    history = on_notice() + when(application, given(application, *on_notice()), objection())
    events = when(application, given(application, *history), resolve(upheld=True))
    then(
        events,
        NewEvent(
            "ObjectionResolved",
            {
                "application_id": APP,
                "objection_id": "obj-1",
                "outcome": "upheld",
                "finding": "经核查，销售额数据不实",
                "resolved_on": D(2026, 11, 23),
            },
            ("LT-9.5",),
        ),
        NewEvent(
            "ReviewRejected",
            {
                "application_id": APP,
                "stage": "public_notice",
                "decided_on": D(2026, 11, 23),
                "reasons": ["经核查，销售额数据不实"],
            },
            ("LT-9.5",),
        ),
    )
    state = given(application, *history, *events)
    assert state.status == "rejected"
    refused("LT-9.5", application, state, Certify("t-1"), **ctx())


def test_every_objection_must_be_resolved():
    history = on_notice()
    for oid in ("obj-1", "obj-2"):
        history += when(application, given(application, *history), objection(oid))
    history += when(application, given(application, *history), resolve("obj-1"))
    state = given(application, *history)
    assert state.status == "suspended"
    err = refused("LT-9.5", application, state, Certify("t-1"), **ctx())
    assert "obj-2" in err.message and "obj-1" not in err.message
    refused("LT-9.5", application, state, resolve("obj-1"))  # already resolved
    refused("LT-9.5", application, state, objection("obj-1"))  # same id again
    with pytest.raises(NotFound):
        when(application, state, resolve("obj-9"))
    err = refused("LT-9.5", application, state, resolve("obj-2", day=D(2026, 11, 16)))
    assert err.fields == {"resolved_on": ["Out of range."]}


# -- certification ---------------------------------------------------------------------------
def test_certification_refused_until_the_notice_has_closed():
    state = given(application, *on_notice(D(2026, 11, 16), D(2026, 11, 20)))
    for today in (D(2026, 11, 16), D(2026, 11, 19), D(2026, 11, 20)):
        err = refused("LT-9.5", application, state, Certify("t-1"), today=today, **ctx())
        assert "2026-11-20" in err.message
    assert types(when(application, state, Certify("t-1"), today=D(2026, 11, 21), **ctx())) == [
        "TalentCertified"
    ]


def test_certification_the_day_after_a_notice_closing_on_an_adjusted_saturday():
    state = given(
        application, *on_notice(D(2025, 9, 29), D(2025, 10, 11), submitted_on=D(2025, 3, 2))
    )
    refused("LT-9.5", application, state, Certify("t-1"), today=D(2025, 10, 11), **ctx())
    [event] = when(application, state, Certify("t-1"), today=D(2025, 10, 12), **ctx())
    assert (event.payload["period_start"], event.payload["period_end"]) == (
        D(2025, 10, 12),
        D(2028, 10, 11),
    )


@pytest.mark.parametrize("done", range(7))
def test_certification_refused_before_the_notice(done):
    refused("LT-9.5", application, given(application, *through(done)), Certify("t-1"), **ctx())


def test_certified_once():
    history = on_notice() + when(
        application, given(application, *on_notice()), Certify("t-1"), **ctx()
    )
    assert given(application, *history).status == "certified"
    refused("LT-9.5", application, given(application, *history), Certify("t-2"), **ctx())


def test_no_more_certified_than_the_quota():
    state = given(application, *on_notice())
    full = standing(*[(99, {"approved": True, "confirmed": True, "certified": True})] * 10)
    err = refused("LT-8", application, state, Certify("t-1"), **ctx(standing=full))
    assert err.details == {"quota": 10, "certified": 10}


TALENT_OF_ENTERPRISE = (("talent-yixiang-YX9", D(2020, 1, 10), D(2023, 1, 9)),)


def test_an_enterprise_with_a_talent_gets_no_second_certified():
    """Given the enterprise had a transferred Yixiang talent (period over), when its second
    person is certified, then LT-10 refuses (the literal reading: ever)."""
    state = given(application, *on_notice())
    err = refused(
        "LT-10",
        application,
        state,
        Certify("t-1"),
        **ctx(lookups={"enterprise_talents": TALENT_OF_ENTERPRISE}),
    )
    assert "talent-yixiang-YX9" in err.message
    assert err.details == {"enterprise_code": CODE, "talent_id": "talent-yixiang-YX9"}


def test_an_enterprise_with_a_talent_gets_no_second_approved():
    state = given(application, *through(5))
    err = refused(
        "LT-10",
        application,
        state,
        review("approval"),
        **ctx(lookups={"enterprise_talents": TALENT_OF_ENTERPRISE}),
    )
    assert "approved" in err.message
    [event] = when(
        application,
        state,
        review("approval", False, reasons=("同一企业只认定一名",)),
        **ctx(lookups={"enterprise_talents": TALENT_OF_ENTERPRISE}),
    )
    assert event.event_type == "ReviewRejected"


@pytest.mark.parametrize("end, ok", [(D(2026, 11, 22), True), (D(2026, 11, 23), False)])
def test_the_in_period_reading_counts_a_talent_in_its_period(monkeypatch, end, ok):
    monkeypatch.setattr(policy, "ENTERPRISE_TALENT_COUNTS", "in_period")
    state = given(application, *on_notice())
    lookups = {"enterprise_talents": (("talent-9", D(2023, 11, 23), end),)}
    if ok:
        assert types(when(application, state, Certify("t-1"), **ctx(lookups=lookups))) == [
            "TalentCertified"
        ]
    else:
        refused("LT-10", application, state, Certify("t-1"), **ctx(lookups=lookups))


def test_an_individual_has_no_enterprise_to_count():
    state = given(application, *on_notice(enterprise_code=None))
    lookups = {"enterprise_talents": TALENT_OF_ENTERPRISE}
    assert types(when(application, state, Certify("t-1"), **ctx(lookups=lookups))) == [
        "TalentCertified"
    ]


# -- certification's date (LT-10: the period counts from it) ----------------------------------
@pytest.mark.parametrize(
    "day, ok, message",
    [
        (D(2026, 11, 20), False, "Must be after 2026-11-20."),  # the notice's last day
        (D(2026, 11, 21), True, None),  # the day after
        (D(2026, 11, 23), True, None),  # today
        (D(2026, 11, 24), False, "Must not be after today."),
    ],
)
def test_certified_on_is_after_the_notice_and_not_in_the_future(day, ok, message):
    state = given(application, *on_notice())
    if ok:
        [event] = when(application, state, Certify("t-1", certified_on=day), **ctx())
        assert (event.payload["certified_on"], event.payload["period_start"]) == (day, day)
        assert event.payload["period_end"] == period_end(day)
    else:
        err = refused("LT-9.5", application, state, Certify("t-1", certified_on=day), **ctx())
        assert err.fields == {"certified_on": [message]}


def test_a_certification_of_2023_recorded_today_starts_the_period_in_2023():
    """Given a 2023 round's candidate whose notice closed on 2023-05-12, when the certification
    of 2023-05-15 is recorded on 2026-11-23, then the period runs 2023-05-15 to 2026-05-14."""
    history = on_notice(
        start=D(2023, 5, 8), end=D(2023, 5, 12), round_year=2023, submitted_on=D(2023, 3, 2)
    )
    rnd = Round(2023, 10, D(2023, 1, 1), D(2023, 12, 31))
    [event] = when(
        application,
        given(application, *history),
        Certify("t-2023", certified_on=D(2023, 5, 15)),
        **ctx(round=rnd),
    )
    p = event.payload
    assert (p["certified_on"], p["period_start"], p["period_end"], p["baseline_year"]) == (
        D(2023, 5, 15),
        D(2023, 5, 15),
        D(2026, 5, 14),
        2022,
    )
    assert given(application, *history, event).last_decided_on == D(2023, 5, 15)


def test_a_person_in_a_training_period_is_not_certified_again():
    state = given(application, *on_notice())
    lookups = {"person_talents": (("talent-old", D(2024, 1, 1), D(2026, 12, 31)),)}
    err = refused("LT-10.1", application, state, Certify("t-1"), **ctx(lookups=lookups))
    assert err.details == {"talent_id": "talent-old"}


@pytest.mark.parametrize(
    "category, track, evidence, baseline",
    [
        (
            "LT-6.1",
            "influencer",
            INFLUENCER_EVIDENCE,
            {"followers": 150_000, "exposure": 2_400_000},
        ),
        ("LT-6.2", "seller", {"sales_fen": 45_000_000}, {"sales_fen": 45_000_000}),
        ("LT-6.3", "seller", SELLER_EVIDENCE, {"sales_fen": 350_000_000}),
        ("LT-6.4", "seller", {"sales_fen": 12_000_000}, {"sales_fen": 12_000_000}),
    ],
)
def test_certification_carries_track_and_baseline(category, track, evidence, baseline):
    state = given(
        application,
        *on_notice(category=category, evidence=evidence, enterprise_code=None, person_key=PERSON),
    )
    then(
        when(application, state, Certify("talent-7"), **ctx()),
        NewEvent(
            "TalentCertified",
            {
                "talent_id": "talent-7",
                "application_id": APP,
                "applicant_name": "李明",
                "county": "楚雄市",
                "category": category,
                "track": track,
                "baseline_year": 2025,
                "baseline": baseline,
                "period_start": D(2026, 11, 23),
                "period_end": D(2029, 11, 22),
                "origin": "selection",
                "round_year": 2026,
                "enterprise_name": "楚雄彝绣电子商务有限公司",
                "certified_on": D(2026, 11, 23),
                "applicant_id": "applicant-7",
                "person_key": PERSON,
            },
            ("LT-9.5", "LT-8", "LT-10", "LT-10.1"),
        ),
    )


def test_training_period_starting_on_29_february():
    state = given(
        application,
        *on_notice(D(2024, 2, 19), D(2024, 2, 23), round_year=2023, submitted_on=D(2023, 5, 8)),
    )
    [event] = when(application, state, Certify("t-1"), today=D(2024, 2, 29), **ctx())
    assert event.payload["baseline_year"] == 2022
    assert (event.payload["period_start"], event.payload["period_end"]) == (
        D(2024, 2, 29),
        D(2027, 2, 28),
    )


@pytest.mark.parametrize(
    "start, end",
    [
        (D(2026, 11, 23), D(2029, 11, 22)),
        (D(2024, 2, 29), D(2027, 2, 28)),  # no 29 Feb 2027: the period runs to its eve, 28 Feb
        (D(2024, 3, 1), D(2027, 2, 28)),
        (D(2024, 2, 28), D(2027, 2, 27)),
        (D(2025, 3, 1), D(2028, 2, 29)),  # ends on a leap day
        (D(2026, 1, 1), D(2028, 12, 31)),
    ],
)
def test_period_end_is_three_years_less_a_day(start, end):
    assert period_end(start) == end


# -- withdrawal ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "history, stage",
    [
        (through(0), "county_recommendation"),
        (through(3), "inspection"),
        (approved(), "approved"),
        (on_notice(), "on_notice"),
    ],
)
def test_the_applicant_withdraws_before_certification(history, stage):
    [event] = when(application, given(application, *history), Withdraw("个人原因"))
    then(
        [event],
        NewEvent(
            "ApplicationWithdrawn",
            {
                "application_id": APP,
                "reason": "个人原因",
                "withdrawn_on": D(2026, 11, 23),
                "stage": stage,
            },
            ("LT-9",),
        ),
    )
    state = given(application, *history, event)
    assert state.status == "withdrawn"
    refused("LT-9", application, state, Withdraw("again"))
    refused("LT-9", application, state, review("county_recommendation"))


def test_no_withdrawal_once_certified_or_closed():
    certified = on_notice() + when(
        application, given(application, *on_notice()), Certify("t-1"), **ctx()
    )
    for history in (certified, [submitted(), assessed(False)]):
        err = refused("LT-9", application, given(application, *history), Withdraw("x"))
        assert "only an application still in the selection" in err.message


@pytest.mark.parametrize(
    "day, ok, message",
    [
        (D(2026, 3, 16), False, "Must not be before 2026-03-17."),  # before the last decision
        (D(2026, 3, 17), True, None),  # the day of the last decision
        (D(2026, 11, 23), True, None),  # today
        (D(2026, 11, 24), False, "Must not be after today."),
    ],
)
def test_withdrawn_on_is_bounded_by_the_last_act_and_today(day, ok, message):
    """Given an application whose Standing Committee decided on 2026-03-17, when it is withdrawn
    on ``day``, then the act's date is kept, or refused naming withdrawn_on."""
    history = through(len(STAGES) - 1) + [
        NewEvent(
            "ReviewPassed",
            {
                "application_id": APP,
                "stage": "standing_committee",
                "decided_on": D(2026, 3, 17),
                "opinion": "同意",
            },
            ("LT-9.5", "LT-8"),
        )
    ]
    state = given(application, *history)
    if ok:
        [event] = when(application, state, Withdraw("个人原因", withdrawn_on=day))
        assert event.payload["withdrawn_on"] == day
    else:
        err = refused("LT-9", application, state, Withdraw("个人原因", withdrawn_on=day))
        assert err.fields == {"withdrawn_on": [message]}


# -- LT-10.1: once per person, at submission --------------------------------------------------
def person_submit(day=SUBMITTED_ON):
    return Submit(
        APP,
        2026,
        "楚雄市",
        "李明",
        "x",
        "LT-6.4",
        {"sales_fen": 12_000_000},
        day,
        person_key=PERSON,
    )


def test_a_person_holds_one_live_application():
    """Given the person's live application app-0007, when they file another, then LT-10.1
    refuses naming it; with none live it is filed."""
    err = refused(
        "LT-10.1",
        application,
        given(application),
        person_submit(),
        round=ROUND,
        lookups={"person_applications": ("app-0007",)},
    )
    assert err.fields == {"id_number": ["Already has a live application."]}
    assert err.details == {"applications": ["app-0007"]}
    events = when(application, given(application), person_submit(), round=ROUND, lookups={})
    assert types(events) == ["ApplicationSubmitted", "EligibilityAssessed"]
    assert events[0].payload["person_key"] == PERSON


@pytest.mark.parametrize(
    "period, ok",
    [
        ((D(2023, 3, 2), D(2026, 3, 1)), True),  # ended the day before submission
        ((D(2023, 3, 3), D(2026, 3, 2)), False),  # its last day is the submission day
        ((D(2026, 3, 2), D(2029, 3, 1)), False),  # its first day
        ((D(2026, 3, 3), D(2029, 3, 2)), True),  # not begun (a later certification)
    ],
)
def test_no_application_during_a_training_period(period, ok):
    """Given the person was a talent over ``period``, when they apply on 2026-03-02, then they
    may only outside it (a former talent may apply again)."""
    lookups = {"person_talents": (("talent-old", *period),)}
    if ok:
        events = when(
            application, given(application), person_submit(), round=ROUND, lookups=lookups
        )
        assert types(events) == ["ApplicationSubmitted", "EligibilityAssessed"]
    else:
        err = refused(
            "LT-10.1",
            application,
            given(application),
            person_submit(),
            round=ROUND,
            lookups=lookups,
        )
        assert err.details == {"talent_id": "talent-old"}


def test_no_act_before_the_rules_took_effect():
    rnd = Round(2022, 10, D(2022, 1, 1), D(2022, 12, 31))  # a window recorded before the bound
    err = refused(
        "LT-9.1",
        application,
        given(application),
        Submit(APP, 2022, "楚雄市", "李明", "x", "LT-6.4", {"sales_fen": 1}, D(2022, 8, 31)),
        round=rnd,
    )
    assert err.fields == {"submitted_on": ["Must not be before 2022-09-01."]}
    events = when(
        application,
        given(application),
        Submit(APP, 2022, "楚雄市", "李明", "x", "LT-6.4", {"sales_fen": 1}, D(2022, 9, 1)),
        round=rnd,
    )
    assert types(events) == ["ApplicationSubmitted", "EligibilityAssessed"]
