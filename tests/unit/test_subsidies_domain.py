"""The grant decider: the one-time 50,000 CNY entrepreneurship subsidy (LT-10.1) — granted when
prefecture finance's budget has room, queued until it has, reduced or declined for a Yixiang
talent transferred under LT-16 — its payment and, after a disqualification, cancellation (giving
the commitment back to the fund) or recovery with repayments (LT-14). Money is integer fen."""

import datetime as dt

import givenwhenthen
import pytest
from givenwhenthen import NewEvent, given, then, types

from services.subsidies.domain import policy
from services.subsidies.domain.fund import Position
from services.subsidies.domain.grant import (
    DemandRecovery,
    GrantForCertification,
    GrantFromQueue,
    RecordPayment,
    RecordRepayment,
    for_certification,
    grant,
)

D = dt.date
IDS = {"grant_id": "grant-0001", "talent_id": "talent-0001"}
CERTIFIED_ON = D(2026, 11, 23)
# a grant decision also names the person (the talent id when the certification has no person
# key) and the certification's date
DECISION = {**IDS, "person_key": "talent-0001", "certified_on": CERTIFIED_ON}
# "today" for these tests: after every act they date
LATER = D(2028, 6, 30)


def when(decider, state, command, **ctx):
    ctx.setdefault("today", LATER)
    return givenwhenthen.when(decider, state, command, **ctx)


def refused(clause, decider, state, command, **ctx):
    ctx.setdefault("today", LATER)
    return givenwhenthen.refused(clause, decider, state, command, **ctx)


FULL = 5_000_000  # 50,000.00 CNY in fen
LINE = {
    "clause": "LT-10.1",
    "amount_fen": FULL,
    "description": "one-time entrepreneurship subsidy (一次性创业补贴) from 州财政",
}


def room(fiscal_year=2026, budget=50_000_000, committed=0):
    """The prefecture-finance fund's position (default: 500,000 CNY, nothing committed)."""
    return Position("prefecture_finance", fiscal_year, budget, committed)


def granted(fiscal_year=2026, amount=FULL, breakdown=(LINE,), clauses=("LT-10.1",), ids=DECISION):
    return NewEvent(
        "SubsidyGranted",
        {
            **ids,
            "measure": "LT-10.1",
            "amount_fen": amount,
            "fiscal_year": fiscal_year,
            "fund": "prefecture_finance",
            "breakdown": list(breakdown),
        },
        clauses,
    )


def paid(on=D(2026, 12, 10)):
    return NewEvent(
        "SubsidyPaid",
        {**IDS, "amount_fen": FULL, "payment_reference": "CZ-2026-0042", "paid_on": on},
        ("LT-10.1",),
    )


def demanded(amount=FULL, due=D(2028, 1, 14), ground="LT-14.4"):
    return NewEvent(
        "SubsidyRecoveryDemanded",
        {
            **IDS,
            "amount_fen": amount,
            "ground": ground,
            "due_on": due,
            "decided_on": due - dt.timedelta(days=30),
        },
        ("LT-14", ground),
    )


def repayment(amount, outstanding, reference="HK-1", on=LATER):
    return NewEvent(
        "SubsidyRepaymentRecorded",
        {
            **IDS,
            "amount_fen": amount,
            "reference": reference,
            "outstanding_fen": outstanding,
            "repaid_on": on,
        },
        ("LT-14",),
    )


def recovered(amount=FULL):
    return NewEvent("SubsidyRecovered", {**IDS, "amount_fen": amount}, ("LT-14",))


def certification(on=CERTIFIED_ON, **kw):
    return GrantForCertification(
        grant_id="grant-0001", talent_id="talent-0001", certified_on=on, **kw
    )


def queued(
    amount=FULL, breakdown=(LINE,), reason="no budget is set for 州财政 (prefecture_finance) 2026"
):
    return NewEvent(
        "SubsidyGrantQueued",
        {
            **DECISION,
            "measure": "LT-10.1",
            "amount_fen": amount,
            "fiscal_year": 2026,
            "fund": "prefecture_finance",
            "reason": reason,
            "breakdown": list(breakdown),
        },
        ("LT-10.1",),
    )


def cancelled(ground="LT-14.4", released=None):
    extra = (
        {"released_fen": released, "fund": "prefecture_finance", "fiscal_year": 2026}
        if released
        else {}
    )
    return NewEvent("SubsidyGrantCancelled", {**IDS, "ground": ground, **extra}, ("LT-14", ground))


def test_policy_parameters():
    assert policy.LT_ENTREPRENEURSHIP_SUBSIDY_FEN == 5_000_000
    assert isinstance(policy.LT_ENTREPRENEURSHIP_SUBSIDY_FEN, int)
    assert policy.LT_SUBSIDY_MEASURE == "LT-10.1"
    assert policy.RECOVERY_DUE_DAYS == 30
    assert policy.MEASURE_FUND["LT-10.1"] == "prefecture_finance"
    assert policy.BUDGET_CLAUSE["prefecture_finance"] == "LT-10.1"
    assert policy.LT_RULES_EFFECTIVE == D(2022, 9, 1)
    assert policy.LT16_TRANSFERRED_TALENTS_GET_SUBSIDY is True


# -- grant ---------------------------------------------------------------------------------------
def test_grant_for_certification():
    events = when(grant, given(grant), certification(), fund=room())
    then(events, granted(2026))
    state = given(grant, events)
    assert (
        state.status,
        state.grant_id,
        state.talent_id,
        state.amount_fen,
        state.fund,
        state.fiscal_year,
    ) == ("granted", "grant-0001", "talent-0001", FULL, "prefecture_finance", 2026)


@pytest.mark.parametrize(
    "certified_on, fiscal_year",
    [(D(2026, 11, 23), 2026), (D(2026, 12, 31), 2026), (D(2027, 1, 1), 2027)],
)
def test_fiscal_year_is_that_of_the_certification(certified_on, fiscal_year):
    [event] = when(
        grant,
        given(grant),
        certification(certified_on),
        today=D(2027, 3, 1),
        fund=room(fiscal_year),
    )
    assert event.payload["fiscal_year"] == fiscal_year


@pytest.mark.parametrize(
    "history",
    [
        [granted()],
        [granted(), paid()],
        [granted(), paid(), demanded()],
        [granted(), cancelled("LT-14.2", FULL)],
        [queued()],
    ],
)
def test_granted_once_whatever_the_redeliveries(history):
    assert when(grant, given(grant, *history), certification(), fund=room()) == []


# -- budget (the fund's position comes in context) -------------------------------------------------
@pytest.mark.parametrize("budget, committed", [(5_000_000, 0), (50_000_000, 45_000_000)])
def test_granted_when_the_budget_has_exactly_room(budget, committed):
    then(
        when(grant, given(grant), certification(), fund=room(budget=budget, committed=committed)),
        granted(),
    )


def test_queued_when_no_budget_is_set():
    events = when(grant, given(grant), certification(), fund=room(budget=None))
    then(events, queued())
    state = given(grant, events)
    assert (state.status, state.amount_fen) == ("queued", FULL)
    refused("LT-10.1", grant, state, RecordPayment("CZ-1", D(2026, 12, 1)))


def test_queued_when_the_budget_is_one_fen_short():
    events = when(
        grant, given(grant), certification(), fund=room(budget=50_000_000, committed=45_000_001)
    )
    then(
        events,
        queued(
            reason="州财政 (prefecture_finance) 2026 has 49,999.99 CNY left of its "
            "budget of 500,000.00; 50,000.00 is needed"
        ),
    )


def test_a_new_certification_joins_the_queue_behind_those_waiting():
    """Strictly first come, first granted: room that appears goes to the queue's head first."""
    events = when(
        grant,
        given(grant),
        certification(),
        fund=Position("prefecture_finance", 2026, 50_000_000, 0, queued=2),
    )
    then(events, queued(reason="2 grant(s) wait ahead in the queue of this fund"))


def test_a_queued_grant_is_granted_when_the_budget_has_room():
    state = given(grant, queued())
    assert when(grant, state, GrantFromQueue(), fund=room(budget=4_999_999)) == []
    # the head of the queue counts itself among the queued
    events = when(
        grant,
        state,
        GrantFromQueue(),
        fund=Position("prefecture_finance", 2026, 5_000_000, 0, queued=3),
    )
    then(events, granted())
    assert given(grant, queued(), events).status == "granted"
    assert when(grant, given(grant, queued(), events), GrantFromQueue(), fund=room()) == []


@pytest.mark.parametrize("history", [[], [granted()], [cancelled()]])
def test_only_a_queued_grant_is_granted_from_the_queue(history):
    assert when(grant, given(grant, *history), GrantFromQueue(), fund=room()) == []


# -- LT-16: Yixiang talents transferred with their original period ---------------------------------
def test_transfer_is_recognised_by_origin_clause_or_period():
    certified = {"talent_id": "t-9", "period_start": D(2026, 11, 23)}
    base = dict(grant_id="g-9", certified=certified, recorded_on=D(2026, 11, 24))
    regular = for_certification(**{**base, "clauses": ["LT-9.5", "LT-10"]})
    assert (regular.transferred, regular.certified_on) == (False, D(2026, 11, 23))
    for command in (
        for_certification(**{**base, "clauses": ["LT-16", "LT-10"]}),
        for_certification(
            **{
                **base,
                "clauses": [],
                "certified": {
                    **certified,
                    "origin": "yixiang_transfer",
                    "prior_startup_subsidy_fen": 2_000_000,
                },
            }
        ),
        for_certification(
            **{**base, "clauses": [], "certified": {**certified, "period_start": D(2022, 8, 31)}}
        ),
    ):
        # charged to the year the transfer was recorded, not the year the old period began
        assert (command.transferred, command.certified_on) == (True, D(2026, 11, 24))
    assert (
        for_certification(
            **{**base, "clauses": [], "certified": {**certified, "period_start": D(2022, 9, 1)}}
        ).transferred
        is False
    )


@pytest.mark.parametrize(
    "prior, amount", [(None, FULL), (0, FULL), (2_000_000, 3_000_000), (4_999_999, 1)]
)
def test_a_transferred_talent_is_granted_50000_less_what_yixiang_paid(prior, amount):
    lines = (
        LINE,
        {
            "clause": "LT-16",
            "amount_fen": -(prior or 0),
            "description": "transferred from the Yixiang scheme: less the startup "
            "subsidy it already paid (一次性: once per person)",
        },
    )
    events = when(
        grant, given(grant), certification(transferred=True, prior_subsidy_fen=prior), fund=room()
    )
    then(events, granted(amount=amount, breakdown=lines, clauses=("LT-10.1", "LT-16")))


@pytest.mark.parametrize("prior", [5_000_000, 6_000_000])
def test_a_transferred_talent_yixiang_paid_in_full_is_declined(prior):
    events = when(
        grant,
        given(grant),
        certification(transferred=True, prior_subsidy_fen=prior),
        fund=room(budget=None),
    )
    assert types(events) == ["SubsidyGrantDeclined"] and events[0].clauses == ("LT-16", "LT-10.1")
    assert (
        events[0]
        .payload["reason"]
        .startswith(
            "transferred from the Yixiang scheme (LT-16), "
            f"which already paid {prior // 100:,}.00 CNY"
        )
    )
    state = given(grant, events)
    assert state.status == "declined"
    assert when(grant, state, certification(), fund=room()) == []
    assert when(grant, state, DemandRecovery("LT-14.4", D(2027, 1, 5))) == []


def test_a_transferred_talent_waits_in_the_queue_with_the_reduced_amount():
    lines = (
        LINE,
        {
            "clause": "LT-16",
            "amount_fen": -1_000_000,
            "description": "transferred from the Yixiang scheme: less the startup "
            "subsidy it already paid (一次性: once per person)",
        },
    )
    events = when(
        grant,
        given(grant),
        certification(transferred=True, prior_subsidy_fen=1_000_000),
        fund=room(budget=3_999_999),
    )
    assert types(events) == ["SubsidyGrantQueued"]
    assert events[0].payload["amount_fen"] == 4_000_000
    then(
        when(grant, given(grant, events), GrantFromQueue(), fund=room(budget=4_000_000)),
        granted(amount=4_000_000, breakdown=lines, clauses=("LT-10.1", "LT-16")),
    )


def test_the_other_reading_declines_every_transfer(monkeypatch):
    monkeypatch.setattr(policy, "LT16_TRANSFERRED_TALENTS_GET_SUBSIDY", False)
    [event] = when(
        grant, given(grant), certification(transferred=True, prior_subsidy_fen=0), fund=room()
    )
    assert event.event_type == "SubsidyGrantDeclined"
    assert "goes with certification under these rules" in event.payload["reason"]


# -- payment -------------------------------------------------------------------------------------
def test_pay_a_granted_subsidy():
    events = when(
        grant,
        given(grant, granted()),
        RecordPayment(payment_reference="CZ-2026-0042", paid_on=D(2026, 12, 10)),
    )
    then(events, paid(D(2026, 12, 10)))
    state = given(grant, granted(), events)
    assert (state.status, state.paid_fen) == ("paid", FULL)


@pytest.mark.parametrize(
    "history",
    [
        [],
        [granted(), paid()],
        [
            granted(),
            NewEvent("SubsidyGrantCancelled", {**IDS, "ground": "LT-14.4"}, ("LT-14", "LT-14.4")),
        ],
        [granted(), paid(), demanded()],
    ],
)
def test_pay_only_a_granted_unpaid_subsidy(history):
    refused(
        "LT-10.1",
        grant,
        given(grant, *history),
        RecordPayment(payment_reference="CZ-2", paid_on=D(2026, 12, 11)),
    )


# -- disqualification ----------------------------------------------------------------------------
def test_disqualification_before_payment_cancels_the_grant_and_releases_the_commitment():
    events = when(grant, given(grant, granted()), DemandRecovery("LT-14.4", D(2027, 12, 15)))
    then(events, cancelled("LT-14.4", released=FULL))
    state = given(grant, granted(), events)
    assert state.status == "cancelled"
    refused("LT-10.1", grant, state, RecordPayment("CZ-3", D(2027, 12, 20)))
    assert when(grant, state, DemandRecovery("LT-14.4", D(2027, 12, 16))) == []


def test_disqualification_of_a_queued_grant_cancels_it_with_nothing_to_release():
    events = when(grant, given(grant, queued()), DemandRecovery("LT-14.1", D(2027, 1, 15)))
    then(events, cancelled("LT-14.1"))
    assert when(grant, given(grant, queued(), events), GrantFromQueue(), fund=room()) == []


@pytest.mark.parametrize(
    "decided_on, due_on",
    [
        (D(2027, 12, 15), D(2028, 1, 14)),
        (D(2028, 2, 1), D(2028, 3, 2)),  # across a leap February
        (D(2027, 2, 1), D(2027, 3, 3)),
    ],
)
def test_disqualification_after_payment_demands_the_paid_amount(decided_on, due_on):
    events = when(grant, given(grant, granted(), paid()), DemandRecovery("LT-14.2", decided_on))
    then(events, demanded(FULL, due_on, "LT-14.2"))
    state = given(grant, granted(), paid(), events)
    assert (state.status, state.demanded_fen, state.outstanding_fen) == (
        "recovery_demanded",
        FULL,
        FULL,
    )


@pytest.mark.parametrize("history", [[], [granted(), paid(), demanded()]])
def test_nothing_to_recover(history):
    assert when(grant, given(grant, *history), DemandRecovery("LT-14.4", D(2028, 1, 2))) == []


def test_nothing_to_recover_once_recovered():
    history = [granted(), paid(), demanded(), repayment(FULL, 0), recovered()]
    state = given(grant, *history)
    assert state.status == "recovered"
    assert when(grant, state, DemandRecovery("LT-14.4", D(2028, 1, 2))) == []


# -- repayments ----------------------------------------------------------------------------------
def test_partial_repayments_until_recovered():
    history = [granted(), paid(), demanded()]
    first = when(grant, given(grant, *history), RecordRepayment(1_000_000, "HK-1"))
    then(first, repayment(1_000_000, 4_000_000, "HK-1"))
    history += first
    assert given(grant, *history).outstanding_fen == 4_000_000

    second = when(grant, given(grant, *history), RecordRepayment(3_999_999, "HK-2"))
    then(second, repayment(3_999_999, 1, "HK-2"))
    history += second
    state = given(grant, *history)
    assert (state.status, state.repaid_fen, state.outstanding_fen) == (
        "recovery_demanded",
        4_999_999,
        1,
    )

    last = when(grant, state, RecordRepayment(1, "HK-3"))
    then(last, repayment(1, 0, "HK-3"), recovered(FULL))
    state = given(grant, *history, *last)
    assert (state.status, state.outstanding_fen) == ("recovered", 0)
    refused("LT-14", grant, state, RecordRepayment(1, "HK-4"))


def test_repayment_in_full_at_once():
    then(
        when(grant, given(grant, granted(), paid(), demanded()), RecordRepayment(FULL, "HK-9")),
        repayment(FULL, 0, "HK-9"),
        recovered(FULL),
    )


def test_over_repayment_is_refused():
    state = given(grant, granted(), paid(), demanded(), repayment(4_000_000, 1_000_000))
    err = refused("LT-14", grant, state, RecordRepayment(1_000_001, "HK-2"))
    assert err.fields == {"amount_fen": ["At most 1000000."]}
    assert types(when(grant, state, RecordRepayment(1_000_000, "HK-2"))) == [
        "SubsidyRepaymentRecorded",
        "SubsidyRecovered",
    ]


@pytest.mark.parametrize("amount", [0, -1, -5_000_000])
def test_zero_or_negative_repayment_is_refused(amount):
    err = refused(
        "LT-14", grant, given(grant, granted(), paid(), demanded()), RecordRepayment(amount, "HK-0")
    )
    assert err.fields == {"amount_fen": ["Must be greater than 0."]}


@pytest.mark.parametrize(
    "history",
    [
        [],
        [granted()],
        [granted(), paid()],
        [
            granted(),
            NewEvent("SubsidyGrantCancelled", {**IDS, "ground": "LT-14.4"}, ("LT-14", "LT-14.4")),
        ],
    ],
)
def test_repayment_without_a_demand_is_refused(history):
    refused("LT-14", grant, given(grant, *history), RecordRepayment(100, "HK-1"))


def test_disqualification_before_certification_cancels_and_the_late_grant_grants_nothing():
    """The two events travel on different queues, so they can arrive in either order (LT-14)."""
    cancel = when(
        grant,
        given(grant),
        DemandRecovery("LT-14.2", D(2027, 1, 5), grant_id="grant-t1", talent_id="t1"),
    )
    assert types(cancel) == ["SubsidyGrantCancelled"]
    assert cancel[0].clauses == ("LT-14", "LT-14.2")
    state = given(grant, *cancel)
    assert (
        when(grant, state, GrantForCertification("grant-t1", "t1", D(2027, 1, 1)), fund=room(2027))
        == []
    )


# -- LT-10.1 once per person ---------------------------------------------------------------------
def test_the_person_is_named_by_the_certification_s_person_key():
    certified = {
        "talent_id": "t-2",
        "period_start": D(2026, 11, 23),
        "person_key": "pk-1",
        "certified_on": D(2026, 11, 20),
    }
    command = for_certification("g-2", certified, [], D(2026, 11, 25))
    assert (command.person_key, command.certified_on) == ("pk-1", D(2026, 11, 20))
    older = for_certification("g-3", {"talent_id": "t-3", "period_start": D(2026, 1, 5)}, [], LATER)
    assert (older.person_key, older.certified_on) == (None, D(2026, 1, 5))


@pytest.mark.parametrize("status", policy.LT10_1_ONCE_PER_PERSON_COUNTS)
def test_a_person_granted_once_gets_no_second_grant(status):
    """Given a person whose earlier certification's grant is ``status``, when the same person is
    certified again (another talent id), then the second grant is declined citing LT-10.1 and
    naming the earlier grant; nothing is charged to the fund."""
    earlier = [{"grant_id": "grant-LT-10.1-t-old", "talent_id": "t-old", "status": status}]
    events = when(
        grant,
        given(grant),
        certification(person_key="pk-1"),
        fund=room(),
        person_grants=earlier,
    )
    then(
        events,
        NewEvent(
            "SubsidyGrantDeclined",
            {
                **IDS,
                "person_key": "pk-1",
                "certified_on": CERTIFIED_ON,
                "measure": "LT-10.1",
                "ground": "LT-10.1",
                "earlier_grant_id": "grant-LT-10.1-t-old",
                "reason": "the one-time subsidy is paid to a person once (每人一次性): this "
                f"person's grant grant-LT-10.1-t-old (talent t-old) is {status}",
            },
            ("LT-10.1",),
        ),
    )
    state = given(grant, events)
    assert state.status == "declined"
    refused("LT-10.1", grant, state, RecordPayment("CZ-1"))


@pytest.mark.parametrize(
    "earlier",
    [
        [],
        [{"grant_id": "grant-LT-10.1-t-old", "talent_id": "t-old", "status": "cancelled"}],
        # the certification's own grant (a redelivery after a cancellation) is not "earlier"
        [{"grant_id": "grant-0001", "talent_id": "talent-0001", "status": "granted"}],
    ],
)
def test_a_grant_cancelled_before_payment_does_not_count(earlier):
    """A grant cancelled before payment paid nothing: the person's next certification is
    granted."""
    events = when(
        grant, given(grant), certification(person_key="pk-1"), fund=room(), person_grants=earlier
    )
    then(events, granted(ids={**DECISION, "person_key": "pk-1"}))


def test_a_granted_person_s_queued_grant_carries_the_person_to_its_grant():
    events = when(grant, given(grant), certification(person_key="pk-1"), fund=room(budget=None))
    assert events[0].payload["person_key"] == "pk-1"
    then(
        when(grant, given(grant, events), GrantFromQueue(), fund=room()),
        granted(ids={**DECISION, "person_key": "pk-1"}),
    )


# -- LT-16 readings and the fiscal year of a transfer ---------------------------------------------
def test_a_transfer_is_charged_no_earlier_than_the_rules_took_effect():
    [event] = when(
        grant,
        given(grant),
        certification(on=D(2021, 3, 1), transferred=True, prior_subsidy_fen=0),
        fund=room(2022),
    )
    assert event.payload["fiscal_year"] == 2022


def test_the_other_reading_does_not_deduct_what_yixiang_paid(monkeypatch):
    monkeypatch.setattr(policy, "LT16_DEDUCT_YIXIANG_SUBSIDY", False)
    [event] = when(
        grant,
        given(grant),
        certification(transferred=True, prior_subsidy_fen=2_000_000),
        fund=room(),
    )
    assert event.payload["amount_fen"] == FULL
    assert policy.LT16_DEDUCT_YIXIANG_SUBSIDY is False


# -- act dates: payment and repayments ------------------------------------------------------------
@pytest.mark.parametrize(
    "paid_on, today, error",
    [
        (D(2026, 11, 22), LATER, "Must not be before 2026-11-23."),  # before the certification
        (D(2026, 11, 24), D(2026, 11, 23), "Must not be after 2026-11-23."),
        (D(9999, 12, 31), LATER, "Must not be after 2028-06-30."),
    ],
)
def test_a_payment_is_dated_from_the_certification_to_today(paid_on, today, error):
    err = refused(
        "LT-10.1", grant, given(grant, granted()), RecordPayment("CZ", paid_on), today=today
    )
    assert err.fields == {"paid_on": [error]}


def test_a_payment_is_dated_today_by_default_and_may_be_the_certification_day():
    [event] = when(grant, given(grant, granted()), RecordPayment("CZ"))
    assert event.payload["paid_on"] == LATER
    [event] = when(grant, given(grant, granted()), RecordPayment("CZ", CERTIFIED_ON))
    assert event.payload["paid_on"] == CERTIFIED_ON


def test_a_grant_recorded_without_dates_is_paid_no_earlier_than_the_rules():
    """Grants recorded before act dates were kept still replay; their payment is bounded by the
    programme's start."""
    state = given(grant, granted(ids=IDS))
    assert state.certified_on is None
    err = refused("LT-10.1", grant, state, RecordPayment("CZ", D(2022, 8, 31)))
    assert err.fields == {"paid_on": ["Must not be before 2022-09-01."]}
    assert types(when(grant, state, RecordPayment("CZ", D(2022, 9, 1)))) == ["SubsidyPaid"]


@pytest.mark.parametrize(
    "repaid_on, error",
    [
        (D(2027, 12, 14), "Must not be before 2027-12-15."),  # before the Leading Group decided
        (LATER + dt.timedelta(days=1), "Must not be after 2028-06-30."),
    ],
)
def test_a_repayment_is_dated_from_the_disqualification_to_today(repaid_on, error):
    state = given(grant, granted(), paid(), demanded())  # decided 2027-12-15, due 2028-01-14
    err = refused("LT-14", grant, state, RecordRepayment(100, "HK", repaid_on))
    assert err.fields == {"repaid_on": [error]}
    [event] = when(grant, state, RecordRepayment(100, "HK", D(2027, 12, 15)))
    assert event.payload["repaid_on"] == D(2027, 12, 15)


def test_a_repayment_is_not_dated_before_the_one_before_it():
    state = given(
        grant, granted(), paid(), demanded(), repayment(100, FULL - 100, on=D(2028, 2, 1))
    )
    err = refused("LT-14", grant, state, RecordRepayment(100, "HK-2", D(2028, 1, 31)))
    assert err.fields == {"repaid_on": ["Must not be before 2028-02-01."]}
    [event] = when(grant, state, RecordRepayment(100, "HK-2"))
    assert event.payload["repaid_on"] == LATER


@pytest.mark.parametrize(
    "ground, says, clauses",
    [
        ("LT-10.1", "补贴每人一次性发放，本次认定不再发放（LT-10.1）", ("LT-10.1",)),
        ("LT-16", "转入后不再发放一次性创业补贴（LT-10.1、LT-16）", ("LT-10.1", "LT-16")),
        (None, "转入后不再发放一次性创业补贴（LT-10.1、LT-16）", ("LT-10.1", "LT-16")),
    ],
)
def test_the_talent_is_told_why_the_subsidy_is_declined(ground, says, clauses):
    """The notification of a decline says which rule declined it: once per person, or the
    Yixiang subsidy already paid (declines recorded without a ground are the latter)."""
    from services.notifications.domain.messages import RULES

    rule = RULES[("subsidies", "SubsidyGrantDeclined")]
    payload = {**IDS, "measure": "LT-10.1", "reason": "r", **({"ground": ground} if ground else {})}
    body = rule.body(payload, {"applicant_name": "李明"})
    assert body.startswith("李明") and says in body
    assert rule.clauses_for(payload) == clauses
