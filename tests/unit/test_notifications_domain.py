"""Who is told what: every notification rule renders a hand-written payload of its event contract,
in Chinese, to the right recipients, on the right channels, once per source event."""

import datetime as dt

import orjson
import pytest
from givenwhenthen import CONTRACTS, NewEvent, given, then, when

from services.notifications.domain.messages import (
    RULES,
    Notify,
    PartiesUnknown,
    notification,
    percent,
    yuan,
)

D = dt.date
EVENT_ID = "0b7f6a8e-3c1d-4c2a-9a57-6f1e2d3c4b5a"
LI = {
    "applicant": "applicant:u-li",
    "applicant_name": "李明",
    "county": "楚雄市",
    "category": "LT-6.3",
}
COMPUTATION = [
    {
        "figure": "sales_fen",
        "baseline": 1_000_000,
        "current": 1_099_900,
        "years": 1,
        "average_growth": "0.0999",
        "qualified_threshold": "0.10",
    }
]

# (service, event type) -> (payload, what the register knows, recipients, subject, body, clauses)
SAMPLES = {
    ("applications", "ApplicationSubmitted"): (
        {
            "application_id": "app-0001",
            "round_year": 2026,
            "county": "楚雄市",
            "applicant_name": "李明",
            "enterprise_name": "楚雄彝绣电子商务有限公司",
            "category": "LT-6.3",
            "evidence": {"sales_fen": 350_000_000},
            "submitted_on": D(2026, 3, 2),
        },
        LI,
        ["applicant:u-li", "county:楚雄市"],
        "申报已受理",
        "李明的“兴楚电商创业领军人才”申报（2026年度，电商销售类）已提交至楚雄市商务主管部门（LT-9.1）。",
        ("LT-9.1",),
    ),
    ("applications", "EligibilityAssessed"): (
        {
            "application_id": "app-0001",
            "eligible": False,
            "failed": ["LT-6.3 sales_fen", "LT-6.3 growth", "LT-7 integrity.bad_credit_record"],
            "checks": [
                {"clause": "LT-6.3", "check": "sales_fen", "passed": False, "required": True}
            ],
        },
        LI,
        ["applicant:u-li", "county:楚雄市"],
        "申报条件核验结果",
        "李明的申报经核验不符合LT-6.3、LT-7规定的条件，不进入评审（LT-9.1）。",
        ("LT-9.1",),
    ),
    ("applications", "ReviewPassed"): (
        {"application_id": "app-0001", "stage": "expert_review", "opinion": "同意推荐"},
        LI,
        ["applicant:u-li", "bureau"],
        "评审环节通过",
        "李明的申报已通过“专家评审”环节（LT-9.3）。",
        ("LT-9.3",),
    ),
    ("applications", "ReviewRejected"): (
        {
            "application_id": "app-0001",
            "stage": "qualification_review",
            "reasons": ["上年度电商销售额未达300万元", "无纳税证明"],
        },
        LI,
        ["applicant:u-li", "county:楚雄市", "bureau"],
        "评审未通过",
        "李明的申报未通过“资格审查”环节（LT-9.2），理由：上年度电商销售额未达300万元；无纳税证明。",
        ("LT-9.2",),
    ),
    ("applications", "PublicNoticeStarted"): (
        {
            "application_id": "app-0001",
            "start_date": D(2025, 9, 29),
            "end_date": D(2025, 10, 11),
            "working_days": 5,
        },
        LI,
        ["applicant:u-li", "county:楚雄市", "bureau"],
        "公示开始",
        "李明已进入公示，公示期自 2025年9月29日 至 2025年10月11日，共 5 个工作日（LT-9.5）。",
        ("LT-9.5",),
    ),
    ("applications", "ObjectionRaised"): (
        {
            "application_id": "app-0001",
            "objection_id": "obj-1",
            "received_on": D(2025, 9, 30),
            "summary": "举报其销售额不实",
            "source": "来信",
        },
        LI,
        ["applicant:u-li", "county:楚雄市", "bureau"],
        "公示期间收到异议",
        "李明公示期间于 2025年9月30日 收到异议，认定暂缓，待核查后决定（LT-9.5）。",
        ("LT-9.5",),
    ),
    ("applications", "ObjectionResolved"): (
        {
            "application_id": "app-0001",
            "objection_id": "obj-1",
            "outcome": "dismissed",
            "finding": "经核实销售额属实",
            "resolved_on": D(2025, 10, 9),
        },
        LI,
        ["applicant:u-li", "county:楚雄市", "bureau"],
        "异议核查结果",
        "李明公示期间的异议已于 2025年10月9日 核查完毕：未发现影响选拔认定的问题，认定继续进行"
        "（LT-9.5）。",
        ("LT-9.5",),
    ),
    ("applications", "ApplicationWithdrawn"): (
        {
            "application_id": "app-0001",
            "reason": "个人原因",
            "withdrawn_on": D(2026, 4, 1),
            "stage": "expert_review",
        },
        LI,
        ["applicant:u-li", "county:楚雄市", "bureau"],
        "申报已撤回",
        "李明已于 2026年4月1日 撤回申报（LT-9）。",
        ("LT-9",),
    ),
    ("applications", "RoundOpened"): (
        {
            "year": 2026,
            "quota": 10,
            "window_opens": D(2026, 3, 1),
            "window_closes": D(2026, 4, 30),
            "opened_on": D(2026, 2, 20),
        },
        {},
        ["bureau"],
        "年度选拔开始",
        "2026年度“兴楚电商创业领军人才”选拔认定开始，认定不超过 10 名，申报时间 2026年3月1日 至 "
        "2026年4月30日（LT-3、LT-8）。",
        ("LT-3", "LT-8"),
    ),
    ("applications", "TalentCertified"): (
        {
            "talent_id": "talent-0001",
            "application_id": "app-0001",
            "applicant_name": "李明",
            "county": "楚雄市",
            "category": "LT-6.3",
            "track": "seller",
            "baseline_year": 2025,
            "baseline": {"sales_fen": 350_000_000},
            "period_start": D(2026, 11, 23),
            "period_end": D(2029, 11, 22),
        },
        LI,
        ["talent:talent-0001", "applicant:u-li", "county:楚雄市", "bureau", "finance"],
        "认定为兴楚电商创业领军人才",
        "李明已被认定为“兴楚电商创业领军人才”，培养期 2026年11月23日 至 2029年11月22日"
        "（LT-9.5、LT-10）。",
        ("LT-9.5", "LT-10"),
    ),
    ("subsidies", "SubsidyGranted"): (
        {
            "grant_id": "grant-0001",
            "talent_id": "talent-0001",
            "measure": "LT-10.1",
            "amount_fen": 5_000_000,
            "fiscal_year": 2026,
        },
        LI,
        ["talent:talent-0001", "finance"],
        "创业补贴已核定",
        "李明的一次性创业补贴 50,000.00 元已核定（LT-10.1，2026年度）。",
        ("LT-10.1",),
    ),
    ("subsidies", "SubsidyGrantQueued"): (
        {
            "grant_id": "grant-0001",
            "talent_id": "talent-0001",
            "measure": "LT-10.1",
            "amount_fen": 5_000_000,
            "fiscal_year": 2026,
            "fund": "prefecture_finance",
            "reason": "budget exhausted",
            "breakdown": [
                {"clause": "LT-10.1", "description": "一次性创业补贴", "amount_fen": 5_000_000}
            ],
        },
        LI,
        ["talent:talent-0001", "finance"],
        "创业补贴待预算安排",
        "李明的一次性创业补贴 50,000.00 元应予发放，2026年度预算额度不足，按先后顺序待预算增加后发放"
        "（LT-10.1）。",
        ("LT-10.1",),
    ),
    ("subsidies", "SubsidyGrantDeclined"): (
        {
            "grant_id": "grant-0001",
            "talent_id": "talent-0001",
            "measure": "LT-10.1",
            "reason": "Yixiang startup subsidy already paid",
        },
        LI,
        ["talent:talent-0001", "finance"],
        "不予发放创业补贴",
        "李明原在“彝乡电商创业人才”培养中已享受创业补贴，转入后不再发放一次性创业补贴"
        "（LT-10.1、LT-16）。",
        ("LT-10.1", "LT-16"),
    ),
    ("subsidies", "SubsidyPaid"): (
        {
            "grant_id": "grant-0001",
            "talent_id": "talent-0001",
            "amount_fen": 5_000_000,
            "payment_reference": "CZ-2026-0042",
            "paid_on": D(2026, 12, 10),
        },
        LI,
        ["talent:talent-0001"],
        "创业补贴已拨付",
        "创业补贴 50,000.00 元已于 2026年12月10日 拨付，凭证号 CZ-2026-0042（LT-10.1）。",
        ("LT-10.1",),
    ),
    ("subsidies", "SubsidyGrantCancelled"): (
        {"grant_id": "grant-0001", "talent_id": "talent-0001", "ground": "LT-14.2"},
        LI,
        ["talent:talent-0001", "finance"],
        "创业补贴核定已撤销",
        "因资格被取消（LT-14.2：有违法违纪行为或重大过失），李明尚未拨付的创业补贴核定已撤销，"
        "无需退回（LT-14）。",
        ("LT-14",),
    ),
    ("subsidies", "SubsidyRecoveryDemanded"): (
        {
            "grant_id": "grant-0001",
            "talent_id": "talent-0001",
            "amount_fen": 5_000_000,
            "ground": "LT-14.4",
            "due_on": D(2028, 1, 14),
        },
        LI,
        ["talent:talent-0001", "finance"],
        "创业补贴退回通知",
        "因资格被取消（LT-14.4：工作不满3年或虽满3年，但年度考核不合格或培养计划目标未完成），"
        "须于 2028年1月14日 前退回创业补贴 50,000.00 元（LT-14）。",
        ("LT-14",),
    ),
    ("subsidies", "SubsidyRepaymentRecorded"): (
        {
            "grant_id": "grant-0001",
            "talent_id": "talent-0001",
            "amount_fen": 2_500_001,
            "reference": "REPAY-1",
            "outstanding_fen": 2_499_999,
        },
        LI,
        ["talent:talent-0001", "finance"],
        "已收到创业补贴退回款",
        "已收到退回的创业补贴 25,000.01 元（凭证号 REPAY-1），尚欠 24,999.99 元（LT-14）。",
        ("LT-14",),
    ),
    ("subsidies", "SubsidyRecovered"): (
        {"grant_id": "grant-0001", "talent_id": "talent-0001", "amount_fen": 1_234_501},
        LI,
        ["talent:talent-0001", "finance"],
        "创业补贴已全额退回",
        "创业补贴 12,345.01 元已全额退回（LT-14）。",
        ("LT-14",),
    ),
    ("assessment", "TenureOpened"): (
        {
            "talent_id": "talent-0001",
            "county": "楚雄市",
            "track": "seller",
            "period_start": D(2026, 11, 23),
            "period_end": D(2029, 11, 22),
            "baseline_year": 2025,
            "baseline": {"sales_fen": 350_000_000},
        },
        LI,
        ["talent:talent-0001", "county:楚雄市"],
        "培养期开始",
        "李明的培养期自 2026年11月23日 至 2029年11月22日，培养期内一年一考核（LT-10、LT-11.1）。",
        ("LT-10", "LT-11.1"),
    ),
    ("assessment", "AnnualReportFiled"): (
        {
            "talent_id": "talent-0001",
            "tenure_year": 1,
            "figures": {"sales_fen": 400_000_000},
            "promotion_activities": 2,
            "backbones_trained": 6,
            "full_time_in_chuxiong": True,
        },
        LI,
        ["county:楚雄市"],
        "年度报告已提交",
        "李明已提交培养期第 1 年度报告，请组织考核（LT-11.1、LT-13）。",
        ("LT-11.1", "LT-13"),
    ),
    ("assessment", "AnnualReportReminded"): (
        {
            "talent_id": "talent-0001",
            "tenure_year": 1,
            "window_opens_on": D(2027, 11, 23),
            "window_closes_on": D(2028, 1, 21),
            "reminded_on": D(2028, 1, 7),
        },
        LI,
        ["talent:talent-0001"],
        "年度报告提交提醒",
        "李明培养期第 1 年度报告尚未提交，提交期限为 2027年11月23日 至 2028年1月21日"
        "（最后一日为节假日的，顺延至其后第一个工作日），请按时提交（LT-11.1）。",
        ("LT-11.1",),
    ),
    ("assessment", "AnnualReportMissed"): (
        {
            "talent_id": "talent-0001",
            "tenure_year": 1,
            "breach_id": "report-y1",
            "window_opens_on": D(2027, 11, 23),
            "window_closed_on": D(2028, 1, 21),
            "detail": "no annual report for year 1 was filed in its window",
            "missed_on": D(2028, 1, 22),
        },
        LI,
        ["county:楚雄市", "talent:talent-0001"],
        "年度报告逾期未提交",
        "李明培养期第 1 年度报告未在提交期限（2027年11月23日 至 2028年1月21日）内提交。"
        "此情形不作考核不合格处理，请县市商务主管部门限期整改（LT-13）。",
        ("LT-11.1", "LT-13"),
    ),
    ("assessment", "AssessmentPassed"): (
        {
            "talent_id": "talent-0001",
            "tenure_year": 2,
            "grade": "excellent",
            "computation": [
                dict(COMPUTATION[0], current=1_690_001, years=2, average_growth="0.3000")
            ],
        },
        LI,
        ["talent:talent-0001", "county:楚雄市", "bureau"],
        "年度考核结果",
        "李明培养期第 2 年度考核结果：优秀（LT-11.1）。",
        ("LT-11.1",),
    ),
    ("assessment", "AssessmentFailed"): (
        {
            "talent_id": "talent-0001",
            "tenure_year": 1,
            "reasons": ["sales_fen: average annual growth 0.0999 is below 0.10"],
            "computation": COMPUTATION,
        },
        LI,
        ["talent:talent-0001", "county:楚雄市", "bureau"],
        "年度考核不合格",
        "李明培养期第 1 年度考核不合格：销售额年均增长 9.99%（合格标准：年均增长 10%以上）"
        "（LT-11.1）。",
        ("LT-11.1",),
    ),
    ("assessment", "ObligationBreached"): (
        {
            "talent_id": "talent-0001",
            "breach_id": "b-1",
            "obligation": "LT-12.1",
            "tenure_year": 1,
            "detail": "0 promotion activities",
            "rectifiable": True,
            "found_on": D(2027, 11, 23),
        },
        LI,
        ["talent:talent-0001", "county:楚雄市"],
        "培养期义务未完成",
        "李明培养期第 1 年度未完成义务：每年至少组织或参加1次以上电子商务宣传及推广活动（LT-12.1）。"
        "县市商务主管部门将限期整改（LT-13）。",
        ("LT-12.1", "LT-13"),
    ),
    ("assessment", "RectificationOrdered"): (
        {
            "talent_id": "talent-0001",
            "breach_id": "b-1",
            "requirement": "组织一次电商推广活动",
            "deadline": D(2028, 2, 29),
            "ordered_on": D(2027, 12, 1),
        },
        LI,
        ["talent:talent-0001", "county:楚雄市"],
        "限期整改通知",
        "请李明于 2028年2月29日 前完成整改：组织一次电商推广活动（LT-13）。",
        ("LT-13",),
    ),
    ("assessment", "RectificationConfirmed"): (
        {
            "talent_id": "talent-0001",
            "breach_id": "b-1",
            "rectified_on": D(2028, 1, 20),
            "note": "已组织直播推广",
        },
        LI,
        ["talent:talent-0001", "county:楚雄市"],
        "整改已完成",
        "李明的整改已于 2028年1月20日 确认完成（LT-13）。",
        ("LT-13",),
    ),
    ("assessment", "RectificationDeadlineMissed"): (
        {
            "talent_id": "talent-0001",
            "breach_id": "b-1",
            "deadline": D(2028, 2, 29),
            "found_on": D(2028, 3, 1),
        },
        LI,
        ["talent:talent-0001", "county:楚雄市", "bureau"],
        "整改逾期未完成",
        "李明的整改期限 2028年2月29日 已过，整改未完成（LT-13、LT-14.1）。",
        ("LT-13", "LT-14.1"),
    ),
    ("assessment", "DisqualificationGroundReported"): (
        {
            "talent_id": "talent-0001",
            "kind": "credit_fraud",
            "ground": "LT-14.3",
            "occurred_on": D(2027, 5, 6),
            "description": "被列入失信名单",
            "reference": "楚信〔2027〕12号",
            "reported_on": D(2027, 5, 20),
        },
        LI,
        ["bureau", "county:楚雄市"],
        "报告取消资格情形",
        "报告李明存在取消资格的情形（LT-14.3：采取弄虚作假、谎报成果等失信行为被纳入诚信体系记录），"
        "发生于 2027年5月6日，文号 楚信〔2027〕12号（LT-14）。",
        ("LT-14", "LT-14.3"),
    ),
    ("assessment", "DisqualificationProposed"): (
        {
            "talent_id": "talent-0001",
            "ground": "LT-14.4",
            "reasons": ["annual assessment of year 1 failed"],
        },
        LI,
        ["leading_group", "bureau", "county:楚雄市"],
        "拟取消领军人才资格",
        "拟取消李明的“兴楚电商创业领军人才”资格（LT-14.4：工作不满3年或虽满3年，但年度考核不合格"
        "或培养计划目标未完成），请州委人才工作领导小组审定（LT-14）。",
        ("LT-14", "LT-14.4"),
    ),
    ("assessment", "DisqualificationDeclined"): (
        {
            "talent_id": "talent-0001",
            "proposal_id": "p-1",
            "ground": "LT-14.4",
            "reasons": ["x"],
            "decided_on": D(2027, 12, 15),
        },
        LI,
        ["talent:talent-0001", "county:楚雄市", "bureau"],
        "不取消领军人才资格",
        "州委人才工作领导小组于 2027年12月15日 决定不取消李明的“兴楚电商创业领军人才”资格"
        "（LT-14.4：工作不满3年或虽满3年，但年度考核不合格或培养计划目标未完成）（LT-14）。",
        ("LT-14", "LT-14.4"),
    ),
    ("assessment", "TenureCompleted"): (
        {
            "talent_id": "talent-0001",
            "period_start": D(2026, 11, 23),
            "period_end": D(2029, 11, 22),
            "results": [
                {"tenure_year": 1, "result": "qualified"},
                {"tenure_year": 2, "result": "excellent"},
                {"tenure_year": 3, "result": "qualified"},
            ],
            "backbones_trained": 18,
            "completed_on": D(2029, 11, 23),
        },
        LI,
        ["talent:talent-0001", "county:楚雄市", "bureau"],
        "培养期届满",
        "李明的培养期（2026年11月23日 至 2029年11月22日）已届满，保留“兴楚电商创业领军人才”称号。"
        "年度考核：第 1 年度合格；第 2 年度优秀；第 3 年度合格（LT-10、LT-11.1）。",
        ("LT-10", "LT-11.1"),
    ),
    ("assessment", "TalentDisqualified"): (
        {
            "talent_id": "talent-0001",
            "ground": "LT-14.4",
            "reasons": ["annual assessment of year 1 failed"],
            "decided_on": D(2027, 12, 15),
        },
        LI,
        ["talent:talent-0001", "county:楚雄市", "bureau", "finance"],
        "取消领军人才资格",
        "经州委人才工作领导小组于 2027年12月15日 同意，取消李明的“兴楚电商创业领军人才”资格"
        "（LT-14.4：工作不满3年或虽满3年，但年度考核不合格或培养计划目标未完成）。",
        ("LT-14", "LT-14.4"),
    ),
}


def notify(key, payload=None):
    return Notify(key[0], key[1], EVENT_ID, SAMPLES[key][0] if payload is None else payload)


def inbox_events(key):
    payload, who, recipients, subject, body, clauses = SAMPLES[key]
    return [
        NewEvent(
            "NotificationRecorded",
            {
                "notification_id": f"{EVENT_ID}:{i}",
                "recipient": recipient,
                "channel": "inbox",
                "subject": subject,
                "body": body,
                "source_service": key[0],
                "source_event_type": key[1],
                "source_event_id": EVENT_ID,
            },
            clauses,
        )
        for i, recipient in enumerate(recipients)
    ]


def test_every_rule_has_a_sample_and_a_contract_of_its_service():
    assert set(SAMPLES) == set(RULES)
    for service, event_type in RULES:
        assert CONTRACTS.contract(event_type).service == service


@pytest.mark.parametrize("key", list(SAMPLES), ids=lambda k: k[1])
def test_rule_renders_its_contract_sample(key):
    payload, who = SAMPLES[key][:2]
    CONTRACTS.encode(key[1], payload)  # the sample is a valid payload of the contract
    then(when(notification, given(notification), notify(key), who=who), *inbox_events(key))


@pytest.mark.parametrize("key", list(SAMPLES), ids=lambda k: k[1])
def test_rule_renders_the_payload_as_decoded_from_the_store(key):
    payload, who, _, _, body, _ = SAMPLES[key]
    version, data = CONTRACTS.encode(key[1], payload)
    decoded = CONTRACTS.decode(key[1], version, data)
    assert decoded == payload
    [first, *_] = when(notification, given(notification), notify(key, decoded), who=who)
    assert first.payload["body"] == body


def test_disqualification_speaks_of_the_title_only_the_subsidy_events_of_money():
    """LT-14: whether money is returned depends on whether it was paid (SubsidyRecoveryDemanded)
    or not (SubsidyGrantCancelled); the disqualification itself says neither."""
    body = SAMPLES[("assessment", "TalentDisqualified")][4]
    assert "补贴" not in body
    assert "退回" in SAMPLES[("subsidies", "SubsidyRecoveryDemanded")][4]
    assert "无需退回" in SAMPLES[("subsidies", "SubsidyGrantCancelled")][4]


@pytest.mark.parametrize("key", list(SAMPLES), ids=lambda k: k[1])
def test_no_english_words_in_the_messages(key):
    _, _, _, subject, body, _ = SAMPLES[key]
    import re

    words = re.findall(
        r"[A-Za-z]{3,}", subject + body.replace("CZ-2026-0042", "").replace("REPAY", "")
    )
    assert words == []


@pytest.mark.parametrize("grade, word", [("excellent", "优秀"), ("qualified", "合格")])
def test_assessment_grade_in_chinese(grade, word):
    key = ("assessment", "AssessmentPassed")
    payload = dict(SAMPLES[key][0], grade=grade)
    [first, *_] = when(notification, given(notification), notify(key, payload), who=LI)
    assert first.payload["body"] == f"李明培养期第 2 年度考核结果：{word}（LT-11.1）。"


def test_failed_assessment_of_an_influencer_names_both_figures_and_an_uncomputable_growth():
    key = ("assessment", "AssessmentFailed")
    computation = [
        {
            "figure": "followers",
            "baseline": 100_000,
            "current": 105_000,
            "years": 1,
            "average_growth": "0.0500",
            "qualified_threshold": "0.10",
        },
        {
            "figure": "exposure",
            "baseline": 0,
            "current": 7,
            "years": 1,
            "average_growth": "n/a",
            "qualified_threshold": "0.10",
        },
    ]
    payload = dict(SAMPLES[key][0], computation=computation)
    [first, *_] = when(notification, given(notification), notify(key, payload), who=LI)
    assert first.payload["body"] == (
        "李明培养期第 1 年度考核不合格：粉丝量年均增长 5%（合格标准：年均增长 10%以上）；"
        "曝光量年均增长 无法计算（合格标准：年均增长 10%以上）（LT-11.1）。"
    )


@pytest.mark.parametrize(
    "stage, name, clause",
    [
        ("county_recommendation", "县市推荐", "LT-9.1"),
        ("qualification_review", "资格审查", "LT-9.2"),
        ("expert_review", "专家评审", "LT-9.3"),
        ("inspection", "考察了解", "LT-9.4"),
        ("approval", "报审认定", "LT-9.5"),
        ("standing_committee", "州委常委会审议", "LT-9.5"),
    ],
)
def test_every_stage_has_a_chinese_name_and_its_clause(stage, name, clause):
    payload = {"application_id": "app-0001", "stage": stage, "opinion": ""}
    [first, *_] = when(
        notification,
        given(notification),
        Notify("applications", "ReviewPassed", EVENT_ID, payload),
        who=LI,
    )
    assert first.payload["body"] == f"李明的申报已通过“{name}”环节（{clause}）。"
    assert first.clauses == (clause,)


@pytest.mark.parametrize(
    "fen, text",
    [
        (5_000_000, "50,000.00 元"),
        (1, "0.01 元"),
        (0, "0.00 元"),
        (99, "0.99 元"),
        (100, "1.00 元"),
        (1_234_501, "12,345.01 元"),
        (300_000_000, "3,000,000.00 元"),
        (123_456_789_012, "1,234,567,890.12 元"),
    ],
)
def test_yuan(fen, text):
    assert yuan(fen) == text


@pytest.mark.parametrize(
    "text, shown",
    [
        ("0.10", "10%"),
        ("0.0999", "9.99%"),
        ("0.3000", "30%"),
        ("1.5", "150%"),
        ("-0.0500", "-5%"),
        ("0", "0%"),
        (None, "无法计算"),
        ("n/a", "无法计算"),
    ],
)
def test_percent(text, shown):
    assert percent(text) == shown


def test_one_notification_per_recipient_then_nothing_more():
    key = ("applications", "TalentCertified")
    events = when(notification, given(notification), notify(key), who=LI)
    assert [e.payload["recipient"] for e in events] == SAMPLES[key][2]
    assert [e.payload["notification_id"] for e in events] == [f"{EVENT_ID}:{i}" for i in range(5)]
    assert when(notification, given(notification, events), notify(key), who=LI) == []
    assert when(notification, given(notification, events[0]), notify(key), who=LI) == []


# -- channels ------------------------------------------------------------------------------------
def test_email_for_recipients_with_an_address_and_a_webhook_per_subscriber():
    key = ("applications", "TalentCertified")
    payload = SAMPLES[key][0]
    events = when(
        notification,
        given(notification),
        notify(key),
        who=LI,
        contacts={"bureau": "shangwu@cx.gov.cn", "talent:talent-0001": "li@example.cn"},
        subscribers=["sub-b", "sub-a"],
    )
    assert [(e.payload["recipient"], e.payload["channel"]) for e in events] == [
        ("talent:talent-0001", "inbox"),
        ("talent:talent-0001", "email"),
        ("applicant:u-li", "inbox"),
        ("county:楚雄市", "inbox"),
        ("bureau", "inbox"),
        ("bureau", "email"),
        ("finance", "inbox"),
        ("subscriber:sub-a", "webhook"),
        ("subscriber:sub-b", "webhook"),
    ]
    assert len({e.payload["notification_id"] for e in events}) == 9
    assert all("content" not in e.payload for e in events[:-2])
    hook = events[-2].payload
    assert orjson.loads(hook["content"]) == {
        "delivery_id": f"{EVENT_ID}:7",
        "event_id": EVENT_ID,
        "event_type": "TalentCertified",
        "source": "applications",
        "subject": "认定为兴楚电商创业领军人才",
        "message": SAMPLES[key][4],
        "payload": {**payload, "period_start": "2026-11-23", "period_end": "2029-11-22"},
    }
    # the exact bytes: keys sorted, no white space, UTF-8 (what the signature covers)
    assert hook["content"].startswith('{"delivery_id":"') and "认定" in hook["content"]
    then(events, *events)  # every payload passes the contract


def test_a_recipient_named_twice_is_told_once_per_channel():
    key = ("applications", "ReviewRejected")
    events = when(
        notification,
        given(notification),
        notify(key),
        who=dict(LI, applicant="applicant:u-li"),
        contacts={"bureau": "a@b.cn"},
    )
    pairs = [(e.payload["recipient"], e.payload["channel"]) for e in events]
    assert len(pairs) == len(set(pairs))


def test_an_application_the_register_does_not_know_cannot_be_addressed_yet():
    with pytest.raises(PartiesUnknown, match="app-0001"):
        when(notification, given(notification), notify(("applications", "ReviewPassed")), who={})


def test_county_from_the_payload_when_the_register_has_none():
    key = ("assessment", "TenureOpened")
    events = when(notification, given(notification), notify(key), who={})
    assert [e.payload["recipient"] for e in events] == ["talent:talent-0001", "county:楚雄市"]
    assert events[0].payload["body"].startswith("talent-0001的培养期")


def test_a_report_not_filed_in_time_is_said_so():
    key = ("assessment", "AssessmentFailed")
    payload = dict(
        SAMPLES[key][0],
        computation=[],
        reasons=["report not filed"],
        report_missed=True,
        report_due_on=D(2027, 11, 22),
    )
    [first, *_] = when(notification, given(notification), notify(key, payload), who=LI)
    assert first.payload["body"] == (
        "李明培养期第 1 年度考核不合格：未按期提交年度报告（截止 2027年11月22日）（LT-11.1）。"
    )
