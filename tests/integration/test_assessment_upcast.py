"""Tenure histories stored under the earlier reading (policy v2: reports due within each year, a
transfer dated the day it was recorded, ``filed_on``, ``recorded_on``) in a real PostgreSQL
store: they read back upcast to the current contracts, replay under the report windows, fold
into the read models, and their chain still verifies."""

import datetime as dt

import pytest

from services.assessment.domain.tenure import FireDeadlines, tenure
from services.assessment.projections import READ_MODELS
from shared.calendar import WorkingDayCalendar
from shared.contracts import Registry, load_all
from shared.contracts import assessment as contracts
from shared.db import Database
from shared.decider import NewEvent
from shared.store import EventStore, Metadata

pytestmark = pytest.mark.integration
D = dt.date
CALENDAR = WorkingDayCalendar({2026: {"holidays": [], "workdays": []}})
META = Metadata("tester", "system", "corr-upcast", policy_version="LT-2022-09-01/v2")


def earlier_registry():
    """The assessment contracts as they were: the v1 schemas the current version upcasts from."""
    registry = Registry()
    for schema, name in (
        (contracts.TenureOpenedV1Schema, "TenureOpened"),
        (contracts.AnnualReportFiledV1Schema, "AnnualReportFiled"),
        (contracts.AssessorFindingsRecordedV1Schema, "AssessorFindingsRecorded"),
        (contracts.AssessmentPassedSchema, "AssessmentPassed"),
    ):
        registry.register("assessment", schema, name=name)
    return registry


def opened(talent, **extra):
    return NewEvent(
        "TenureOpened",
        {
            "talent_id": talent,
            "county": "楚雄市",
            "track": "influencer",
            "period_start": D(2025, 6, 1),
            "period_end": D(2028, 5, 31),
            "baseline_year": 2024,
            "baseline": {"followers": 100_000, "exposure": 1_000_000},
            "origin": "selection",
            "years": [
                {
                    "tenure_year": n,
                    "starts_on": D(2024 + n, 6, 1),
                    "ends_on": D(2025 + n, 5, 31),
                    "report_due_on": D(2025 + n, 5, 31),
                    "assessed": True,
                }
                for n in (1, 2, 3)
            ],
            **extra,
        },
        ("LT-10", "LT-11"),
    )


def test_a_history_of_the_earlier_reading_reads_replays_folds_and_verifies(fresh_db):
    db = Database(fresh_db("upcast"))
    try:
        old = EventStore(db, "assessment", registry=earlier_registry())
        old.migrate()
        old.append(
            "tenure",
            "tenure-t-1",
            0,
            [
                opened("t-1"),
                NewEvent(
                    "AnnualReportFiled",
                    {
                        "talent_id": "t-1",
                        "tenure_year": 1,
                        "figures": {"followers": 110_000, "exposure": 1_100_000},
                        "promotion_activities": 1,
                        "backbones_trained": 5,
                        "full_time_in_chuxiong": True,
                        "filed_on": D(2026, 5, 20),
                    },
                    ("LT-11.1", "LT-12"),
                ),
                NewEvent(
                    "AssessorFindingsRecorded",
                    {
                        "talent_id": "t-1",
                        "tenure_year": 1,
                        "ability_clearly_improved": True,
                        "influence_further_increased": False,
                        "note": "",
                        "recorded_on": D(2026, 5, 25),
                    },
                    ("LT-11.1", "LT-13"),
                ),
            ],
            META,
        )
        old.append(
            "tenure",
            "tenure-t-2",
            0,
            [
                opened(
                    "t-2",
                    origin="yixiang_transfer",
                    period_start=D(2020, 1, 10),
                    period_end=D(2023, 1, 9),
                    transferred_on=D(2022, 9, 5),
                    years=[],
                )
            ],
            META,
        )

        current = EventStore(db, "assessment", registry=load_all())
        events = current.read_stream("tenure-t-1")
        assert [e.schema_version for e in events] == [1, 1, 1]  # never rewritten
        assert events[1].payload["reported_on"] == D(2026, 5, 20)
        assert events[2].payload["found_on"] == D(2026, 5, 25)
        state = tenure.replay(events)
        assert [(y["window_opens_on"], y["report_due_on"]) for y in state.years] == [
            (D(2026, 6, 1), D(2026, 7, 30)),
            (D(2027, 6, 1), D(2027, 7, 30)),
            (D(2028, 6, 1), D(2028, 7, 30)),
        ]
        assert state.last_act_on == D(2026, 5, 25)
        # the year reported under the earlier reading is graded when its new window closes
        graded = tenure.decide(
            FireDeadlines(), state, {"today": D(2026, 8, 1), "calendar": CALENDAR}
        )
        assert [(e.event_type, e.payload["assessed_on"]) for e in graded] == [
            ("AssessmentPassed", D(2026, 7, 31))
        ]
        transfer = current.read_stream("tenure-t-2")[0].payload
        assert (transfer.get("transferred_on"), transfer["transfer_recorded_on"]) == (
            None,
            D(2022, 9, 5),
        )
        assert [y["assessed"] for y in tenure.replay(current.read_stream("tenure-t-2")).years] == [
            False,
            False,
            True,
        ]

        fold = READ_MODELS[0].fold()
        for event in current.read_all():
            fold.apply(event)
        columns, rows = fold.tables()["tenure_year_view"]
        years = {
            (r["talent_id"], r["tenure_year"]): r for r in (dict(zip(columns, row)) for row in rows)
        }
        assert years[("t-1", 1)]["reported_on"] == D(2026, 5, 20)
        assert years[("t-1", 1)]["window_opens_on"] == D(2026, 6, 1)
        assert years[("t-2", 3)]["window_opens_on"] == D(2023, 1, 10)
        assert current.verify().ok and current.verify().checked == 4
    finally:
        db.close()
