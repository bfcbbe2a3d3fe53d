"""Events recorded under policy LT-2022-09-01/v2 (before the proposal stage, certified_on and
person_key, and with a Yixiang transfer dated the day it was recorded) still decode, replay in
the deciders and fold into the read models under v3: given a v2 history, then the state and the
rows a v3 reader needs."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from givenwhenthen import CONTRACTS, NewEvent, given

from services.applications.domain.application import application
from services.applications.domain.yixiang import yixiang_person
from services.applications.projections import ApplicationsView, RegistryView

D = dt.date
APP = "app-v2"
STAGES_V2 = (
    "county_recommendation",
    "qualification_review",
    "expert_review",
    "inspection",
    "approval",
    "standing_committee",
)


def v2_history():
    """As the v2 service stored it (JSON), oldest first."""
    submitted = {
        "application_id": APP,
        "round_year": 2023,
        "county": "楚雄市",
        "applicant_name": "李明",
        "enterprise_name": "楚雄彝绣电子商务有限公司",
        "category": "LT-6.4",
        "evidence": {"sales_fen": 12_000_000},
        "submitted_on": "2023-03-02",
        "person_key": "pk-v2",
    }
    events = [("ApplicationSubmitted", submitted)]
    events.append(
        (
            "EligibilityAssessed",
            {"application_id": APP, "eligible": True, "failed": [], "checks": []},
        )
    )
    for i, stage in enumerate(STAGES_V2):
        payload = {
            "application_id": APP,
            "stage": stage,
            "opinion": "同意",
            "decided_on": f"2023-04-{10 + i:02d}",
        }
        if stage == "county_recommendation":
            payload["county_opinions"] = [
                {"body": b, "agrees": True, "opinion": "同意", "signed_on": "2023-04-09"}
                for b in (
                    "organisation_department",
                    "two_new_committee",
                    "finance",
                    "human_resources",
                    "agriculture",
                    "commerce",
                )
            ]
        if stage == "expert_review":
            payload["expert_score"] = "88.00"
        events.append(("ReviewPassed", payload))
    events.append(
        (
            "PublicNoticeStarted",
            {
                "application_id": APP,
                "start_date": "2023-05-04",
                "end_date": "2023-05-10",
                "working_days": 5,
            },
        )
    )
    events.append(
        (
            "TalentCertified",
            {  # v2: dated the day it was recorded, no certified_on, no person_key
                "talent_id": "talent-v2",
                "application_id": APP,
                "applicant_name": "李明",
                "county": "楚雄市",
                "category": "LT-6.4",
                "track": "seller",
                "baseline_year": 2022,
                "baseline": {"sales_fen": 12_000_000},
                "period_start": "2023-05-12",
                "period_end": "2026-05-11",
                "origin": "selection",
                "round_year": 2023,
                "enterprise_name": "楚雄彝绣电子商务有限公司",
            },
        )
    )
    return [(kind, CONTRACTS.decode(kind, 1, data)) for kind, data in events]


@dataclass(frozen=True)
class Recorded:
    event_type: str
    payload: dict[str, Any]
    stream_version: int
    event_id: str = ""
    stream_type: str = "application"
    stream_id: str = f"application-{APP}"
    global_position: int = 0
    metadata: dict[str, Any] | None = None
    recorded_at: dt.datetime = dt.datetime(2023, 5, 12, 9, tzinfo=dt.UTC)
    clauses: tuple = ()


def test_a_v2_application_replays_to_the_same_state():
    events = v2_history()
    state = given(application, *[NewEvent(kind, payload, ()) for kind, payload in events])
    assert (state.status, state.talent_id, state.next_stage) == ("certified", "talent-v2", None)
    assert state.last_decided_on == D(2023, 5, 12)  # certified_on read from period_start
    inspected = given(application, *[NewEvent(k, p, ()) for k, p in events[:6]])
    assert inspected.next_stage == "proposal"  # a v2 candidate not yet approved goes on from here


def test_a_v2_application_folds_into_the_v3_read_models():
    """Given the v2 history, then the row has the person, the v3 stage count (approval is the
    sixth stage), the certification date from period_start, and the talent's person is found
    through the application."""
    views, registry = ApplicationsView().fold(), RegistryView().fold()
    for version, (kind, payload) in enumerate(v2_history(), start=1):
        event = Recorded(kind, payload, version)
        views.apply(event)
        registry.apply(event)
    columns, [row] = views.tables()["applications_view"]
    got = dict(zip(columns, row))
    assert (got["status"], got["stages_passed"], got["person_key"]) == ("certified", 7, "pk-v2")
    assert (got["certified_on"], got["last_act_on"]) == (D(2023, 5, 12), D(2023, 5, 12))
    assert got["proposal_rank"] is None and got["opinions_against"] is None
    columns, [talent] = registry.tables()["talents_view"]
    assert dict(zip(columns, talent))["person_key"] is None  # found through applications_view


def test_a_v2_yixiang_transfer_still_decodes_with_its_recorded_date():
    moved = CONTRACTS.decode(
        "YixiangTalentTransferred",
        1,
        {
            "talent_id": "talent-yixiang-YX1",
            "yixiang_talent_id": "YX1",
            "person_key": "pk-yx",
            "id_number_masked": "532322********567X",
            "name": "张红",
            "county": "双柏县",
            "enterprise_name": "双柏县红土电子商务有限公司",
            "category": "LT-6.2",
            "track": "seller",
            "baseline_year": 2020,
            "baseline": {"sales_fen": 40_000_000},
            "period_start": "2021-06-01",
            "period_end": "2024-05-31",
            "transferred_on": "2023-01-05",
            "prior_startup_subsidy_fen": 0,
        },
    )
    state = given(yixiang_person, NewEvent("YixiangTalentTransferred", moved, ()))
    assert (state.talent_id, moved["transferred_on"]) == ("talent-yixiang-YX1", D(2023, 1, 5))
