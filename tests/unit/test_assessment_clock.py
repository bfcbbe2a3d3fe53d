"""The service clock a configuration chooses (shared/clock.py) and the configured timer interval
(shared/runtime/timers.py), as the assessment service uses them."""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from shared.clock import SHANGHAI, Clock, PinnedClock, clock_for
from shared.config import load
from shared.runtime.timers import ConfiguredTimer, lock_key

ROOT = Path(__file__).resolve().parents[2]


def test_production_config_has_no_clock_key_so_it_runs_on_the_real_clock(monkeypatch):
    monkeypatch.setenv("CLOCK_TODAY", "2030-01-01")  # a stray variable cannot move it
    config = load(ROOT / "services" / "assessment" / "config.yaml")
    assert "CLOCK_TODAY" not in config
    clock = clock_for(config)
    assert type(clock) is Clock


def test_the_test_config_pins_the_date(monkeypatch):
    monkeypatch.setenv("CLOCK_TODAY", "2029-11-23")
    clock = clock_for(load(ROOT / "tests" / "support" / "assessment_pinned_clock.yaml"))
    assert isinstance(clock, PinnedClock)
    assert clock.today() == dt.date(2029, 11, 23)
    now = clock.now()
    assert now.tzinfo is dt.UTC
    assert now.astimezone(SHANGHAI).date() == dt.date(2029, 11, 23)


def test_the_test_config_without_a_date_is_refused(monkeypatch):
    monkeypatch.delenv("CLOCK_TODAY", raising=False)
    with pytest.raises(ValueError, match="CLOCK_TODAY"):
        clock_for(load(ROOT / "tests" / "support" / "assessment_pinned_clock.yaml"))


@pytest.mark.parametrize("value", ["2029-02-30", "tomorrow"])
def test_a_clock_date_that_is_not_a_date_is_refused(value):
    with pytest.raises(ValueError):
        clock_for({"CLOCK_TODAY": value})


@pytest.mark.parametrize(
    "config, interval",
    [
        ({"DEADLINE_TIMER_SECONDS": "0.5"}, 0.5),
        ({"DEADLINE_TIMER_SECONDS": 60}, 60.0),
        ({}, 3600.0),
    ],
)
def test_the_timer_interval_comes_from_configuration(config, interval):
    timer = ConfiguredTimer("DEADLINE_TIMER_SECONDS", 3600)
    timer.container = SimpleNamespace(config=config)
    timer.setup()
    assert timer.interval == interval
    assert timer.eager is True


def test_timer_lock_keys_are_per_name_and_apart_from_the_other_locks():
    assert lock_key("assessment.deadlines") != lock_key("subsidies.deadlines")
    assert lock_key("assessment.deadlines") == lock_key("assessment.deadlines")
    assert 7_356_003_000_000 <= lock_key("x") < 7_356_004_000_000
