"""Who is told what (通知): per (source service, event type) one ``Rule`` — the recipients, a
subject and a message in Chinese, and the clauses behind it. Adding an event is one entry.

Recipients are addresses: ``applicant:<applicant id>`` (the applicant's own inbox; the register
resolves it from the application, see ``register.applicant_address``), ``talent:<talent_id>``,
``county:<county>`` (the county commerce department), ``bureau`` (the prefecture Commerce Bureau),
``finance`` (prefecture finance), ``leading_group`` (the Talent Work Leading Group), and for
webhooks ``subscriber:<subscriber_id>``.

Each recipient gets the message in their in-app inbox, and by e-mail too if the registry has an
address for them; every webhook subscriber that wants the event type gets it as signed JSON. One
``NotificationRecorded`` per (event, recipient, channel), once per source event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from services.notifications.domain.policy import POLICY_VERSION
from shared.decider import Decider, Event, NewEvent
from shared.errors import Awaiting

Payload = Mapping[str, Any]  # a source event's payload
Who = Mapping[str, Any]  # what the register knows of the person an event is about

PROGRAMME = "“兴楚电商创业领军人才”"


class PartiesUnknown(Awaiting):
    """The register does not know the person an event is about (yet): the event arrived before
    the one that introduced them. Not a rule refusal: the inbox parks it and takes it up once an
    event about its ``subject`` (``application_id=…`` or ``talent_id=…``) has been handled."""


# -- Chinese wording -------------------------------------------------------------------------------
def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def day(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def percent(text: str | None) -> str:
    """``"0.0999"`` -> ``"9.99%"``; text that is not a number (a growth that cannot be computed)
    -> ``"无法计算"``."""
    if text is None:
        return "无法计算"
    try:
        value = (Decimal(text) * 100).normalize()
    except (InvalidOperation, TypeError):
        return "无法计算"
    return f"{value:f}%"


STAGES_ZH = {
    "county_recommendation": ("县市推荐", "LT-9.1"),
    "qualification_review": ("资格审查", "LT-9.2"),
    "expert_review": ("专家评审", "LT-9.3"),
    "inspection": ("考察了解", "LT-9.4"),
    "proposal": ("州商务局提出人选", "LT-9.5"),
    "approval": ("报审认定", "LT-9.5"),
    "standing_committee": ("州委常委会审议", "LT-9.5"),
    "public_notice": ("公示", "LT-9.5"),
}
CATEGORIES_ZH = {
    "LT-6.1": "网络达人、主播",
    "LT-6.2": "带货主播",
    "LT-6.3": "电商销售",
    "LT-6.4": "跨境电商",
}
FIGURES_ZH = {"sales_fen": "销售额", "followers": "粉丝量", "exposure": "曝光量"}
GRADES_ZH = {"excellent": "优秀", "qualified": "合格", "unqualified": "不合格"}
# LT-14: the grounds on which the title is revoked, in the rules' own words.
GROUNDS_ZH = {
    "LT-14.1": "拒不执行管理规定",
    "LT-14.2": "有违法违纪行为或重大过失",
    "LT-14.3": "采取弄虚作假、谎报成果等失信行为被纳入诚信体系记录",
    "LT-14.4": "工作不满3年或虽满3年，但年度考核不合格或培养计划目标未完成",
    "LT-14.5": "其他应当取消资格的行为",
}
# LT-12: the talent's obligations during the training period.
OBLIGATIONS_ZH = {
    "LT-12.1": "每年至少组织或参加1次以上电子商务宣传及推广活动",
    "LT-12.2": "培养期内年均为企业或社会培养5名以上互联网从业者业务骨干",
    "LT-12.4": "入选后连续、全职在楚雄州工作不少于3年",
}
OBJECTION_OUTCOMES_ZH = {
    "dismissed": "未发现影响选拔认定的问题，认定继续进行",
    "upheld": "发现影响选拔认定的问题",
}


def stage(code: str) -> tuple[str, str]:
    """(name, clause) of a review stage; a stage not listed here keeps its own name."""
    return STAGES_ZH.get(code, (code, "LT-9"))


def _stage(p: Payload) -> str:
    zh, clause = stage(p["stage"])
    return f"“{zh}”环节（{clause}）"


def ground(code: str) -> str:
    return f"{code}：{GROUNDS_ZH[code]}" if code in GROUNDS_ZH else code


def name(p: Payload, who: Who) -> str | None:
    """How the person is named: the name in the event, else the register's, else their id."""
    return (
        p.get("applicant_name")
        or who.get("applicant_name")
        or p.get("talent_id")
        or p.get("application_id")
    )


def clauses_of(labels: Iterable[str]) -> str:
    """``["LT-6.3 sales", "LT-7 integrity.bad_credit"]`` -> ``"LT-6.3、LT-7"`` (each once)."""
    return "、".join(dict.fromkeys(label.split(" ", 1)[0] for label in labels))


def growth(computation: Iterable[Mapping[str, Any]]) -> str:
    """LT-11.1 figures in words: each figure's average annual growth against the standard."""
    return "；".join(
        f"{FIGURES_ZH.get(c['figure'], c['figure'])}年均增长 "
        f"{percent(c['average_growth'])}（合格标准：年均增长 "
        f"{percent(c['qualified_threshold'])}以上）"
        for c in computation
    )


def _eligibility(p: Payload, who: Who) -> str:
    if p["eligible"]:
        return f"{name(p, who)}的申报经核验符合申报条件（LT-6、LT-7、LT-10）。"
    return (
        f"{name(p, who)}的申报经核验不符合{clauses_of(p['failed'])}规定的条件，"
        f"不进入评审（LT-9.1）。"
    )


def _completed(p: Payload, who: Who) -> str:
    years = "；".join(f"第 {r['tenure_year']} 年度{GRADES_ZH[r['result']]}" for r in p["results"])
    return (
        f"{name(p, who)}的培养期（{day(p['period_start'])} 至 {day(p['period_end'])}）已届满，"
        f"保留{PROGRAMME}称号。年度考核：{years}（LT-10、LT-11.1）。"
    )


def _failed(p: Payload, who: Who) -> str:
    if p.get("report_missed"):
        due = f"（截止 {day(p['report_due_on'])}）" if p.get("report_due_on") else ""
        detail = f"未按期提交年度报告{due}"
    else:
        detail = growth(p["computation"]) if p["computation"] else "详见考核记录"
    return f"{name(p, who)}培养期第 {p['tenure_year']} 年度考核不合格：{detail}（LT-11.1）。"


# -- the rules -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    # roles: applicant, talent, county, bureau, finance, leading_group
    recipients: tuple[str, ...]
    subject: str
    body: Callable[[Payload, Who], str]  # (payload, who) -> text
    # the clauses it applies, or (payload) -> them
    clauses: tuple[str, ...] | Callable[[Payload], tuple[str, ...]] = ()

    def clauses_for(self, payload: Payload) -> tuple[str, ...]:
        return tuple(self.clauses(payload) if callable(self.clauses) else self.clauses)


RULES = {
    ("applications", "ApplicationSubmitted"): Rule(
        ("applicant", "county"),
        "申报已受理",
        lambda p, who: (
            f"{p['applicant_name']}的{PROGRAMME}申报（{p['round_year']}年度，"
            f"{CATEGORIES_ZH[p['category']]}类）已提交至{p['county']}商务主管部门"
            f"（LT-9.1）。"
        ),
        ("LT-9.1",),
    ),
    ("applications", "EligibilityAssessed"): Rule(
        ("applicant", "county"),
        "申报条件核验结果",
        _eligibility,
        lambda p: ("LT-6", "LT-7", "LT-10") if p["eligible"] else ("LT-9.1",),
    ),
    ("applications", "ReviewPassed"): Rule(
        ("applicant", "bureau"),
        "评审环节通过",
        lambda p, who: f"{name(p, who)}的申报已通过{_stage(p)}。",
        lambda p: (stage(p["stage"])[1],),
    ),
    ("applications", "ReviewRejected"): Rule(
        ("applicant", "county", "bureau"),
        "评审未通过",
        lambda p, who: f"{name(p, who)}的申报未通过{_stage(p)}，理由：{'；'.join(p['reasons'])}。",
        lambda p: (stage(p["stage"])[1],),
    ),
    ("applications", "PublicNoticeStarted"): Rule(
        ("applicant", "county", "bureau"),
        "公示开始",
        lambda p, who: (
            f"{name(p, who)}已进入公示，公示期自 {day(p['start_date'])} 至 "
            f"{day(p['end_date'])}，共 {p['working_days']} 个工作日（LT-9.5）。"
        ),
        ("LT-9.5",),
    ),
    ("applications", "ObjectionRaised"): Rule(
        ("applicant", "county", "bureau"),
        "公示期间收到异议",
        lambda p, who: (
            f"{name(p, who)}公示期间于 {day(p['received_on'])} 收到异议，认定暂缓，"
            f"待核查后决定（LT-9.5）。"
        ),
        ("LT-9.5",),
    ),
    ("applications", "ObjectionResolved"): Rule(
        ("applicant", "county", "bureau"),
        "异议核查结果",
        lambda p, who: (
            f"{name(p, who)}公示期间的异议已于 {day(p['resolved_on'])} 核查完毕："
            f"{OBJECTION_OUTCOMES_ZH[p['outcome']]}（LT-9.5）。"
        ),
        ("LT-9.5",),
    ),
    ("applications", "ApplicationWithdrawn"): Rule(
        ("applicant", "county", "bureau"),
        "申报已撤回",
        lambda p, who: f"{name(p, who)}已于 {day(p['withdrawn_on'])} 撤回申报（LT-9）。",
        ("LT-9",),
    ),
    ("applications", "RoundOpened"): Rule(
        ("bureau",),
        "年度选拔开始",
        lambda p, who: (
            f"{p['year']}年度{PROGRAMME}选拔认定开始，认定不超过 {p['quota']} 名，"
            f"申报时间 {day(p['window_opens'])} 至 {day(p['window_closes'])}"
            f"（LT-3、LT-8）。"
        ),
        ("LT-3", "LT-8"),
    ),
    ("applications", "TalentCertified"): Rule(
        ("talent", "applicant", "county", "bureau", "finance"),
        "认定为兴楚电商创业领军人才",
        lambda p, who: (
            f"{p['applicant_name']}已被认定为{PROGRAMME}，培养期 "
            f"{day(p['period_start'])} 至 {day(p['period_end'])}（LT-9.5、LT-10）。"
        ),
        ("LT-9.5", "LT-10"),
    ),
    ("subsidies", "SubsidyGranted"): Rule(
        ("talent", "finance"),
        "创业补贴已核定",
        lambda p, who: (
            f"{name(p, who)}的一次性创业补贴 {yuan(p['amount_fen'])}已核定"
            f"（{p['measure']}，{p['fiscal_year']}年度）。"
        ),
        ("LT-10.1",),
    ),
    ("subsidies", "SubsidyGrantQueued"): Rule(
        ("talent", "finance"),
        "创业补贴待预算安排",
        lambda p, who: (
            f"{name(p, who)}的一次性创业补贴 {yuan(p['amount_fen'])}应予发放，"
            f"{p['fiscal_year']}年度预算额度不足，按先后顺序待预算增加后发放"
            f"（{p['measure']}）。"
        ),
        lambda p: (p["measure"],),
    ),
    ("subsidies", "SubsidyGrantDeclined"): Rule(
        ("talent", "finance"),
        "不予发放创业补贴",
        lambda p, who: (
            f"{name(p, who)}已享受过一次性创业补贴，补贴每人一次性发放，本次认定不再发放"
            f"（{p['measure']}）。"
            if p.get("ground") == "LT-10.1"  # once per person; declines without a ground: LT-16
            else f"{name(p, who)}原在“彝乡电商创业人才”培养中已享受创业补贴，转入后不再发放"
            f"一次性创业补贴（{p['measure']}、LT-16）。"
        ),
        lambda p: (p["measure"],) if p.get("ground") == "LT-10.1" else (p["measure"], "LT-16"),
    ),
    ("subsidies", "SubsidyPaid"): Rule(
        ("talent",),
        "创业补贴已拨付",
        lambda p, who: (
            f"创业补贴 {yuan(p['amount_fen'])}已于 {day(p['paid_on'])} 拨付，"
            f"凭证号 {p['payment_reference']}（LT-10.1）。"
        ),
        ("LT-10.1",),
    ),
    ("subsidies", "SubsidyGrantCancelled"): Rule(
        ("talent", "finance"),
        "创业补贴核定已撤销",
        lambda p, who: (
            f"因资格被取消（{ground(p['ground'])}），{name(p, who)}尚未拨付的创业补贴"
            f"核定已撤销，无需退回（LT-14）。"
        ),
        ("LT-14",),
    ),
    ("subsidies", "SubsidyRecoveryDemanded"): Rule(
        ("talent", "finance"),
        "创业补贴退回通知",
        lambda p, who: (
            f"因资格被取消（{ground(p['ground'])}），须于 {day(p['due_on'])} 前退回"
            f"创业补贴 {yuan(p['amount_fen'])}（LT-14）。"
        ),
        ("LT-14",),
    ),
    ("subsidies", "SubsidyRepaymentRecorded"): Rule(
        ("talent", "finance"),
        "已收到创业补贴退回款",
        lambda p, who: (
            f"已收到退回的创业补贴 {yuan(p['amount_fen'])}（凭证号 {p['reference']}），"
            f"尚欠 {yuan(p['outstanding_fen'])}（LT-14）。"
        ),
        ("LT-14",),
    ),
    ("subsidies", "SubsidyRecovered"): Rule(
        ("talent", "finance"),
        "创业补贴已全额退回",
        lambda p, who: f"创业补贴 {yuan(p['amount_fen'])}已全额退回（LT-14）。",
        ("LT-14",),
    ),
    ("assessment", "TenureOpened"): Rule(
        ("talent", "county"),
        "培养期开始",
        lambda p, who: (
            f"{name(p, who)}的培养期自 {day(p['period_start'])} 至 "
            f"{day(p['period_end'])}，培养期内一年一考核（LT-10、LT-11.1）。"
        ),
        ("LT-10", "LT-11.1"),
    ),
    ("assessment", "AnnualReportFiled"): Rule(
        ("county",),
        "年度报告已提交",
        lambda p, who: (
            f"{name(p, who)}已提交培养期第 {p['tenure_year']} 年度报告，请组织考核"
            f"（LT-11.1、LT-13）。"
        ),
        ("LT-11.1", "LT-13"),
    ),
    ("assessment", "AnnualReportReminded"): Rule(
        ("talent",),
        "年度报告提交提醒",
        lambda p, who: (
            f"{name(p, who)}培养期第 {p['tenure_year']} 年度报告尚未提交，提交期限为 "
            f"{day(p['window_opens_on'])} 至 {day(p['window_closes_on'])}"
            f"（最后一日为节假日的，顺延至其后第一个工作日），请按时提交（LT-11.1）。"
        ),
        ("LT-11.1",),
    ),
    ("assessment", "AnnualReportMissed"): Rule(
        ("county", "talent"),
        "年度报告逾期未提交",
        lambda p, who: (
            f"{name(p, who)}培养期第 {p['tenure_year']} 年度报告未在提交期限（"
            f"{day(p['window_opens_on'])} 至 {day(p['window_closed_on'])}）内提交。"
            f"此情形不作考核不合格处理，请县市商务主管部门限期整改（LT-13）。"
        ),
        ("LT-11.1", "LT-13"),
    ),
    ("assessment", "AssessmentPassed"): Rule(
        ("talent", "county", "bureau"),
        "年度考核结果",
        lambda p, who: (
            f"{name(p, who)}培养期第 {p['tenure_year']} 年度考核结果："
            f"{GRADES_ZH[p['grade']]}（LT-11.1）。"
        ),
        ("LT-11.1",),
    ),
    ("assessment", "AssessmentFailed"): Rule(
        ("talent", "county", "bureau"), "年度考核不合格", _failed, ("LT-11.1",)
    ),
    ("assessment", "ObligationBreached"): Rule(
        ("talent", "county"),
        "培养期义务未完成",
        lambda p, who: (
            f"{name(p, who)}培养期第 {p['tenure_year']} 年度未完成义务："
            f"{OBLIGATIONS_ZH.get(p['obligation'], p['obligation'])}"
            f"（{p['obligation']}）。"
            + (
                "县市商务主管部门将限期整改（LT-13）。"
                if p["rectifiable"]
                else "该情形无法整改（LT-14.4）。"
            )
        ),
        lambda p: (p["obligation"], "LT-13" if p["rectifiable"] else "LT-14.4"),
    ),
    ("assessment", "RectificationOrdered"): Rule(
        ("talent", "county"),
        "限期整改通知",
        lambda p, who: (
            f"请{name(p, who)}于 {day(p['deadline'])} 前完成整改：{p['requirement']}（LT-13）。"
        ),
        ("LT-13",),
    ),
    ("assessment", "RectificationConfirmed"): Rule(
        ("talent", "county"),
        "整改已完成",
        lambda p, who: f"{name(p, who)}的整改已于 {day(p['rectified_on'])} 确认完成（LT-13）。",
        ("LT-13",),
    ),
    ("assessment", "RectificationDeadlineMissed"): Rule(
        ("talent", "county", "bureau"),
        "整改逾期未完成",
        lambda p, who: (
            f"{name(p, who)}的整改期限 {day(p['deadline'])} 已过，整改未完成（LT-13、LT-14.1）。"
        ),
        ("LT-13", "LT-14.1"),
    ),
    ("assessment", "DisqualificationGroundReported"): Rule(
        ("bureau", "county"),
        "报告取消资格情形",
        lambda p, who: (
            f"报告{name(p, who)}存在取消资格的情形（{ground(p['ground'])}），"
            f"发生于 {day(p['occurred_on'])}，文号 {p['reference']}（LT-14）。"
        ),
        lambda p: ("LT-14", p["ground"]),
    ),
    ("assessment", "DisqualificationProposed"): Rule(
        ("leading_group", "bureau", "county"),
        "拟取消领军人才资格",
        lambda p, who: (
            f"拟取消{name(p, who)}的{PROGRAMME}资格（{ground(p['ground'])}），"
            f"请州委人才工作领导小组审定（LT-14）。"
        ),
        lambda p: ("LT-14", p["ground"]),
    ),
    ("assessment", "DisqualificationDeclined"): Rule(
        ("talent", "county", "bureau"),
        "不取消领军人才资格",
        lambda p, who: (
            f"州委人才工作领导小组于 {day(p['decided_on'])} 决定不取消{name(p, who)}的"
            f"{PROGRAMME}资格（{ground(p['ground'])}）（LT-14）。"
        ),
        lambda p: ("LT-14", p["ground"]),
    ),
    ("assessment", "TenureCompleted"): Rule(
        ("talent", "county", "bureau"), "培养期届满", _completed, ("LT-10", "LT-11.1")
    ),
    ("assessment", "TalentDisqualified"): Rule(
        ("talent", "county", "bureau", "finance"),
        "取消领军人才资格",
        lambda p, who: (
            f"经州委人才工作领导小组于 {day(p['decided_on'])} 同意，取消"
            f"{name(p, who)}的{PROGRAMME}资格（{ground(p['ground'])}）。"
        ),
        lambda p: ("LT-14", p["ground"]),
    ),
}
FIXED_ADDRESSES = ("bureau", "finance", "leading_group")


def addresses(rule: Rule, payload: Payload, who: Who) -> list[str]:
    """The rule's recipients as addresses, each once, in the rule's order. ``who`` is what the
    register knows of the application or talent the event is about (``applicant``, ``county``)."""
    out: list[str] = []
    for role in rule.recipients:
        if role in FIXED_ADDRESSES:
            address = role
        elif role == "talent":
            address = f"talent:{payload['talent_id']}"
        elif role == "county":
            county = payload.get("county") or who.get("county")
            if not county:
                raise PartiesUnknown(
                    f"the county of {_about(payload)} is not known yet", subject=subject(payload)
                )
            address = f"county:{county}"
        elif role == "applicant":
            if not who.get("applicant"):
                raise PartiesUnknown(
                    f"the applicant of {_about(payload)} is not known yet",
                    subject=subject(payload),
                )
            address = who["applicant"]
        else:
            raise ValueError(f"unknown recipient role {role}")
        if address not in out:
            out.append(address)
    return out


def subject(payload: Payload) -> str | None:
    """What an event about an application or a talent awaits: ``application_id=…`` or
    ``talent_id=…`` (the register learns both from the applications service's events)."""
    for key in ("application_id", "talent_id"):
        if payload.get(key):
            return f"{key}={payload[key]}"
    return None


def _about(payload: Payload) -> str:
    return payload.get("application_id") or payload.get("talent_id") or "the event"


# -- the decider: one source event -> its notifications -----------------------------------------
@dataclass(frozen=True)
class Notify:
    source_service: str
    event_type: str
    event_id: str
    payload: dict[str, Any]
    # the source event's envelope, as received: its stream, positions, times and ids
    # (``WEBHOOK_ENVELOPE``); a webhook receiver orders and traces by them
    envelope: Mapping[str, Any] = field(default_factory=dict)


WEBHOOK_ENVELOPE = (
    "schema_version",
    "stream_type",
    "stream_id",
    "stream_version",
    "global_position",
    "recorded_at",
    "correlation_id",
    "causation_id",
)
"""The source event's attributes every webhook body carries (null where not known)."""


@dataclass(frozen=True)
class Sent:
    recorded: bool = False


def evolve(state: Sent, event: Event) -> Sent:
    return replace(state, recorded=True)


def decide(command: Notify, state: Sent, context: Mapping[str, Any]) -> list[NewEvent]:
    """Context: ``who`` (the register's row for the person, may be empty), ``contacts``
    ({address: e-mail}), ``subscribers`` (ids of the active webhook subscribers that want this
    event type)."""
    if state.recorded:
        return []
    rule = RULES[(command.source_service, command.event_type)]
    p, who = command.payload, context.get("who") or {}
    contacts = context.get("contacts") or {}
    subject, text = rule.subject, rule.body(p, who)
    deliveries: list[tuple[str, str]] = []
    for address in addresses(rule, p, who):
        deliveries.append((address, "inbox"))
        if contacts.get(address):
            deliveries.append((address, "email"))
    deliveries += [(f"subscriber:{s}", "webhook") for s in sorted(context.get("subscribers", ()))]
    events: list[NewEvent] = []
    for i, (recipient, channel) in enumerate(deliveries):
        notification_id = f"{command.event_id}:{i}"
        payload: dict[str, Any] = {
            "notification_id": notification_id,
            "recipient": recipient,
            "channel": channel,
            "subject": subject,
            "body": text,
            "source_service": command.source_service,
            "source_event_type": command.event_type,
            "source_event_id": command.event_id,
        }
        if channel == "webhook":
            payload["content"] = webhook_content(notification_id, command, subject, text)
            position = command.envelope.get("global_position")
            if command.envelope.get("stream_id") is not None and position is not None:
                payload["source_stream_id"] = command.envelope["stream_id"]
                payload["source_position"] = position
        events.append(NewEvent("NotificationRecorded", payload, rule.clauses_for(p)))
    return events


def webhook_content(notification_id: str, command: Notify, subject: str, text: str) -> str:
    """The exact JSON a webhook receives (keys sorted, UTF-8): the message, and the source event
    with its envelope (``WEBHOOK_ENVELOPE``: stream, positions, recorded_at, schema version,
    correlation and causation)."""
    return orjson.dumps(
        {
            "delivery_id": notification_id,
            "event_id": command.event_id,
            "event_type": command.event_type,
            "source": command.source_service,
            **{name: command.envelope.get(name) for name in WEBHOOK_ENVELOPE},
            "subject": subject,
            "message": text,
            "payload": command.payload,
        },
        option=orjson.OPT_SORT_KEYS,
        default=str,
    ).decode()


notification = Decider("notification", Sent(), evolve, decide, POLICY_VERSION)
