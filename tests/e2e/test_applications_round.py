"""A whole selection round over HTTP: 12 applicants across several counties, two of them
ineligible (a live-stream figure one fen short of 300,000 CNY, a former Yixiang applicant), a
second applicant of an enterprise eligible and judged but not chosen by the county (LT-10 binds at
certification, LT-9.1 择优), one recommended over a county body's opinion against (recorded and
shown to every later stage), one rejected at expert review, one ranked out of the quota at the
Commerce Bureau's proposal (LT-9.5), one objection during the public notice; the round ends with
its quota of 7 certified (at most 10) on their certification dates, and every TalentCertified
reaches a plain Nameko ``@event_handler`` in another process (tests/support/applications_sink.py).
Then a Yixiang talent is transferred (LT-16, judged on 2022-09-01 though recorded today), bad input
and bad dates are refused with 4xx naming the field or clause while the store stays unchanged, and
the RPC interface answers.

The round's dates are fixed in 2026 (all in the past), so the test does not depend on today."""

import datetime as dt
import json
import os
import random
import subprocess
import tempfile
import time

import kombu
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.db import Database
from shared.store import EventStore
from talent_client.http import Client
from talent_client.samples import application_body, fake_id_number, shanghai_today, stage_body
from tests.support.system import NAMEKO, ROOT, running_system

pytestmark = pytest.mark.e2e
D = dt.date
YEAR, QUOTA = 2026, 7
SUBMITTED = D(2026, 3, 16)
STAGE_DAYS = dict(
    zip(
        (
            "county_recommendation",
            "qualification_review",
            "expert_review",
            "inspection",
            "proposal",
            "approval",
            "standing_committee",
        ),
        (
            D(2026, 3, 20),
            D(2026, 3, 27),
            D(2026, 4, 10),
            D(2026, 4, 17),
            D(2026, 4, 22),
            D(2026, 4, 24),
            D(2026, 4, 28),
        ),
    )
)
NOTICE_START, NOTICE_END = D(2026, 4, 29), D(2026, 5, 8)  # across Labour Day 2026 (1-5 May)
CERTIFIED_ON = D(2026, 5, 11)  # the Monday after the notice closed
SINK_QUEUE = "evt-applications-TalentCertified--applications_sink.on_talent_certified"

# (name, county, category, evidence, expert score, what happens)
APPLICANTS = [
    ("李明", "楚雄市", "LT-6.3", None, 92, "certified"),
    ("王芳", "楚雄市", "LT-6.2", None, 90, "certified"),
    ("赵强", "禄丰市", "LT-6.1", None, 88, "certified"),
    ("孙丽", "禄丰市", "LT-6.4", None, 86, "certified"),
    ("周杰", "双柏县", "LT-6.3", None, 85, "objection"),
    ("吴敏", "南华县", "LT-6.2", None, 84, "certified"),
    ("郑伟", "大姚县", "LT-6.3", None, 83, "certified"),
    ("冯燕", "武定县", "LT-6.4", None, 80, "out_of_quota"),
    ("陈刚", "元谋县", "LT-6.2", None, 55, "expert_rejected"),
    ("褚红", "牟定县", "LT-6.2", {"sales_fen": 29_999_999}, None, "ineligible_sales"),
    ("卫东", "姚安县", "LT-6.3", None, None, "ineligible_yixiang"),
    ("蒋华", "楚雄市", "LT-6.4", None, None, "county_not_chosen"),  # 李明's enterprise
]
AGAINST = "agriculture"  # the county body against 赵强's recommendation


@pytest.fixture(scope="module")
def apps(amqp_uri):
    yield from running_system(amqp_uri, services=("applications",))


@pytest.fixture(scope="module")
def sink(apps):
    """The plain handler process, started (and its queue bound) before any event is relayed."""
    out = tempfile.NamedTemporaryFile(prefix="applications-sink-", suffix=".jsonl", delete=False)
    out.close()
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as cfg:
        cfg.write(f"AMQP_URI: '{apps.amqp_uri}'\n")
    env = dict(os.environ, SINK_OUT=out.name, PYTHONPATH=str(ROOT))
    log = open(ROOT / "var" / "log" / "e2e-applications-sink.log", "wb")
    proc = subprocess.Popen(
        [NAMEKO, "run", "--config", cfg.name, "tests.support.applications_sink"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        with kombu.Connection(apps.amqp_uri) as conn:
            while True:
                try:
                    conn.default_channel.queue_declare(SINK_QUEUE, passive=True)
                    break
                except Exception:  # noqa: BLE001 - not declared yet
                    conn.close()
                    conn = kombu.Connection(apps.amqp_uri)
                    assert proc.poll() is None and time.monotonic() < deadline, (
                        "the sink did not start: see var/log/e2e-applications-sink.log"
                    )
                    time.sleep(0.2)
        yield out.name
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
        os.unlink(out.name)
        os.unlink(cfg.name)


def received(path, n, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        with open(path, encoding="utf-8") as f:
            lines = [json.loads(line) for line in f if line.strip()]
        if len(lines) >= n or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def store_of(apps):
    return EventStore(Database(apps.dsn("applications")), "applications")


class Round:
    """The round as the test plays it: HTTP calls as each body, ids by applicant name."""

    def __init__(self, client):
        self.client = client
        self.ids, self.versions, self.codes, self.county, self.category = {}, {}, {}, {}, {}

    def call(self, method, path, role, county=None, json=None, expect=(200, 201), **kw):
        return self.client.call(
            method, "applications", path, role, county=county, json=json, expect=expect, **kw
        )

    def submit(self, name, county, category, evidence, **form):
        body = application_body(
            county, name, category, SUBMITTED, YEAR, evidence, rng=random.Random(name), **form
        )
        r = self.call("POST", "/applications", "county_officer", county, body)
        self.ids[name] = r.json()["application_id"]
        self.codes[name] = body["form"]["employer"]["credit_code"]
        self.county[name] = county
        self.category[name] = category
        return r.json()

    def stage(self, name, stage, role, passed=True, score=85, expect=(200,), **extra):
        body = stage_body(
            stage,
            STAGE_DAYS[stage],
            passed,
            score=score,
            reasons=("未过半数同意",),
            category=self.category[name],
        )
        return self.call(
            "POST",
            f"/applications/{self.ids[name]}/reviews",
            role,
            self.county[name],
            {**body, **extra},
            expect=expect,
        )


@pytest.fixture(scope="module")
def played(apps, sink):
    client = Client(apps.urls)
    rnd = Round(client)
    opened = rnd.call(
        "POST",
        "/rounds",
        "prefecture_officer",
        json={
            "year": YEAR,
            "quota": QUOTA,
            "window_opens": "2026-03-01",
            "window_closes": "2026-04-30",
        },
    )
    again = rnd.call(
        "POST",
        "/rounds",
        "prefecture_officer",
        expect=(422,),
        json={
            "year": YEAR,
            "quota": 10,
            "window_opens": "2026-01-01",
            "window_closes": "2026-12-31",
        },
    )

    # LT-10: 卫东 applied to the Yixiang scheme in 2021
    yixiang_id = fake_id_number(D(1988, 8, 8), "姚安县", random.Random("卫东"))
    rnd.call(
        "POST",
        "/yixiang/applicants",
        "prefecture_officer",
        json={"name": "卫东", "id_number": yixiang_id, "applied_year": 2021},
    )

    assessed = {}
    for name, county, category, evidence, _, fate in APPLICANTS:
        form = {}
        if fate == "ineligible_yixiang":
            form["id_number"] = yixiang_id
        if fate == "county_not_chosen":
            form["credit_code"] = rnd.codes["李明"]
        assessed[name] = rnd.submit(name, county, category, evidence, **form)

    # LT-9.1 择优: 李明's enterprise has two applicants; the county recommends one
    rnd.stage(
        "蒋华",
        "county_recommendation",
        "county_officer",
        passed=False,
        reasons=["同一企业择优推荐李明"],
    )
    candidates = [a for a in APPLICANTS if a[4] is not None]
    for name, _, _, _, score, fate in candidates:
        if name == "赵强":  # a county body against: recorded, the county decides with reasons
            body = stage_body(
                "county_recommendation", STAGE_DAYS["county_recommendation"], category="LT-6.1"
            )
            for opinion in body["county_opinions"]:
                if opinion["body"] == AGAINST:
                    opinion.update(agrees=False, opinion="带动农户数量偏少，不同意推荐")
            body["reasons"] = ["粉丝量和本地影响力居全县前列，带动农户数量可在培养期内提升"]
            rnd.call(
                "POST", f"/applications/{rnd.ids[name]}/reviews", "county_officer", "禄丰市", body
            )
        else:
            rnd.stage(name, "county_recommendation", "county_officer")
        rnd.stage(name, "qualification_review", "prefecture_officer")
        rnd.stage(
            name, "expert_review", "expert_chair", passed=fate != "expert_rejected", score=score
        )
        if fate != "expert_rejected":
            rnd.stage(name, "inspection", "inspector")

    # LT-9.5: in the default order the lowest-scored candidate cannot take a place the
    # higher-scored ones still need; the quota binds at the proposal
    ranked_out = rnd.stage("冯燕", "proposal", "prefecture_officer", expect=(422,))
    approved = [a[0] for a in candidates if a[5] in ("certified", "objection")]
    for name in approved:
        rnd.stage(name, "proposal", "prefecture_officer")
    quota_full = rnd.stage("冯燕", "proposal", "prefecture_officer", expect=(422,))
    rnd.call(
        "POST",
        f"/applications/{rnd.ids['冯燕']}/reviews",
        "prefecture_officer",
        json={
            "stage": "proposal",
            "decision": "reject",
            "reasons": ["按专家评审得分排序，超出本批名额"],
            "decided_on": STAGE_DAYS["proposal"].isoformat(),
        },
    )
    proposal = rnd.call("GET", f"/rounds/{YEAR}", "prefecture_officer").json()["proposal"]
    for name in approved:
        rnd.stage(name, "approval", "leading_group")
    for name in approved:
        rnd.stage(name, "standing_committee", "standing_committee")
        rnd.call(
            "POST",
            f"/applications/{rnd.ids[name]}/notice",
            "prefecture_officer",
            json={"start_date": NOTICE_START.isoformat()},
        )

    objection = rnd.call(
        "POST",
        f"/applications/{rnd.ids['周杰']}/objections",
        "prefecture_officer",
        json={
            "received_on": "2026-05-06",
            "summary": "反映其上年度销售额含关联交易",
            "source": "来信",
        },
    ).json()
    notices = client.call("GET", "applications", "/notices", "applicant").json()["notices"]
    suspended = rnd.call(
        "POST",
        f"/applications/{rnd.ids['周杰']}/certification",
        "prefecture_officer",
        expect=(422,),
    )
    bad_dates = {
        day: rnd.call(
            "POST",
            f"/applications/{rnd.ids['李明']}/certification",
            "prefecture_officer",
            json={"certified_on": day},
            expect=(422,),
        ).json()
        for day in ("9999-12-31", NOTICE_END.isoformat())
    }
    certified = {}
    for name in approved:
        if name != "周杰":
            r = rnd.call(
                "POST",
                f"/applications/{rnd.ids[name]}/certification",
                "prefecture_officer",
                json={"certified_on": CERTIFIED_ON.isoformat()},
            )
            certified[name] = r.json()["events"][0]["payload"]
    rnd.call(
        "POST",
        f"/applications/{rnd.ids['周杰']}/objections/{objection['objection_id']}/resolution",
        "prefecture_officer",
        json={
            "outcome": "dismissed",
            "finding": "经核查，关联交易已剔除，仍达标准",
            "resolved_on": "2026-05-12",
        },
    )
    r = rnd.call(
        "POST",
        f"/applications/{rnd.ids['周杰']}/certification",
        "prefecture_officer",
        json={"certified_on": "2026-05-13"},
    )
    certified["周杰"] = r.json()["events"][0]["payload"]
    return {
        "proposal": proposal,
        "bad_dates": bad_dates,
        "rnd": rnd,
        "opened": opened.json(),
        "again": again.json(),
        "assessed": assessed,
        "ranked_out": ranked_out.json(),
        "quota_full": quota_full.json(),
        "notices": notices,
        "suspended": suspended.json(),
        "certified": certified,
        "client": client,
    }


def test_one_round_a_year(played):
    assert played["opened"]["events"][0]["type"] == "RoundOpened"
    assert (played["again"]["code"], played["again"]["clause"]) == ("rule_violation", "LT-8")


def test_eligibility_is_recorded_with_the_failed_checks(played):
    assessed = played["assessed"]
    assert {n: a["eligible"] for n, a in assessed.items()} == {
        a[0]: not a[5].startswith("ineligible") for a in APPLICANTS
    }
    assert assessed["褚红"]["failed"] == ["LT-6.2 sales"]
    assert assessed["卫东"]["failed"] == ["LT-10 former_yixiang_applicant"]
    rivals = next(
        c
        for c in assessed["蒋华"]["events"][1]["payload"]["checks"]
        if c["check"] == "enterprise_applicants_in_round"
    )
    assert (rivals["value"], rivals["required"]) == (played["rnd"].ids["李明"], False)
    checks = assessed["褚红"]["events"][1]["payload"]["checks"]
    sales = next(c for c in checks if c["check"] == "sales")
    assert (sales["value"], sales["threshold"], sales["comparison"]) == (
        "29999999",
        "30000000",
        ">=",
    )


def test_the_quota_binds_at_the_proposal_ranked_by_expert_score(played):
    ranked, full = played["ranked_out"], played["quota_full"]
    assert ranked["clause"] == "LT-9.5" and ranked["details"]["rank"] == 8
    assert len(ranked["details"]["ahead"]) == QUOTA
    assert full["clause"] == "LT-8" and full["details"] == {"quota": QUOTA, "proposed": QUOTA}
    scores = {a[0]: a[4] for a in APPLICANTS}
    assert [(p["rank"], p["applicant_name"]) for p in played["proposal"]] == [
        (i, name)
        for i, name in enumerate(
            sorted(
                (a[0] for a in APPLICANTS if a[5] in ("certified", "objection")),
                key=lambda n: -scores[n],
            ),
            start=1,
        )
    ]
    assert all(p["reason"].startswith("专家评审得分") for p in played["proposal"])


def test_certification_dates_are_bounded_and_start_the_period(played):
    future, notice_day = played["bad_dates"]["9999-12-31"], played["bad_dates"]["2026-05-08"]
    assert (future["clause"], future["fields"]) == (
        "LT-9.5",
        {"certified_on": ["Must not be after today."]},
    )
    assert notice_day["fields"] == {"certified_on": ["Must be after 2026-05-08."]}
    li = played["certified"]["李明"]
    assert (li["certified_on"], li["period_start"], li["period_end"]) == (
        "2026-05-11",
        "2026-05-11",
        "2029-05-10",
    )
    assert played["certified"]["周杰"]["period_start"] == "2026-05-13"
    assert all(p["person_key"] for p in played["certified"].values())
    assert len({p["person_key"] for p in played["certified"].values()}) == QUOTA


def test_an_opinion_against_is_shown_to_every_later_stage(played):
    client, ids = played["client"], played["rnd"].ids
    detail = client.call("GET", "applications", f"/applications/{ids['赵强']}", "leading_group")
    county = detail.json()["county_recommendation"]
    assert county["decision"] == "recommended"
    assert [o["body"] for o in county["opinions_against"]] == [AGAINST]
    assert county["reasons"] == ["粉丝量和本地影响力居全县前列，带动农户数量可在培养期内提升"]
    row = detail.json()
    assert row["opinions_against"] == [{"body": AGAINST, "opinion": "带动农户数量偏少，不同意推荐"}]
    listed = client.call(
        "GET", "applications", f"/applications?round={YEAR}", "standing_committee"
    ).json()["applications"]
    assert {r["applicant_name"] for r in listed if r["opinions_against"]} == {"赵强"}


def test_an_objection_suspends_until_resolved(played):
    assert played["suspended"]["clause"] == "LT-9.5"
    assert "objection" in played["suspended"]["message"]
    on_notice = {n["applicant_name"]: n["status"] for n in played["notices"]}
    assert on_notice == {
        name: ("suspended" if name == "周杰" else "on_notice") for name in played["certified"]
    }
    assert {(n["notice_start"], n["notice_end"]) for n in played["notices"]} == {
        ("2026-04-29", "2026-05-08")
    }


def test_the_round_ends_with_its_quota_certified(played):
    client, ids = played["client"], played["rnd"].ids
    rows = client.call(
        "GET", "applications", f"/applications?round={YEAR}", "prefecture_officer"
    ).json()["applications"]
    status = {r["applicant_name"]: r["status"] for r in rows}
    assert sorted(n for n, s in status.items() if s == "certified") == sorted(
        a[0] for a in APPLICANTS if a[5] in ("certified", "objection")
    )
    assert len(played["certified"]) == QUOTA <= 10
    assert {n: s for n, s in status.items() if s != "certified"} == {
        "冯燕": "rejected",
        "陈刚": "rejected",
        "褚红": "ineligible",
        "卫东": "ineligible",
        "蒋华": "rejected",
    }
    stage = {r["applicant_name"]: r["stage"] for r in rows}
    assert (stage["冯燕"], stage["蒋华"]) == ("proposal", "county_recommendation")
    rejected_at = client.call(
        "GET",
        "applications",
        f"/applications?round={YEAR}&stage=expert_review&status=rejected",
        "prefecture_officer",
    ).json()["applications"]
    assert [r["application_id"] for r in rejected_at] == [ids["陈刚"]]
    summary = client.call("GET", "applications", f"/rounds/{YEAR}", "auditor").json()
    assert (summary["quota"], summary["certified"]) == (QUOTA, QUOTA)
    detail = client.call("GET", "applications", f"/applications/{ids['周杰']}", "auditor").json()
    assert [h["type"] for h in detail["history"]] == [
        "ApplicationSubmitted",
        "EligibilityAssessed",
    ] + ["ReviewPassed"] * 7 + [
        "PublicNoticeStarted",
        "ObjectionRaised",
        "ObjectionResolved",
        "TalentCertified",
    ]
    assert detail["history"][-1]["metadata"]["clauses"] == ["LT-9.5", "LT-8", "LT-10", "LT-10.1"]
    # both dates of every act: when it happened, when it was recorded
    acts = {(a["type"], a["stage"]): a for a in detail["acts"]}
    assert acts[("TalentCertified", None)]["act_on"] == "2026-05-13"
    assert acts[("ReviewPassed", "proposal")]["act_on"] == "2026-04-22"
    assert all(a["recorded_at"][:10] > a["act_on"] for a in detail["acts"])  # recorded later
    assert (detail["certified_on"], detail["last_act_on"]) == ("2026-05-13", "2026-05-13")


def test_a_county_officer_sees_only_their_county(played):
    client = played["client"]
    rows = client.call(
        "GET", "applications", "/applications", "county_officer", county="禄丰市"
    ).json()["applications"]
    assert sorted(r["applicant_name"] for r in rows) == ["孙丽", "赵强"]
    r = client.call(
        "GET",
        "applications",
        f"/applications/{played['rnd'].ids['李明']}",
        "county_officer",
        county="禄丰市",
        expect=(403,),
    )
    assert r.json()["code"] == "forbidden"


def test_every_talent_certified_reaches_a_plain_event_handler(played, sink):
    lines = received(sink, QUOTA)
    assert len(lines) == QUOTA
    assert {m["payload"]["talent_id"] for m in lines} == {
        p["talent_id"] for p in played["certified"].values()
    }
    for message in lines:
        p = message["payload"]
        assert message["event_type"] == "TalentCertified" and message["source"] == "applications"
        assert (p["origin"], p["round_year"], p["baseline_year"]) == ("selection", YEAR, YEAR - 1)
        assert set(p) >= {
            "talent_id",
            "application_id",
            "applicant_name",
            "county",
            "category",
            "track",
            "baseline",
            "period_start",
            "period_end",
            "certified_on",
            "person_key",
        }
        assert p["certified_on"] == p["period_start"]
        assert message["metadata"]["actor_role"] == "prefecture_officer"


def test_a_yixiang_talent_is_transferred_with_its_period(played, sink):
    client = played["client"]
    today = shanghai_today()
    body = {
        "yixiang_talent_id": "YX2021-007",
        "name": "杨梅",
        "id_number": fake_id_number(D(1990, 2, 3), "永仁县", random.Random(3)),
        "county": "永仁县",
        "enterprise": {"name": "永仁县杨梅电子商务有限公司", "credit_code": "91350100M000100Y43"},
        "category": "LT-6.2",
        "baseline_year": 2019,
        "baseline": {"sales_fen": 40_000_000},
        "period_start": "2020-01-10",  # ran on 2022-09-01, ended long before today
        "period_end": "2023-01-09",
        "prior_startup_subsidy_fen": 3_000_000,
    }
    r = client.call("POST", "applications", "/yixiang/transfers", "prefecture_officer", json=body)
    assert [e["type"] for e in r.json()["events"]] == [
        "YixiangTalentTransferred",
        "TalentCertified",
    ]
    assert {e["payload"]["transferred_on"] for e in r.json()["events"]} == {"2022-09-01"}
    assert today.isoformat() > "2023-01-09"
    again = client.call(
        "POST", "applications", "/yixiang/transfers", "prefecture_officer", json=body, expect=(422,)
    )
    assert again.json()["clause"] == "LT-16"
    lines = received(sink, QUOTA + 1)
    [moved] = [m["payload"] for m in lines if m["payload"].get("origin") == "yixiang_transfer"]
    assert (
        moved["talent_id"],
        moved["period_start"],
        moved["application_id"],
        moved["prior_startup_subsidy_fen"],
    ) == ("talent-yixiang-YX2021-007", "2020-01-10", "yixiang-YX2021-007", 3_000_000)
    assert (moved["transferred_on"], moved["person_key"]) == ("2022-09-01", moved["person_key"])
    assert moved["person_key"]
    over = dict(
        body,
        yixiang_talent_id="YX2020-001",
        id_number=fake_id_number(D(1991, 2, 3), "永仁县", random.Random(4)),
        period_start="2020-06-01",
        period_end="2022-08-31",
    )
    refused = client.call(
        "POST", "applications", "/yixiang/transfers", "prefecture_officer", json=over, expect=(422,)
    ).json()
    assert refused["clause"] == "LT-16" and refused["fields"] == {
        "period_end": ["Must not be before 2022-09-01."]
    }


def test_bad_input_is_refused_naming_field_or_clause_and_changes_nothing(apps, played):
    client, ids = played["client"], played["rnd"].ids
    store = store_of(apps)
    before = (store.head(), store.verify().checked)
    good = application_body("楚雄市", "新人", "LT-6.3", SUBMITTED, YEAR, rng=random.Random("new"))

    def post(body, role="county_officer", county="楚雄市", path="/applications", **kw):
        return client.call(
            "POST", "applications", path, role, county=county, json=body, expect=None, **kw
        )

    missing = post({k: v for k, v in good.items() if k != "form"})
    assert (missing.status_code, missing.json()["fields"]) == (
        400,
        {"form": ["Missing data for required field."]},
    )
    wrong_date = json.loads(json.dumps(good))
    wrong_date["form"]["applicant"]["birth_date"] = "1990-01-01"
    r = post(wrong_date)
    assert (r.status_code, r.json()["fields"]) == (
        400,
        {
            "form": {
                "applicant": {
                    "birth_date": ["Write the date as yyyy.mm.dd, e.g. 1980.01.01 (LT-form-1)."]
                }
            }
        },
    )
    gap = json.loads(json.dumps(good))
    gap["form"]["work_history"][1]["start"] = "2019.01.01"
    r = post(gap)
    assert r.status_code == 400
    assert list(r.json()["fields"]["form"]["work_history"]["1"]) == ["start"]
    assert "LT-form-5" in r.json()["fields"]["form"]["work_history"]["1"]["start"][0]
    negative = json.loads(json.dumps(good))
    negative["evidence"]["sales_fen"] = -1
    r = post(negative)
    assert (r.status_code, r.json()["fields"]) == (
        400,
        {"evidence": {"sales_fen": ["Must be greater than or equal to 0."]}},
    )
    r = post(good, role="county_officer", county="禄丰市")  # another county's form
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = post(good, role="finance")  # wrong role
    assert (r.status_code, r.json()["details"]["allowed_roles"]) == (
        403,
        ["applicant", "county_officer"],
    )
    review = stage_body("qualification_review", D(2026, 5, 1))
    r = post(review, role="county_officer", path=f"/applications/{ids['冯燕']}/reviews")
    assert r.status_code == 403  # wrong role for the stage
    r = client.call(
        "GET",
        "applications",
        "/applications?county=楚雄市",
        "county_officer",
        county="禄丰市",
        expect=None,
    )
    assert r.status_code == 403  # another county's list
    r = post({"reasons": ["x"]}, county="武定县", path=f"/applications/{ids['冯燕']}/withdrawal")
    assert (r.status_code, list(r.json()["fields"])) == (400, ["reason", "reasons"])
    for bad in ("twenty", "²", "1" * 5000):  # "²".isdigit() holds; int() of 5000 digits fails
        r = client.call("GET", "applications", f"/applications?round={bad}", "auditor", expect=None)
        assert (r.status_code, r.json()["fields"]) == (400, {"round": ["Not a valid integer."]})
    r = post(
        {"received_on": "2026-05-06", "summary": "x", "source": "y"},
        role="prefecture_officer",
        path=f"/applications/{ids['李明']}/objections",
        headers={"If-Match": "3"},
    )  # stale version
    assert (r.status_code, r.json()["code"], r.json()["details"]["expected_version"]) == (
        409,
        "conflict",
        3,
    )
    r = post(
        {"start_date": "2026-05-01"},
        role="prefecture_officer",
        path=f"/applications/{ids['冯燕']}/notice",
    )
    assert (r.status_code, r.json()["clause"]) == (422, "LT-9.5")  # rejected: no notice
    assert "the application is rejected" in r.json()["message"]
    r = client.http.post(apps.urls["applications"] + "/applications", json=good, timeout=10)
    assert r.status_code == 401
    # dates: a round for 9999, a round opened in the future, a submission before the programme
    r = post(
        {"year": 9999, "quota": 5, "window_opens": "9999-01-01", "window_closes": "9999-12-31"},
        role="prefecture_officer",
        path="/rounds",
    )
    assert (r.status_code, r.json()["clause"], list(r.json()["fields"])) == (422, "LT-3", ["year"])
    tomorrow = (shanghai_today() + dt.timedelta(days=1)).isoformat()
    r = post(
        {
            "year": 2022,
            "quota": 5,
            "window_opens": "2022-09-01",
            "window_closes": "2022-12-31",
            "opened_on": tomorrow,
        },
        role="prefecture_officer",
        path="/rounds",
    )
    assert (r.status_code, list(r.json()["fields"])) == (422, ["opened_on"])
    r = post(
        {"year": 2022, "quota": 5, "window_opens": "2022-08-31", "window_closes": "2022-12-31"},
        role="prefecture_officer",
        path="/rounds",
    )
    assert (r.status_code, r.json()["fields"]) == (
        422,
        {"window_opens": ["Must not be before 2022-09-01."]},
    )
    after = (store.head(), store.verify().checked)
    assert after == before
    store.db.close()


def test_applicants_see_and_withdraw_only_their_own(played):
    client = played["client"]
    body = application_body("南华县", "林木", "LT-6.4", SUBMITTED, YEAR, rng=random.Random(9))
    r = client.call(
        "POST", "applications", "/applications", "applicant", actor="applicant-lin", json=body
    )
    app_id = r.json()["application_id"]
    assert r.json()["events"][0]["payload"]["applicant_id"] == "applicant-lin"
    other = client.call(
        "GET",
        "applications",
        f"/applications/{app_id}",
        "applicant",
        actor="applicant-else",
        expect=(403,),
    )
    assert other.json()["code"] == "forbidden"
    mine = client.call(
        "GET", "applications", "/applications", "applicant", actor="applicant-lin"
    ).json()["applications"]
    assert [a["application_id"] for a in mine] == [app_id]
    for day, message in (
        ("9999-12-31", "Must not be after today."),
        ("2026-03-15", "Must not be before 2026-03-16."),
    ):
        bad = client.call(
            "POST",
            "applications",
            f"/applications/{app_id}/withdrawal",
            "applicant",
            actor="applicant-lin",
            json={"reason": "个人原因", "withdrawn_on": day},
            expect=(422,),
        )
        assert bad.json()["fields"] == {"withdrawn_on": [message]}
    r = client.call(
        "POST",
        "applications",
        f"/applications/{app_id}/withdrawal",
        "applicant",
        actor="applicant-lin",
        json={"reason": "个人原因", "withdrawn_on": "2026-03-20"},
    )
    assert r.json()["events"][0]["type"] == "ApplicationWithdrawn"
    assert r.json()["events"][0]["payload"]["withdrawn_on"] == "2026-03-20"
    again = client.call(
        "POST",
        "applications",
        f"/applications/{app_id}/withdrawal",
        "applicant",
        actor="applicant-lin",
        json={"reason": "x"},
        expect=(422,),
    )
    assert again.json()["clause"] == "LT-9"


def test_other_services_ask_over_rpc(apps, played):
    ids = played["rnd"].ids
    with ClusterRpcProxy({"AMQP_URI": apps.amqp_uri}, timeout=10) as rpc:
        status = rpc.applications.application_status(ids["李明"])
        summary = rpc.applications.round_status(YEAR)
        notices = rpc.applications.notices(YEAR)
        first, second = rpc.applications.catch_up(0, 5), rpc.applications.catch_up(5, 5)
    # the catch-up feed: pages of stored events in order, as the relay publishes them (sealed)
    assert [e["global_position"] for e in first + second] == list(range(1, 11))
    assert {e["source"] for e in first + second} == {"applications"}
    submitted = [e for e in first + second if e["event_type"] == "ApplicationSubmitted"]
    assert submitted and all("enc1:" in json.dumps(e["payload"]) for e in submitted)
    assert (status["status"], status["talent_id"]) == ("certified", f"talent-{ids['李明']}")
    assert (summary["quota"], summary["certified"]) == (QUOTA, QUOTA)
    assert notices == []  # everyone on notice has since been certified
