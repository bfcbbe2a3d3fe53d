"""The subsidies service's use cases: the LT-10.1 grant on certification, its payment and its
recovery on disqualification (LT-14); the Ten Measures claims (TM-4…TM-10); the funds they are
charged to (TM-1), per source and fiscal year. Each takes the unit of work and a command, and
locks, loads, looks up, decides (``uow.run``) and appends in one transaction, returning the
recorded events; a read returns what it found.

Every decision that charges a fund runs under that fund's lock (a transaction-scoped two-key
advisory lock, ``(locks.FUND, the fund's stream)``, taken before anything is appended, so it cannot
deadlock with the store's append lock): the fund's position is read, the decider decides on it,
and the read model that sums the commitments is updated by the same append. Two decisions can
therefore never both take the last of a budget, and an event handler never meets a version
conflict it would have to dead-letter. The grant on a certification also holds the person's lock
(``locks.rule_key_lock``), so two certifications of one person are decided one after the other
and the second sees the first's grant (LT-10.1, once per person).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from services.subsidies import projections, queries
from services.subsidies.domain import claim as claim_domain
from services.subsidies.domain import fund as fund_domain
from services.subsidies.domain import grant as grant_domain
from services.subsidies.domain import measures, queue
from services.subsidies.domain.claim import DecideClaim, FileClaim, PayClaim
from services.subsidies.domain.grant import (
    DemandRecovery,
    GrantForCertification,
    GrantFromQueue,
    RecordPayment,
    RecordRepayment,
)
from services.subsidies.domain.policy import LT_SUBSIDY_MEASURE
from shared import locks
from shared.auth import OWNER_SCOPED, authorize
from shared.errors import NotFound

if TYPE_CHECKING:
    from shared.runtime.provider import UnitOfWork
    from shared.store import RecordedEvent

Row = dict[str, Any]


def grant_stream(talent_id: str) -> str:
    """The stream of a talent's LT-10.1 grant."""
    return f"grant-{LT_SUBSIDY_MEASURE}-{talent_id}"


def claim_stream(claim_id: str) -> str:
    return f"claim-{claim_id}"


def history(events: Sequence[RecordedEvent]) -> list[Row]:
    """A stream's events as a read shows them."""
    return [
        {
            "type": e.event_type,
            "version": e.stream_version,
            "payload": e.data,
            "clauses": e.clauses,
            "actor_role": e.metadata.get("actor_role"),
            "act_on": act_on(e.data),
            "recorded_at": e.recorded_at.isoformat(),
        }
        for e in events
    ]


# The act dates of the events (<past participle>_on), the first one a payload has.
ACT_DATES = (
    "paid_on",
    "repaid_on",
    "decided_on",
    "approved_on",
    "rejected_on",
    "filed_on",
    "set_on",
    "certified_on",
)


def act_on(payload: dict[str, Any]) -> Any:
    """The day the event's act happened (as against ``recorded_at``), if the payload has one."""
    return next((payload[k] for k in ACT_DATES if payload.get(k) is not None), None)


def _context(uow: UnitOfWork, **extra: Any) -> dict[str, Any]:
    """The deciders' context with the recorded extension of the Ten Measures (TM-1)."""
    return uow.context(tm_extension=uow.settings.tm_extension(), **extra)


# -- fund locks ------------------------------------------------------------------------------------
def _fund_lock(source: str, fiscal_year: int) -> tuple[int, str]:
    return (locks.FUND, fund_domain.stream_id(source, fiscal_year))


def _grant_in_turn(uow: UnitOfWork, cur: Any, source: str, fiscal_year: int) -> list[RecordedEvent]:
    """Grant the queued LT-10.1 subsidies the fund now has room for, in turn (``queue.in_turn``),
    each decided on the fund's position as the grants before it left it (the fund's lock is
    held)."""
    waiting = [
        queue.QueuedGrant(row["grant_id"], row["amount_fen"])
        for row in projections.queued_grants(cur, source, fiscal_year)
    ]
    position = projections.fund_position(cur, source, fiscal_year)
    recorded: list[RecordedEvent] = []
    for grant_id in queue.in_turn(waiting, position):
        if recorded:
            position = projections.fund_position(cur, source, fiscal_year)
        recorded += uow.run(
            grant_domain.grant,
            grant_id,
            GrantFromQueue(),
            context=uow.context(fund=position),
            cur=cur,
        )
    return recorded


# -- funds -----------------------------------------------------------------------------------------
def set_budget(
    uow: UnitOfWork, command: fund_domain.SetBudget, expected_version: int | None
) -> list[RecordedEvent]:
    """Set a fund's budget; a budget that changes moves the fund's grant queue."""
    source, year = command.source, command.fiscal_year
    with uow.locked(exclusive=[_fund_lock(source, year)]) as cur:
        context = _context(uow, fund=projections.fund_position(cur, source, year))
        events = uow.run(
            fund_domain.fund,
            fund_domain.stream_id(source, year),
            command,
            context=context,
            expected_version=expected_version,
            cur=cur,
        )
        if events:
            events += _grant_in_turn(uow, cur, source, year)
    return events


def funds(uow: UnitOfWork, fiscal_year: int | None) -> list[Row]:
    """Every fund's totals (of one fiscal year, if given)."""
    return projections.fund_totals(uow.query, fiscal_year)


def fund(uow: UnitOfWork, source: str, fiscal_year: int) -> Row:
    """One fund's totals, its grant queue and its budget's history."""
    [row] = projections.fund_totals(uow.query, fiscal_year, source) or [None]
    if row is None:
        raise NotFound(f"no budget or commitment for fund {source} {fiscal_year}")
    with uow.db.transaction() as cur:
        row["queued_grants"] = projections.queued_grants(cur, source, fiscal_year)
    row["history"] = history(uow.events.read_stream(fund_domain.stream_id(source, fiscal_year)))
    return row


def totals(uow: UnitOfWork, fiscal_year: int | None) -> Row:
    """The funds', the measures' and the pending claims' totals."""
    return {
        "fiscal_year": fiscal_year,
        "funds": projections.fund_totals(uow.query, fiscal_year),
        "measures": projections.measure_totals(uow.query, fiscal_year),
        "pending_claims": projections.pending_claims(uow.query),
    }


# -- the LT-10.1 grant -----------------------------------------------------------------------------
def grant_for_certification(
    uow: UnitOfWork, cur: Any, command: GrantForCertification
) -> list[RecordedEvent]:
    """Grant (or queue, or decline) a certified talent's subsidy, in the event handler's
    transaction ``cur``, under the lock of the fund of the certification's year and the person's
    lock (once per person, LT-10.1: the person's earlier grants are read under it)."""
    year = grant_domain.fiscal_year(command.certified_on)
    person = grant_domain.person_of(command)
    uow.hold(
        cur,
        exclusive=[
            _fund_lock(grant_domain.FUND, year),
            locks.rule_key_lock(f"subsidies.person:{person}"),
        ],
    )
    position = projections.fund_position(cur, grant_domain.FUND, year)
    context = uow.context(fund=position, person_grants=projections.person_grants(cur, person))
    return uow.run(grant_domain.grant, command.grant_id, command, context=context, cur=cur)


def demand_recovery(uow: UnitOfWork, cur: Any, command: DemandRecovery) -> list[RecordedEvent]:
    """Cancel or recover a disqualified talent's grant, in the event handler's transaction
    ``cur``; a cancellation that gives a commitment back to its fund moves the fund's queue."""
    stream = command.grant_id
    assert stream is not None  # the service names the grant's stream before it demands
    state = grant_domain.grant.replay(uow.events.read_stream(stream, cur=cur))
    fund, year = state.fund, state.fiscal_year
    if fund is None or year is None:  # nothing charged to a fund: nothing to hold or release
        return uow.run(grant_domain.grant, stream, command, cur=cur)
    uow.hold(cur, exclusive=[_fund_lock(fund, year)])  # a cancellation may release a commitment
    events = uow.run(grant_domain.grant, stream, command, cur=cur)
    if any(e.payload.get("released_fen") for e in events):
        events += _grant_in_turn(uow, cur, fund, year)
    return events


def _require_grant(uow: UnitOfWork, talent_id: str) -> None:
    if not uow.events.read_stream(grant_stream(talent_id)):
        raise NotFound(f"no grant for talent {talent_id}")


def pay_grant(
    uow: UnitOfWork, talent_id: str, command: RecordPayment, expected_version: int | None
) -> list[RecordedEvent]:
    _require_grant(uow, talent_id)
    return uow.run(
        grant_domain.grant, grant_stream(talent_id), command, expected_version=expected_version
    )


def repay_grant(
    uow: UnitOfWork, talent_id: str, command: RecordRepayment, expected_version: int | None
) -> list[RecordedEvent]:
    _require_grant(uow, talent_id)
    return uow.run(
        grant_domain.grant, grant_stream(talent_id), command, expected_version=expected_version
    )


def grant_ledger(uow: UnitOfWork, talent_id: str) -> Row:
    """A talent's grants and their history (a talent reads only their own)."""
    authorize(uow.caller, "grant.read", owner=talent_id, record="grant")
    grants = queries.grants_of(uow.query, talent_id)
    if not grants:
        raise NotFound(f"no grant for talent {talent_id}")
    return {
        "talent_id": talent_id,
        "grants": grants,
        "history": history(uow.events.read_stream(grant_stream(talent_id))),
    }


def recoveries(uow: UnitOfWork, overdue_only: bool) -> Row:
    """The recovery demands not yet met as of today (only the overdue ones, if asked); a talent
    reads only their own."""
    today: dt.date = uow.clock.today()
    caller = uow.caller
    own = caller.actor_id if caller.role in OWNER_SCOPED else None
    return {
        "today": today,
        "recoveries": projections.recoveries(
            uow.query, today, overdue_only=overdue_only, talent_id=own
        ),
    }


# -- Ten Measures claims ---------------------------------------------------------------------------
def file_claim(
    uow: UnitOfWork,
    measure: str,
    party_id: str,
    party_name: str,
    facts: Row,
    expected_version: int | None,
    filed_on: dt.date | None = None,
) -> tuple[str, list[RecordedEvent]]:
    """File a claim on the stream of its key (measure, party and period, as of its filing date):
    the claim id and the recorded events."""
    context = _context(uow, tm7_2020_rate_fen=uow.settings.tm7_2020_rate_fen)
    claim_id = measures.claim_id(measure, party_id, facts, filed_on or context["today"])
    events = uow.run(
        claim_domain.claim,
        claim_stream(claim_id),
        FileClaim(claim_id, measure, party_id, party_name, facts, filed_on),
        context=context,
        expected_version=expected_version,
    )
    return claim_id, events


def decide_claim(
    uow: UnitOfWork, claim_id: str, command: DecideClaim, expected_version: int | None
) -> list[RecordedEvent]:
    """Approve or reject a claim; an approval is charged to its measure's fund of the decision's
    fiscal year, under that fund's lock."""
    state = uow.load(claim_domain.claim, claim_stream(claim_id))[0]
    charged = claim_domain.fund_of(state.measure) if command.approve else None
    context = _context(uow)
    year = (command.decided_on or context["today"]).year
    with uow.locked(exclusive=[_fund_lock(charged, year)] if charged else []) as cur:
        if charged:
            context["fund"] = projections.fund_position(cur, charged, year)
        return uow.run(
            claim_domain.claim,
            claim_stream(claim_id),
            command,
            context=context,
            expected_version=expected_version,
            cur=cur,
            commit=True,
        )


def pay_claim(
    uow: UnitOfWork, claim_id: str, command: PayClaim, expected_version: int | None
) -> list[RecordedEvent]:
    uow.load(claim_domain.claim, claim_stream(claim_id))  # NotFound for a claim never filed
    return uow.run(
        claim_domain.claim, claim_stream(claim_id), command, expected_version=expected_version
    )


def claim(uow: UnitOfWork, claim_id: str) -> Row:
    """A claim's row, with what it was filed with and its history."""
    row = queries.claim_row(uow.query, claim_id)
    if row is None:
        raise NotFound(f"no claim {claim_id}")
    stream = uow.events.read_stream(claim_stream(claim_id))
    filed = [e for e in stream if e.event_type == "MeasureClaimFiled"][-1].data
    return {
        **row,
        "breakdown": filed["breakdown"],
        "eligibility": filed["eligibility"],
        "facts": filed["facts"],
        "history": history(stream),
    }


def claims(
    uow: UnitOfWork,
    *,
    measure: str | None = None,
    status: str | None = None,
    party_id: str | None = None,
) -> list[Row]:
    return queries.claims(uow.query, measure=measure, status=status, party_id=party_id)


# -- ledgers ---------------------------------------------------------------------------------------
def ledger(uow: UnitOfWork, party_id: str) -> Row:
    """A talent's or enterprise's grants and claims, and what they add up to."""
    found = projections.ledger(uow.query, party_id)
    if not found["grants"] and not found["claims"]:
        raise NotFound(f"no grant or claim for {party_id}")
    return found
