"""WORKING_DAY_OVERRIDES as an operator writes it (LT-9.5): a year's published schedule given as a
mapping or as YAML/JSON text takes precedence over the calendar library; a schedule that cannot be
right is refused naming the year and the date, so the service does not start on it."""

import datetime as dt

import pytest

from shared.calendar import CalendarYearUnknown, WorkingDayCalendar, load_overrides

D = dt.date
# The State Council's 2026 schedule shape, transposed to a made-up 2027 for the test.
SCHEDULE_2027 = {
    2027: {
        "holidays": [
            "2027-01-01",
            "2027-10-01",
            "2027-10-04",
            "2027-10-05",
            "2027-10-06",
            "2027-10-07",
        ],
        "workdays": ["2027-09-26", "2027-10-09"],
    }
}


@pytest.mark.parametrize("value", [None, "", {}, "  "])
def test_nothing_configured_is_no_override(value):
    assert load_overrides(value) == {}


def test_a_mapping_is_normalised_to_dates():
    assert load_overrides({"2027": {"holidays": ["2027-01-01", D(2027, 10, 1)]}}) == {
        2027: {"holidays": [D(2027, 1, 1), D(2027, 10, 1)], "workdays": []}
    }


def test_json_text_as_the_environment_gives_it():
    text = '{"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-09-26"]}}'
    assert load_overrides(text) == {
        2027: {"holidays": [D(2027, 1, 1)], "workdays": [D(2027, 9, 26)]}
    }


def test_yaml_text_with_bare_dates():
    text = "2027:\n  holidays: [2027-01-01]\n  workdays: []\n"
    assert load_overrides(text) == {2027: {"holidays": [D(2027, 1, 1)], "workdays": []}}


def test_the_configured_year_replaces_the_unknown():
    calendar = WorkingDayCalendar.from_config(SCHEDULE_2027)
    assert calendar.nth_working_day(D(2027, 9, 29), 5) == D(2027, 10, 11)  # 29, 30, 8, 9 (Sat), 11
    assert calendar.is_working_day(D(2027, 9, 26)) is True  # adjusted Sunday
    with pytest.raises(CalendarYearUnknown):
        WorkingDayCalendar.from_config(None).is_working_day(D(2027, 9, 29))


@pytest.mark.parametrize(
    "value, message",
    [
        (
            {2027: {"holidays": ["2026-12-31"]}},
            "WORKING_DAY_OVERRIDES 2027 holidays: 2026-12-31 is not in 2027",
        ),
        (
            {2027: {"holidays": ["2027-10-09"], "workdays": ["2027-10-09"]}},
            "WORKING_DAY_OVERRIDES 2027: 2027-10-09 is both a holiday and a working day",
        ),
        (
            {2027: {"holidays": ["2027-13-01"]}},
            "WORKING_DAY_OVERRIDES 2027 holidays: '2027-13-01' is not a date",
        ),
        ({"next": {"holidays": []}}, "WORKING_DAY_OVERRIDES: 'next' is not a year"),
        (
            {2027: {"holiday": []}},
            "WORKING_DAY_OVERRIDES 2027: expected holidays and workdays lists",
        ),
        (
            "/nonexistent/holidays-2027.yaml",
            "WORKING_DAY_OVERRIDES: no such file '/nonexistent/holidays-2027.yaml'",
        ),
        ("[2027]", "WORKING_DAY_OVERRIDES must map years to {holidays: [...], workdays: [...]}"),
    ],
)
def test_a_schedule_that_cannot_be_right_is_refused(value, message):
    with pytest.raises(ValueError) as info:
        load_overrides(value)
    assert str(info.value) == message
