"""Checking every row and turning the rows into the services' own commands.

Each cell is read as its column's type; each row's command body is loaded through the service's
own schema (the one its HTTP entrypoint loads); each act date is bounded as the services bound
it (not after today, not before the programme: 2022-09-01 for the Leading Talent rules,
2020-01-01 for the Ten Measures, and a Ten Measures act within TM-1's span); rows that refer to
one another must agree (a payment's talent is a talent of the file, a round is in the file or
already open). Only a file without a single problem becomes a plan: the ordered list of the HTTP
commands that record it, each with the key that makes it run once."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import marshmallow

from services.applications import schemas as app_schemas
from services.applications.domain import policy as app_policy
from services.assessment import schemas as assessment_schemas
from services.subsidies import schemas as subsidy_schemas
from services.subsidies.domain import policy as subsidy_policy
from shared.calendar import CalendarYearUnknown, WorkingDayCalendar
from shared.provenance import import_key, import_uuid
from talent_client.samples import STAGES, application_body, stage_body
from talent_import.reader import Problem, Source
from talent_import.template import BY_NAME, Column

LT_START = app_policy.PROGRAMME_START  # 2022-09-01
TM_START = subsidy_policy.TM_PROGRAMME_START  # 2020-01-01
ON_PAPER = "见纸质档案"
"""What the import writes where the bureau's paper file, not the spreadsheet, holds the text."""


@dataclass
class Step:
    """One HTTP command of the plan."""

    sheet: str
    row: int
    step: str
    service: str
    method: str
    path: str
    role: str
    body: dict[str, Any]
    county: str | None = None
    actor: str | None = None
    waits_for: tuple[str, str] | None = None  # (service, GET path) that must answer 200 first
    wait_check: Callable[[Any], bool] | None = None

    def key(self, sha256: str) -> str:
        return import_key(sha256, self.sheet, self.row, self.step)


@dataclass
class Plan:
    sha256: str
    steps: list[Step] = field(default_factory=list)
    talents: dict[str, str] = field(default_factory=dict)  # a file's talent ref -> talent id
    counties: dict[str, str] = field(default_factory=dict)  # a file's talent ref -> county
    problems: list[Problem] = field(default_factory=list)


def _cell(column: Column, value: Any) -> Any:
    """The cell as its column's type, or ValueError saying what is wrong."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = column.kind
    if kind == "text":
        return str(value).strip() if not isinstance(value, float) else str(int(value))
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError("not a whole number")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip().replace(",", ""))
        except ValueError:
            raise ValueError("not a whole number") from None
    if kind == "yuan":
        try:
            amount = decimal.Decimal(str(value).strip().replace(",", ""))
        except decimal.InvalidOperation:
            raise ValueError("not an amount in yuan") from None
        fen = amount * 100
        if fen != fen.to_integral_value() or fen < 0:
            raise ValueError("not an amount in yuan with at most 2 decimals, not negative")
        if fen > 10**15:
            raise ValueError("more than 10^13 yuan")
        return int(fen)
    if kind == "date":
        if isinstance(value, dt.datetime):
            raise ValueError("a date without a time of day is expected")
        if isinstance(value, dt.date):
            return value
        text = str(value).strip().replace(".", "-").replace("/", "-")
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError("not a date (yyyy-mm-dd)") from None
    if kind == "bool":
        text = str(value).strip().lower()
        if text in ("是", "yes", "true", "1"):
            return True
        if text in ("否", "no", "false", "0"):
            return False
        raise ValueError("not 是/否 (yes/no)")
    raise AssertionError(kind)


class _Rows:
    """The typed rows of one sheet, problems noted as they are found."""

    def __init__(self, plan: Plan, source: Source, name: str) -> None:
        self.plan, self.sheet = plan, BY_NAME[name]
        self.rows: list[tuple[int, dict[str, Any]]] = []
        self.reported: set[tuple[int, str | None]] = set()  # one problem per cell is enough
        for number, raw in source.sheets.get(name, []):
            row: dict[str, Any] = {}
            for column in self.sheet.columns:
                try:
                    row[column.key] = _cell(column, raw.get(column.key))
                except ValueError as exc:
                    self.problem(number, column.key, str(exc))
                    row[column.key] = None
                    continue
                if row[column.key] is None and column.required:
                    self.problem(number, column.key, "required, empty")
            self.rows.append((number, row))

    def problem(self, row: int, column: str | None, message: str) -> None:
        self.reported.add((row, column))
        header = self.sheet.column(column).header if column else None
        self.plan.problems.append(Problem(self.sheet.name, row, header, message))

    def bound(
        self,
        row: int,
        values: Mapping[str, Any],
        column: str,
        today: dt.date,
        start: dt.date,
        until: dt.date | None = None,
        rule: str = "",
    ) -> None:
        """An act date: not after today, not before ``start``, not after ``until``."""
        day = values.get(column)
        if day is None:
            return
        if day > today:
            self.problem(row, column, f"{day} is after today ({today})")
        elif day < start:
            self.problem(row, column, f"{day} is before the programme ({start}{rule})")
        elif until is not None and day > until:
            self.problem(row, column, f"{day} is after {until}{rule}")

    def load(
        self,
        row: int,
        schema: marshmallow.Schema,
        body: Mapping[str, Any],
        where: Mapping[str, str],
    ) -> bool:
        """``body`` through the service's schema; its errors named by the sheet's columns."""
        try:
            schema.load(dict(body))
        except marshmallow.ValidationError as exc:
            for path, message in _flatten(exc.messages):
                column = next((c for f, c in where.items() if path.startswith(f)), None)
                if column is None or (row, column) not in self.reported:
                    self.problem(row, column, f"{path}: {message}")
            return False
        return True


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, Mapping):
        out = []
        for k, v in messages.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(prefix, " ".join(messages))]
    if isinstance(messages, list):
        return [x for m in messages for x in _flatten(m, prefix)]
    return [(prefix, str(messages))]


def build(
    source: Source,
    today: dt.date,
    *,
    open_rounds: frozenset[int] = frozenset(),
    calendar: WorkingDayCalendar | None = None,
) -> Plan:
    """The plan of ``source``, or a plan whose ``problems`` say why it cannot be written
    (``open_rounds``: the years of the rounds the applications service already has)."""
    calendar = calendar or WorkingDayCalendar()
    plan = Plan(source.sha256, problems=list(source.problems))
    rounds = _rounds(plan, source, today)
    _funds(plan, source, today)
    _talents(plan, source, today, rounds, open_rounds, calendar)
    _transfers(plan, source, today)
    _payments(plan, source, today)
    _reports(plan, source, today)
    _disqualifications(plan, source, today)
    _repayments(plan, source, today)
    _claims(plan, source, today)
    if plan.problems:
        plan.steps = []
    return plan


def _rounds(plan: Plan, source: Source, today: dt.date) -> dict[int, dict[str, Any]]:
    sheet = _Rows(plan, source, "rounds")
    found: dict[int, dict[str, Any]] = {}
    for n, r in sheet.rows:
        for column in ("window_opens", "window_closes", "opened_on"):
            sheet.bound(n, r, column, today, LT_START)
        if r["year"] is not None and not (LT_START.year <= r["year"] <= today.year):
            sheet.problem(n, "year", f"{r['year']} is not a year from {LT_START.year} to now")
        if r["year"] in found:
            sheet.problem(n, "year", f"the {r['year']} round is given twice")
        found[r["year"]] = r
        body = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in r.items()}
        if r["opened_on"] is None:
            del body["opened_on"]
        if sheet.load(n, app_schemas.OpenRound(), body, {k: k for k in body}):
            plan.steps.append(
                Step(
                    "rounds",
                    n,
                    "open",
                    "applications",
                    "POST",
                    "/rounds",
                    "prefecture_officer",
                    body,
                )
            )
    return found


def _funds(plan: Plan, source: Source, today: dt.date) -> None:
    sheet = _Rows(plan, source, "funds")
    for n, r in sheet.rows:
        start = LT_START if r["source"] == "prefecture_finance" else TM_START
        sheet.bound(n, r, "set_on", today, start)
        body = {"amount_fen": r["amount_yuan"], "reference": r["reference"]}
        if r["set_on"]:
            body["set_on"] = r["set_on"].isoformat()
        key = {"source": r["source"], "fiscal_year": r["fiscal_year"]}
        ok = sheet.load(
            n, subsidy_schemas.FundKey(), key, {"source": "source", "fiscal_year": "fiscal_year"}
        )
        ok = (
            sheet.load(
                n,
                subsidy_schemas.SetBudget(),
                body,
                {"amount_fen": "amount_yuan", "reference": "reference", "set_on": "set_on"},
            )
            and ok
        )
        if ok:
            plan.steps.append(
                Step(
                    "funds",
                    n,
                    "budget",
                    "subsidies",
                    "POST",
                    f"/funds/{r['source']}/{r['fiscal_year']}/budget",
                    "finance",
                    body,
                )
            )


_EVIDENCE = {
    "sales_yuan": "sales_fen",
    "sales_year_before_yuan": "sales_fen_year_before",
    "jobs_driven": "jobs_driven",
    "tax_paid_yuan": "tax_paid_fen",
    "followers": "followers",
    "exposure": "exposure",
}


def _talents(
    plan: Plan,
    source: Source,
    today: dt.date,
    rounds: Mapping[int, Mapping[str, Any]],
    open_rounds: frozenset[int],
    calendar: WorkingDayCalendar,
) -> None:
    sheet = _Rows(plan, source, "talents")
    people: dict[str, int] = {}
    for n, r in sheet.rows:
        for column in ("submitted_on", "notice_start", "certified_on", "account_registered_on"):
            sheet.bound(
                n,
                r,
                column,
                today,
                LT_START if column != "account_registered_on" else dt.date(1990, 1, 1),
            )
        if r["ref"] in plan.talents:
            sheet.problem(n, "ref", f"the ref {r['ref']} is given twice")
        if r["id_number"] in people:
            sheet.problem(
                n, "id_number", f"the same person as row {people[r['id_number']]} (once per person)"
            )
        people.setdefault(r["id_number"], n)
        if (
            r["round_year"] is not None
            and r["round_year"] not in rounds
            and r["round_year"] not in open_rounds
        ):
            sheet.problem(
                n, "round_year", f"no {r['round_year']} round in the file or in the system"
            )
        submitted, start, certified = r["submitted_on"], r["notice_start"], r["certified_on"]
        if None in (submitted, start, certified) or r["category"] is None or r["county"] is None:
            continue
        reviews = [submitted + dt.timedelta(days=i) for i in range(1, len(STAGES) + 1)]
        if start <= reviews[-1]:
            sheet.problem(
                n,
                "notice_start",
                f"the notice starts after the {len(STAGES)} review stages, recorded one a day from "
                f"the submission: after {reviews[-1]}",
            )
        try:
            closes = calendar.nth_working_day(start, 5)
            if certified <= closes:
                sheet.problem(
                    n, "certified_on", f"the 5-working-day notice (LT-9.5) ends on {closes}"
                )
        except CalendarYearUnknown:
            sheet.problem(n, "notice_start", "the working-day calendar does not know that year")
        score = r["expert_score"]
        if score is not None and score < app_policy.EXPERT_PASS_SCORE:
            sheet.problem(
                n,
                "expert_score",
                f"{score} is below the pass score {app_policy.EXPERT_PASS_SCORE} of a certified talent",
            )
        evidence = {
            field_: r[column] for column, field_ in _EVIDENCE.items() if r[column] is not None
        }
        if r["account_registered_on"]:
            evidence["account_registered_on"] = r["account_registered_on"].strftime("%Y.%m.%d")
        if r["category"] == "LT-6.1":
            evidence.setdefault("activity_proof", ON_PAPER)
            evidence.setdefault("local_influence", ON_PAPER)
        body = _application(r, evidence)
        where = {
            "round_year": "round_year",
            "county": "county",
            "submitted_on": "submitted_on",
            "category": "category",
            "evidence": "sales_yuan",
            "form.applicant.name": "name",
            "form.applicant.gender": "gender",
            "form.applicant.id_number": "id_number",
            "form.applicant.phone": "phone",
            "form.employer.name": "enterprise_name",
            "form.employer.credit_code": "credit_code",
        }
        if not sheet.load(n, app_schemas.SubmitApplication(), body, where):
            continue
        submit = Step(
            "talents",
            n,
            "submit",
            "applications",
            "POST",
            "/applications",
            "county_officer",
            body,
            county=r["county"],
        )
        app_id = import_uuid(submit.key(plan.sha256))
        talent_id = f"talent-{app_id}"
        plan.talents[r["ref"]] = talent_id
        plan.counties[r["ref"]] = r["county"]
        plan.steps.append(submit)
        for i, ((stage, role), day) in enumerate(zip(STAGES, reviews), start=1):
            review = _review(stage, day, r)
            if not sheet.load(n, app_schemas.RecordReview(), review, {"experts": "expert_score"}):
                break
            plan.steps.append(
                Step(
                    "talents",
                    n,
                    f"review{i}",
                    "applications",
                    "POST",
                    f"/applications/{app_id}/reviews",
                    role,
                    review,
                    county=r["county"],
                )
            )
        plan.steps.append(
            Step(
                "talents",
                n,
                "notice",
                "applications",
                "POST",
                f"/applications/{app_id}/notice",
                "prefecture_officer",
                {"start_date": start.isoformat()},
            )
        )
        plan.steps.append(
            Step(
                "talents",
                n,
                "certify",
                "applications",
                "POST",
                f"/applications/{app_id}/certification",
                "prefecture_officer",
                {"certified_on": certified.isoformat()},
            )
        )


def _review(stage: str, day: dt.date, r: Mapping[str, Any]) -> dict[str, Any]:
    """A stage's record as the sheet knows it: passed on ``day``, the expert committee's score
    from the sheet, every text pointing at the paper file."""
    paper = f"{ON_PAPER}：{r['file_ref']}"
    review = stage_body(stage, day, category=r["category"], score=r["expert_score"] or 0)
    review["opinion"] = f"同意（{paper}）"
    for opinion in review.get("county_opinions", ()):
        opinion["opinion"] = f"同意推荐（{paper}）"
    for i, expert in enumerate(review.get("experts", ()), start=1):
        expert["name"] = f"评审专家{i}（{ON_PAPER}）"
    if "chair" in review:
        review["chair"]["name"] = f"评审组长（{ON_PAPER}）"
    if "seller_contribution" in review:
        review["seller_contribution"]["reasons"] = paper
    if "findings" in review:
        review["findings"] = paper
    if "discipline_opinion" in review:
        review["discipline_opinion"]["opinion"] = paper
    return review


def _application(r: Mapping[str, Any], evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The application form of a talent certified on paper: what the sheet holds, and
    ``见纸质档案`` where the paper file holds the rest."""
    body = application_body(
        r["county"],
        r["name"],
        r["category"],
        r["submitted_on"],
        r["round_year"],
        id_number=r["id_number"],
        credit_code=r["credit_code"],
    )
    body["evidence"] = dict(evidence)
    form = body["form"]
    born = r["id_number"] or ""
    form["specialty"] = ON_PAPER
    form["filled_on"] = r["submitted_on"].strftime("%Y.%m.%d")
    applicant = form["applicant"]
    applicant.update(
        name=r["name"],
        gender=r["gender"],
        phone=r["phone"],
        id_number=born,
        ethnicity=ON_PAPER,
        native_place=ON_PAPER,
        photo=ON_PAPER,
        employer_and_position=r["enterprise_name"] or ON_PAPER,
        highest_education=ON_PAPER,
        highest_degree=ON_PAPER,
        graduated_from=ON_PAPER,
        political_status=ON_PAPER,
    )
    form["employer"] = {"name": r["enterprise_name"], "credit_code": r["credit_code"]}
    form["statement"] = {
        "basic_conditions": f"{ON_PAPER}：{r['file_ref']}",
        "achievements": f"{ON_PAPER}：{r['file_ref']}",
        "employer_stamped_on": form["filled_on"],
    }
    form["affirmation"].update(
        applicant_signed_on=form["filled_on"], employer_stamped_on=form["filled_on"]
    )
    form["education"] = "无"
    form["work_history"] = "无"
    return body


def _transfers(plan: Plan, source: Source, today: dt.date) -> None:
    sheet = _Rows(plan, source, "transfers")
    for n, r in sheet.rows:
        sheet.bound(n, r, "period_start", today, app_policy.YIXIANG_FIRST_PERIOD_START)
        baseline = {
            k: r[f"baseline_{k.removesuffix('_fen')}_yuan" if k == "sales_fen" else f"baseline_{k}"]
            for k in ("sales_fen", "followers", "exposure")
        }
        body = {
            "yixiang_talent_id": r["yixiang_talent_id"],
            "name": r["name"],
            "id_number": r["id_number"],
            "county": r["county"],
            "enterprise": {"name": r["enterprise_name"], "credit_code": r["credit_code"]},
            "category": r["category"],
            "baseline_year": r["baseline_year"],
            "baseline": {k: v for k, v in baseline.items() if v is not None},
            "period_start": r["period_start"] and r["period_start"].isoformat(),
            "period_end": r["period_end"] and r["period_end"].isoformat(),
            "prior_startup_subsidy_fen": r["prior_startup_subsidy_yuan"] or 0,
        }
        where = {
            "enterprise.name": "enterprise_name",
            "enterprise.credit_code": "credit_code",
            "baseline": "baseline_sales_yuan",
            "prior_startup_subsidy_fen": "prior_startup_subsidy_yuan",
            **{k: k for k in body},
        }
        if sheet.load(n, app_schemas.TransferYixiangTalent(), body, where):
            plan.talents[r["yixiang_talent_id"]] = f"talent-yixiang-{r['yixiang_talent_id']}"
            plan.counties[r["yixiang_talent_id"]] = r["county"]
            plan.steps.append(
                Step(
                    "transfers",
                    n,
                    "transfer",
                    "applications",
                    "POST",
                    "/yixiang/transfers",
                    "prefecture_officer",
                    body,
                )
            )


def _talent(sheet: _Rows, plan: Plan, n: int, ref: str | None) -> str | None:
    if ref is None:
        return None
    if ref in plan.talents:
        return plan.talents[ref]
    sheet.problem(n, "talent", f"{ref} is no talent of the talents or transfers sheet")
    return None


def _granted(body: Any) -> bool:
    return bool(body.get("grants")) and body["grants"][0]["status"] not in ("queued",)


def _payments(plan: Plan, source: Source, today: dt.date) -> None:
    sheet = _Rows(plan, source, "payments")
    for n, r in sheet.rows:
        sheet.bound(n, r, "paid_on", today, LT_START)
        talent = _talent(sheet, plan, n, r["talent"])
        body = {
            "payment_reference": r["payment_reference"],
            "paid_on": r["paid_on"] and r["paid_on"].isoformat(),
        }
        if sheet.load(n, subsidy_schemas.RecordPayment(), body, {k: k for k in body}) and talent:
            plan.steps.append(
                Step(
                    "payments",
                    n,
                    "pay",
                    "subsidies",
                    "POST",
                    f"/grants/{talent}/payments",
                    "finance",
                    body,
                    waits_for=("subsidies", f"/grants/{talent}"),
                    wait_check=_granted,
                )
            )


def _reports(plan: Plan, source: Source, today: dt.date) -> None:
    sheet = _Rows(plan, source, "reports")
    for n, r in sheet.rows:
        sheet.bound(n, r, "reported_on", today, LT_START)
        talent = _talent(sheet, plan, n, r["talent"])
        figures = {
            f: r[c]
            for c, f in (
                ("sales_yuan", "sales_fen"),
                ("followers", "followers"),
                ("exposure", "exposure"),
            )
            if r[c] is not None
        }
        body = {
            "tenure_year": r["tenure_year"],
            "figures": figures,
            "promotion_activities": r["promotion_activities"],
            "backbones_trained": r["backbones_trained"],
            "full_time_in_chuxiong": r["full_time_in_chuxiong"],
            "reported_on": r["reported_on"] and r["reported_on"].isoformat(),
        }
        if (
            sheet.load(
                n,
                assessment_schemas.FileAnnualReport(),
                body,
                {"figures": "sales_yuan", **{k: k for k in body}},
            )
            and talent
        ):
            plan.steps.append(
                Step(
                    "reports",
                    n,
                    "report",
                    "assessment",
                    "POST",
                    f"/tenures/{talent}/reports",
                    "county_officer",  # the county enters the report the talent filed on paper
                    body,
                    county=plan.counties.get(r["talent"]),
                    waits_for=("assessment", f"/tenures/{talent}"),
                )
            )


GROUND_ROLES = {"departure": "county_officer", "refusal": "county_officer"}
"""Who reports a ground of each kind (shared/auth.py: tenure.ground.<kind>); the others, the
prefecture's Commerce Bureau."""


def _disqualifications(plan: Plan, source: Source, today: dt.date) -> None:
    sheet = _Rows(plan, source, "disqualifications")
    for n, r in sheet.rows:
        for column in ("occurred_on", "reported_on", "decided_on"):
            sheet.bound(n, r, column, today, LT_START)
        if r["decided_on"] and r["reported_on"] and r["decided_on"] < r["reported_on"]:
            sheet.problem(n, "decided_on", "the decision comes after the ground's report")
        talent = _talent(sheet, plan, n, r["talent"])
        ground = {
            "kind": r["kind"],
            "occurred_on": r["occurred_on"] and r["occurred_on"].isoformat(),
            "description": r["description"],
            "reference": r["reference"] or "",
            "reported_on": r["reported_on"] and r["reported_on"].isoformat(),
        }
        decision = {"decided_on": r["decided_on"] and r["decided_on"].isoformat()}
        ok = sheet.load(n, assessment_schemas.ReportGround(), ground, {k: k for k in ground})
        ok = (
            sheet.load(
                n,
                assessment_schemas.ApproveDisqualification(),
                decision,
                {"decided_on": "decided_on"},
            )
            and ok
        )
        if not (ok and talent):
            continue
        role = GROUND_ROLES.get(r["kind"], "prefecture_officer")
        plan.steps.append(
            Step(
                "disqualifications",
                n,
                "ground",
                "assessment",
                "POST",
                f"/tenures/{talent}/grounds",
                role,
                ground,
                county=plan.counties.get(r["talent"]) if role == "county_officer" else None,
                waits_for=("assessment", f"/tenures/{talent}"),
            )
        )
        plan.steps.append(
            Step(
                "disqualifications",
                n,
                "approve",
                "assessment",
                "POST",
                f"/tenures/{talent}/disqualification",
                "leading_group",
                decision,
            )
        )


def _demanded(body: Any) -> bool:
    return bool(body.get("grants")) and body["grants"][0]["status"] in (
        "recovery_demanded",
        "partially_recovered",
        "recovered",
    )


def _repayments(plan: Plan, source: Source, today: dt.date) -> None:
    sheet = _Rows(plan, source, "repayments")
    for n, r in sheet.rows:
        sheet.bound(n, r, "repaid_on", today, LT_START)
        talent = _talent(sheet, plan, n, r["talent"])
        body = {
            "amount_fen": r["amount_yuan"],
            "reference": r["reference"],
            "repaid_on": r["repaid_on"] and r["repaid_on"].isoformat(),
        }
        where = {"amount_fen": "amount_yuan", "reference": "reference", "repaid_on": "repaid_on"}
        if sheet.load(n, subsidy_schemas.RecordRepayment(), body, where) and talent:
            plan.steps.append(
                Step(
                    "repayments",
                    n,
                    "repay",
                    "subsidies",
                    "POST",
                    f"/grants/{talent}/repayments",
                    "finance",
                    body,
                    waits_for=("subsidies", f"/grants/{talent}"),
                    wait_check=_demanded,
                )
            )


def _claims(plan: Plan, source: Source, today: dt.date) -> None:
    sheet = _Rows(plan, source, "claims")
    span = f", TM-1: the Ten Measures run {subsidy_policy.TM_VALID_FROM} to {subsidy_policy.TM_VALID_UNTIL}"
    for n, r in sheet.rows:
        for column in ("filed_on", "founded_on", "decided_on", "paid_on"):
            sheet.bound(n, r, column, today, TM_START, subsidy_policy.TM_VALID_UNTIL, span)
        if r["measure"] != "TM-5":
            sheet.problem(n, "measure", "the import takes TM-5 claims (a graduate's start-up)")
            continue
        body = {
            "measure": "TM-5",
            "party_id": r["party_id"],
            "party_name": r["party_name"],
            "ecommerce": r["ecommerce"],
            "filed_on": r["filed_on"] and r["filed_on"].isoformat(),
            "graduated_on": r["graduated_on"] and r["graduated_on"].isoformat(),
            "founded_on": r["founded_on"] and r["founded_on"].isoformat(),
            "entity_name": r["entity_name"],
            "in_prefecture": r["in_prefecture"],
            "effects": [e.strip() for e in (r["effects"] or "").split(",") if e.strip()],
            "requested_fen": r["requested_yuan"],
        }
        where = {"requested_fen": "requested_yuan", **{k: k for k in body}}
        if not sheet.load(n, subsidy_schemas.GraduateStartupClaim(), body, where):
            continue
        plan.steps.append(
            Step("claims", n, "file", "subsidies", "POST", "/claims", "hrss_officer", body)
        )
        if r["decided_on"]:
            plan.steps.append(
                Step(
                    "claims",
                    n,
                    "decide",
                    "subsidies",
                    "POST",
                    "/claims/{claim}/decision",
                    "hrss_officer",
                    {"decision": "approve", "decided_on": r["decided_on"].isoformat()},
                )
            )
        if r["paid_on"]:
            if not r["payment_reference"]:
                sheet.problem(n, "payment_reference", "required with a payment date")
            plan.steps.append(
                Step(
                    "claims",
                    n,
                    "pay",
                    "subsidies",
                    "POST",
                    "/claims/{claim}/payments",
                    "finance",
                    {
                        "payment_reference": r["payment_reference"],
                        "paid_on": r["paid_on"].isoformat(),
                    },
                )
            )
