"""The selection round (LT-3, LT-8: one a year, quota at most 10) and the Yixiang scheme's people:
former applicants excluded (LT-10), talents still in their training period transferred with their
original period (LT-16)."""

import datetime as dt

import pytest
from givenwhenthen import NewEvent, given, refused, then, types, when

from services.applications.domain import policy
from services.applications.domain.round import OpenRound, selection_round
from services.applications.domain.yixiang import (
    RegisterFormerApplicant,
    TransferTalent,
    transfer_application_id,
    yixiang_person,
)

D = dt.date


def open_round(year=2026, quota=10, opens=D(2026, 3, 1), closes=D(2026, 4, 30)):
    return OpenRound(year, quota, opens, closes)


def opened(year=2026, quota=10, opens=D(2026, 3, 1), closes=D(2026, 4, 30)):
    return NewEvent(
        "RoundOpened",
        {
            "year": year,
            "quota": quota,
            "window_opens": opens,
            "window_closes": closes,
            "opened_on": D(2026, 11, 23),
        },
        ("LT-3", "LT-8"),
    )


# -- rounds ----------------------------------------------------------------------------------
def test_a_round_opens_once_a_year():
    then(when(selection_round, given(selection_round), open_round()), opened())
    state = given(selection_round, opened())
    assert (state.year, state.quota, state.window_opens, state.window_closes) == (
        2026,
        10,
        D(2026, 3, 1),
        D(2026, 4, 30),
    )
    err = refused("LT-8", selection_round, state, open_round(quota=5))
    assert err.fields == {"year": ["A round for this year exists."]}


@pytest.mark.parametrize("quota, ok", [(0, False), (1, True), (10, True), (11, False)])
def test_the_quota_is_at_most_ten(quota, ok):
    if ok:
        assert types(when(selection_round, given(selection_round), open_round(quota=quota))) == [
            "RoundOpened"
        ]
    else:
        err = refused("LT-8", selection_round, given(selection_round), open_round(quota=quota))
        assert err.fields == {"quota": ["Must be between 1 and 10."]}


@pytest.mark.parametrize(
    "year, ok",
    [(2021, False), (2022, True), (2026, True), (2027, True), (2028, False), (9999, False)],
)
def test_rounds_run_from_2022_to_the_year_after_today(year, ok):
    """Given today 2026-11-23, a round is opened for 2022 up to 2027 (ROUND_YEARS_AHEAD = 1)."""
    command = open_round(year=year, opens=D(2022, 9, 1), closes=D(2022, 12, 31))
    if ok:
        assert types(when(selection_round, given(selection_round), command)) == ["RoundOpened"]
    else:
        err = refused("LT-3", selection_round, given(selection_round), command)
        assert err.fields == {"year": ["Must be from 2022 to 2027."]}


@pytest.mark.parametrize(
    "day, ok",
    [
        (D(2022, 8, 31), False),
        (D(2022, 9, 1), True),
        (D(2026, 11, 23), True),
        (D(2026, 11, 24), False),
    ],
)
def test_a_round_is_opened_on_its_own_date(day, ok):
    command = OpenRound(2023, 10, D(2023, 3, 1), D(2023, 4, 30), opened_on=day)
    if ok:
        [event] = when(selection_round, given(selection_round), command)
        assert event.payload["opened_on"] == day
    else:
        err = refused("LT-3", selection_round, given(selection_round), command)
        assert err.fields == {"opened_on": ["Must be from 2022-09-01 to today."]}


@pytest.mark.parametrize(
    "opens, closes, ok, field",
    [
        (D(2022, 8, 31), D(2022, 12, 31), False, "window_opens"),
        (D(2022, 9, 1), D(2023, 12, 31), True, None),  # the end of the year after the round's
        (D(2022, 9, 1), D(2024, 1, 1), False, "window_closes"),
        (D(2022, 9, 1), D(9999, 12, 31), False, "window_closes"),
    ],
)
def test_the_window_is_bounded(opens, closes, ok, field):
    command = open_round(year=2022, opens=opens, closes=closes)
    if ok:
        assert types(when(selection_round, given(selection_round), command)) == ["RoundOpened"]
    else:
        err = refused("LT-8", selection_round, given(selection_round), command)
        assert list(err.fields) == [field]


def test_the_window_does_not_close_before_it_opens():
    refused(
        "LT-8",
        selection_round,
        given(selection_round),
        open_round(opens=D(2026, 5, 1), closes=D(2026, 4, 30)),
    )
    state = given(selection_round, opened(opens=D(2026, 5, 1), closes=D(2026, 5, 1)))
    assert state.accepts(D(2026, 5, 1)) and not state.accepts(D(2026, 5, 2))


# -- former Yixiang applicants (LT-10) ---------------------------------------------------------
def test_a_former_applicant_is_registered_once():
    command = RegisterFormerApplicant("pk-1", "532301********1234", "王芳", 2021)
    registered = NewEvent(
        "YixiangApplicantRegistered",
        {
            "person_key": "pk-1",
            "id_number_masked": "532301********1234",
            "name": "王芳",
            "applied_year": 2021,
        },
        ("LT-10",),
    )
    then(when(yixiang_person, given(yixiang_person), command), registered)
    assert when(yixiang_person, given(yixiang_person, registered), command) == []


# -- transfer of Yixiang talents (LT-16) ---------------------------------------------------------
def transfer(start=D(2021, 6, 1), end=D(2024, 5, 31), subsidy=0, code="91532301MA6N0XKX1E"):
    return TransferTalent(
        talent_id="talent-yixiang-YX2021-03",
        yixiang_talent_id="YX2021-03",
        person_key="pk-2",
        id_number_masked="532322********567X",
        name="张红",
        county="双柏县",
        enterprise_name="双柏县红土电子商务有限公司",
        enterprise_code=code,
        category="LT-6.2",
        baseline_year=2020,
        baseline={"sales_fen": 40_000_000, "followers": 9},
        period_start=start,
        period_end=end,
        prior_startup_subsidy_fen=subsidy,
    )


def test_a_talent_still_in_the_period_transfers_with_it():
    events = when(yixiang_person, given(yixiang_person), transfer(), today=D(2022, 9, 1))
    common = {
        "talent_id": "talent-yixiang-YX2021-03",
        "county": "双柏县",
        "category": "LT-6.2",
        "track": "seller",
        "baseline_year": 2020,
        "baseline": {"sales_fen": 40_000_000},
        "period_start": D(2021, 6, 1),
        "period_end": D(2024, 5, 31),
        "enterprise_name": "双柏县红土电子商务有限公司",
        "enterprise_code": "91532301MA6N0XKX1E",
    }
    then(
        events,
        NewEvent(
            "YixiangTalentTransferred",
            {
                **common,
                "yixiang_talent_id": "YX2021-03",
                "person_key": "pk-2",
                "id_number_masked": "532322********567X",
                "name": "张红",
                "transferred_on": D(2022, 9, 1),
                "prior_startup_subsidy_fen": 0,
            },
            ("LT-16",),
        ),
        NewEvent(
            "TalentCertified",
            {
                **common,
                "application_id": "yixiang-YX2021-03",
                "applicant_name": "张红",
                "origin": "yixiang_transfer",
                "prior_startup_subsidy_fen": 0,
                "person_key": "pk-2",
                "transferred_on": D(2022, 9, 1),
            },
            ("LT-16", "LT-10", "LT-10.1"),
        ),
    )
    assert transfer_application_id("YX2021-03") == "yixiang-YX2021-03"
    state = given(yixiang_person, *events)
    assert state.talent_id == "talent-yixiang-YX2021-03" and state.registered
    refused("LT-16", yixiang_person, state, transfer(), today=D(2022, 9, 1))


@pytest.mark.parametrize(
    "start, end, today, ok",
    [
        # the period ran on 2022-09-01: it transfers, whenever recorded
        (D(2020, 1, 10), D(2023, 1, 9), D(2023, 1, 10), True),
        (D(2020, 1, 10), D(2023, 1, 9), D(2026, 11, 23), True),
        (D(2020, 1, 1), D(2022, 9, 1), D(2026, 11, 23), True),  # its last day was 2022-09-01
        (D(2020, 1, 1), D(2022, 8, 31), D(2022, 9, 1), False),  # over the day before
        (D(2021, 6, 1), D(2024, 5, 31), D(2022, 9, 1), True),
    ],
)
def test_the_transfer_is_judged_on_the_day_the_rules_took_effect(start, end, today, ok):
    """Given a Yixiang period, when the transfer is recorded on ``today``, then it transfers if
    the period had not ended on 2022-09-01 (LT-16 自动转入), effective that day."""
    command = transfer(start=start, end=end)
    if ok:
        moved, certified = when(yixiang_person, given(yixiang_person), command, today=today)
        assert moved.payload["transferred_on"] == D(2022, 9, 1)
        assert certified.payload["transferred_on"] == D(2022, 9, 1)
        assert (certified.payload["period_start"], certified.payload["period_end"]) == (
            command.period_start,
            end,
        )
        assert "certified_on" not in certified.payload
    else:
        err = refused("LT-16", yixiang_person, given(yixiang_person), command, today=today)
        assert err.fields == {"period_end": ["Must not be before 2022-09-01."]}


@pytest.mark.parametrize(
    "start, end, baseline_year, field",
    [
        (D(2019, 12, 31), D(2022, 12, 30), 2019, "period_start"),  # before the Yixiang scheme
        (D(2020, 1, 10), D(2023, 1, 10), 2019, "period_end"),  # longer than three years
        (D(2020, 1, 10), D(9999, 12, 31), 2019, "period_end"),
        (D(2021, 6, 1), D(2024, 5, 31), 2018, "baseline_year"),
        (D(2021, 6, 1), D(2024, 5, 31), 2022, "baseline_year"),
    ],
)
def test_the_yixiang_record_is_bounded(start, end, baseline_year, field):
    command = TransferTalent(
        **{**transfer(start=start, end=end).__dict__, "baseline_year": baseline_year}
    )
    err = refused("LT-16", yixiang_person, given(yixiang_person), command, today=D(2026, 11, 23))
    assert list(err.fields) == [field]


@pytest.mark.parametrize("start, ok", [(D(2022, 8, 31), True), (D(2022, 9, 1), False)])
def test_a_yixiang_period_started_before_the_scheme_was_abolished(start, ok):
    command = transfer(start=start, end=D(2025, 8, 30))
    if ok:
        [_, certified] = when(yixiang_person, given(yixiang_person), command, today=D(2023, 1, 1))
        assert certified.payload["period_start"] == start
    else:
        err = refused("LT-16", yixiang_person, given(yixiang_person), command, today=D(2023, 1, 1))
        assert err.fields == {"period_start": ["Must be before 2022-09-01."]}
    assert policy.EFFECTIVE_DATE == D(2022, 9, 1)


def test_a_transfer_records_what_the_yixiang_scheme_already_paid():
    [_, certified] = when(
        yixiang_person, given(yixiang_person), transfer(subsidy=3_000_000), today=D(2023, 1, 1)
    )
    assert certified.payload["prior_startup_subsidy_fen"] == 3_000_000


def test_a_registered_former_applicant_can_still_be_transferred():
    registered = when(
        yixiang_person,
        given(yixiang_person),
        RegisterFormerApplicant("pk-2", "532322********567X", "张红", 2021),
    )
    state = given(yixiang_person, *registered)
    assert types(when(yixiang_person, state, transfer(code=None), today=D(2023, 1, 1))) == [
        "YixiangTalentTransferred",
        "TalentCertified",
    ]
