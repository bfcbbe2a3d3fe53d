"""Read models of the subsidies service, built from its own events inside the appends' transactions
(so never behind them) and rebuildable from zero: the LT-10.1 grants, the Ten Measures claims and
the funds (budget and what is committed against it). Each is defined once (``shared.readmodel``):
the live path's statements and talent-audit's bulk replay both come from that definition. The
read queries over them are here too."""

from __future__ import annotations

from services.subsidies.domain.fund import Position
from shared.readmodel import Add, Event, ReadModel, Rows, Table, on

GRANTS, CLAIMS, FUNDS = "grants_view", "claims_view", "funds_view"


class GrantsView(ReadModel):
    """One row per LT-10.1 grant (per talent), from the events of grant streams; ``person_key``
    names the person it is paid to once (the talent id for grants decided without one), and
    ``certified_on`` the certification it was decided on."""

    tables = (
        Table(
            GRANTS,
            key=("grant_id",),
            columns=(
                "grant_id",
                "talent_id",
                "measure",
                "fiscal_year",
                "status",
                "amount_fen",
                "paid_fen",
                "demanded_fen",
                "repaid_fen",
                "due_on",
                "version",
                "updated_at",
                "fund",
                "queued_position",
                "reason",
                "paid_on",
                "payment_reference",
                "person_key",
                "certified_on",
            ),
            defaults={"paid_fen": 0, "demanded_fen": 0, "repaid_fen": 0},
        ),
    )
    migrations = [
        (
            "grants_view_0001",
            """
        CREATE TABLE grants_view (
            grant_id       text PRIMARY KEY,
            talent_id      text NOT NULL,
            measure        text NOT NULL,
            fiscal_year    integer NOT NULL,
            status         text NOT NULL,
            amount_fen     bigint NOT NULL,
            paid_fen       bigint NOT NULL DEFAULT 0,
            demanded_fen   bigint NOT NULL DEFAULT 0,
            repaid_fen     bigint NOT NULL DEFAULT 0,
            due_on         date,
            version        integer NOT NULL,
            updated_at     timestamptz NOT NULL
        );
        CREATE INDEX grants_view_talent ON grants_view (talent_id);
    """,
        ),
        (
            "grants_view_0002_funds_and_queue",
            """
        ALTER TABLE grants_view ALTER COLUMN fiscal_year DROP NOT NULL,
            ADD COLUMN fund text,
            ADD COLUMN queued_position bigint,
            ADD COLUMN reason text,
            ADD COLUMN paid_on date,
            ADD COLUMN payment_reference text;
        CREATE INDEX grants_view_queue ON grants_view (fund, fiscal_year, queued_position)
            WHERE status = 'queued';
    """,
        ),
        (
            "grants_view_0003_person",
            """
        ALTER TABLE grants_view ADD COLUMN person_key text, ADD COLUMN certified_on date;
        UPDATE grants_view SET person_key = talent_id;
        CREATE INDEX grants_view_person ON grants_view (person_key);
    """,
        ),
    ]
    _DECIDED = {
        "SubsidyGrantQueued": "queued",
        "SubsidyGranted": "granted",
        "SubsidyGrantDeclined": "declined",
    }

    @on(*_DECIDED)
    def decided(self, event: Event, rows: Rows) -> None:
        if event.stream_type != "grant":
            return
        p = event.payload
        status = self._DECIDED[event.event_type]
        values = {
            "status": status,
            "amount_fen": p.get("amount_fen", 0),
            "fiscal_year": p.get("fiscal_year"),
            "fund": p.get("fund"),
            "reason": p.get("reason"),
            "person_key": p.get("person_key") or p["talent_id"],
            "certified_on": p.get("certified_on"),
            "version": event.stream_version,
            "updated_at": event.recorded_at,
        }
        # a queued grant keeps its place in the queue (its first queueing's position)
        rows.upsert(
            GRANTS,
            {
                "grant_id": p["grant_id"],
                "talent_id": p["talent_id"],
                "measure": p["measure"],
                "queued_position": event.global_position if status == "queued" else None,
                **values,
            },
            update=values,
        )

    @on("SubsidyPaid")
    def paid(self, event: Event, rows: Rows) -> None:
        if event.stream_type != "grant":
            return
        p = event.payload
        _grant(
            rows,
            event,
            {
                "status": "paid",
                "paid_on": p["paid_on"],
                "payment_reference": p["payment_reference"],
            },
            {"paid_fen": Add(p["amount_fen"])},
        )

    @on("SubsidyGrantCancelled")
    def cancelled(self, event: Event, rows: Rows) -> None:
        if event.stream_type != "grant":
            return
        p = event.payload
        if event.stream_version == 1:  # before any grant
            rows.insert(
                GRANTS,
                {
                    "grant_id": p["grant_id"],
                    "talent_id": p["talent_id"],
                    "measure": "LT-10.1",
                    "status": "cancelled",
                    "amount_fen": 0,
                    "reason": p["ground"],
                    "person_key": p["talent_id"],
                    "version": event.stream_version,
                    "updated_at": event.recorded_at,
                },
            )
        else:
            _grant(rows, event, {"status": "cancelled", "reason": p["ground"]})

    @on("SubsidyRecoveryDemanded")
    def recovery_demanded(self, event: Event, rows: Rows) -> None:
        if event.stream_type != "grant":
            return
        p = event.payload
        _grant(
            rows,
            event,
            {
                "status": "recovery_demanded",
                "demanded_fen": p["amount_fen"],
                "due_on": p["due_on"],
                "reason": p["ground"],
            },
        )

    @on("SubsidyRepaymentRecorded")
    def repaid(self, event: Event, rows: Rows) -> None:
        if event.stream_type == "grant":
            _grant(rows, event, {}, {"repaid_fen": Add(event.payload["amount_fen"])})

    @on("SubsidyRecovered")
    def recovered(self, event: Event, rows: Rows) -> None:
        if event.stream_type == "grant":
            _grant(rows, event, {"status": "recovered"})


def _grant(rows: Rows, event: Event, values: dict, computed: dict | None = None) -> None:
    """``values`` and ``computed`` set on the event's grant, with its version and time."""
    values["version"], values["updated_at"] = event.stream_version, event.recorded_at
    rows.update(GRANTS, event.payload["grant_id"], values, computed)


class ClaimsView(ReadModel):
    """One row per Ten Measures claim (per measure, party and period)."""

    tables = (
        Table(
            CLAIMS,
            key=("claim_id",),
            columns=(
                "claim_id",
                "measure",
                "party_id",
                "party_name",
                "kind",
                "status",
                "amount_fen",
                "fund",
                "fiscal_year",
                "filed_on",
                "decided_on",
                "paid_fen",
                "paid_on",
                "payment_reference",
                "version",
                "updated_at",
            ),
            defaults={"paid_fen": 0},
        ),
    )
    migrations = [
        (
            "claims_view_0001",
            """
        CREATE TABLE claims_view (
            claim_id          text PRIMARY KEY,
            measure           text NOT NULL,
            party_id          text NOT NULL,
            party_name        text NOT NULL,
            kind              text NOT NULL,
            status            text NOT NULL,
            amount_fen        bigint NOT NULL,
            fund              text,
            fiscal_year       integer,
            filed_on          date NOT NULL,
            decided_on        date,
            paid_fen          bigint NOT NULL DEFAULT 0,
            paid_on           date,
            payment_reference text,
            version           integer NOT NULL,
            updated_at        timestamptz NOT NULL
        );
        CREATE INDEX claims_view_party ON claims_view (party_id);
        CREATE INDEX claims_view_measure ON claims_view (measure, status);
    """,
        )
    ]

    @on("MeasureClaimFiled")  # a first filing, or a corrected one after a rejection
    def filed(self, event: Event, rows: Rows) -> None:
        if event.stream_type != "claim":
            return
        p = event.payload
        values = {
            "status": "filed",
            "party_name": p["party_name"],
            "kind": p["kind"],
            "amount_fen": p["amount_fen"],
            "filed_on": p["filed_on"],
            "version": event.stream_version,
            "updated_at": event.recorded_at,
        }
        rows.upsert(
            CLAIMS,
            {
                "claim_id": p["claim_id"],
                "measure": p["measure"],
                "party_id": p["party_id"],
                **values,
            },
            update={**values, "decided_on": None},
        )

    @on("MeasureClaimApproved")
    def approved(self, event: Event, rows: Rows) -> None:
        if event.stream_type != "claim":
            return
        p = event.payload
        _claim(
            rows,
            event,
            {
                "status": "approved",
                "fund": p["fund"],
                "fiscal_year": p["fiscal_year"],
                "decided_on": p["approved_on"],
            },
        )

    @on("MeasureClaimRejected")
    def rejected(self, event: Event, rows: Rows) -> None:
        if event.stream_type == "claim":
            _claim(rows, event, {"status": "rejected", "decided_on": event.payload["rejected_on"]})

    @on("MeasureClaimPaid")
    def paid(self, event: Event, rows: Rows) -> None:
        if event.stream_type != "claim":
            return
        p = event.payload
        _claim(
            rows,
            event,
            {
                "status": "paid",
                "paid_fen": p["amount_fen"],
                "paid_on": p["paid_on"],
                "payment_reference": p["payment_reference"],
            },
        )


def _claim(rows: Rows, event: Event, values: dict) -> None:
    """``values`` set on the event's claim, with its version and time."""
    values["version"], values["updated_at"] = event.stream_version, event.recorded_at
    rows.update(CLAIMS, event.payload["claim_id"], values)


class FundsView(ReadModel):
    """One row per fund (source and fiscal year): its budget and what decisions committed."""

    tables = (
        Table(
            FUNDS,
            key=("fund", "fiscal_year"),
            columns=("fund", "fiscal_year", "budget_fen", "committed_fen", "updated_at"),
            defaults={"committed_fen": 0},
        ),
    )
    migrations = [
        (
            "funds_view_0001",
            """
        CREATE TABLE funds_view (
            fund           text NOT NULL,
            fiscal_year    integer NOT NULL,
            budget_fen     bigint,
            committed_fen  bigint NOT NULL DEFAULT 0,
            updated_at     timestamptz NOT NULL,
            PRIMARY KEY (fund, fiscal_year)
        );
    """,
        )
    ]

    @on("BudgetSet")
    def budget_set(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.upsert(
            FUNDS,
            {
                "fund": p["fund"],
                "fiscal_year": p["fiscal_year"],
                "budget_fen": p["amount_fen"],
                "committed_fen": 0,
                "updated_at": event.recorded_at,
            },
            update={"budget_fen": p["amount_fen"], "updated_at": event.recorded_at},
        )

    @on("SubsidyGranted", "MeasureClaimApproved")
    def committed(self, event: Event, rows: Rows) -> None:
        p = event.payload
        if p.get("fund"):
            _commit(rows, event, p["amount_fen"])

    @on("SubsidyGrantCancelled")
    def released(self, event: Event, rows: Rows) -> None:
        p = event.payload
        if p.get("released_fen"):
            _commit(rows, event, -p["released_fen"])


def _commit(rows: Rows, event: Event, amount: int) -> None:
    """``amount`` more committed against the event's fund (a row without a budget if new)."""
    p = event.payload
    rows.upsert(
        FUNDS,
        {
            "fund": p["fund"],
            "fiscal_year": p["fiscal_year"],
            "budget_fen": None,
            "committed_fen": amount,
            "updated_at": event.recorded_at,
        },
        update={"updated_at": event.recorded_at},
        computed={"committed_fen": Add(amount)},
    )


# -- queries ---------------------------------------------------------------------------------------
def fund_position(cur, source, fiscal_year):
    """The fund's position as committed so far (call it under the fund's lock to decide on it)."""
    cur.execute(
        "SELECT f.budget_fen, f.committed_fen, (SELECT count(*) FROM grants_view g"
        "  WHERE g.status = 'queued' AND g.fund = %s AND g.fiscal_year = %s)"
        " FROM (SELECT 1) AS one LEFT JOIN funds_view f"
        " ON f.fund = %s AND f.fiscal_year = %s",
        (source, fiscal_year) * 2,
    )
    budget, committed, queued = cur.fetchone()
    return Position(source, fiscal_year, budget, committed or 0, queued)


def person_grants(cur, person_key):
    """The grant decisions recorded for a person (LT-10.1, once per person), oldest first."""
    cur.execute(
        "SELECT grant_id, talent_id, status FROM grants_view WHERE person_key = %s"
        " ORDER BY updated_at, grant_id",
        (person_key,),
    )
    columns = [c.name for c in cur.description]
    return [dict(zip(columns, row)) for row in cur.fetchall()]


def queued_grants(cur, source, fiscal_year):
    """The grants waiting for the fund's budget, first queued first."""
    cur.execute(
        "SELECT grant_id, talent_id, amount_fen FROM grants_view WHERE status = 'queued'"
        " AND fund = %s AND fiscal_year = %s ORDER BY queued_position",
        (source, fiscal_year),
    )
    columns = [c.name for c in cur.description]
    return [dict(zip(columns, row)) for row in cur.fetchall()]


# Every grant and claim as one kind of row: who, which measure, fund and year, how much.
_LINES = """WITH lines AS (
    SELECT talent_id AS party_id, measure, 'subsidy' AS kind, fund, fiscal_year, status,
           amount_fen, paid_fen, repaid_fen AS recovered_fen, demanded_fen FROM grants_view
    UNION ALL
    SELECT party_id, measure, kind, fund, fiscal_year, status, amount_fen, paid_fen, 0, 0
      FROM claims_view)"""
# Statuses whose amount stays charged to its fund (a recovered subsidy's money goes back to the
# treasury: it does not refill the year's budget).
_CHARGED = "status IN ('granted', 'paid', 'recovery_demanded', 'recovered', 'approved')"


def fund_totals(query, fiscal_year=None, source=None):
    """Each fund's budget, committed, available, paid and recovered amounts."""
    sql = (
        f"{_LINES} SELECT f.fund, f.fiscal_year, f.budget_fen, f.committed_fen,"
        " coalesce(f.budget_fen, 0) - f.committed_fen AS available_fen,"
        " coalesce(sum(l.paid_fen), 0)::bigint AS paid_fen,"
        " coalesce(sum(l.recovered_fen), 0)::bigint AS recovered_fen,"
        " count(l.status) FILTER (WHERE l.status = 'queued') AS queued,"
        " coalesce(sum(l.amount_fen) FILTER (WHERE l.status = 'queued'), 0)::bigint"
        " AS queued_fen"
        " FROM funds_view f LEFT JOIN lines l"
        " ON l.fund = f.fund AND l.fiscal_year = f.fiscal_year WHERE true"
    )
    args = []
    for column, value in (("f.fiscal_year", fiscal_year), ("f.fund", source)):
        if value is not None:
            sql += f" AND {column} = %s"
            args.append(value)
    return query(sql + " GROUP BY f.fund, f.fiscal_year ORDER BY f.fiscal_year, f.fund", args)


def measure_totals(query, fiscal_year=None):
    """Per fiscal year and measure: how many and how much was granted (charged), queued, paid and
    recovered. TM-6 rows (kind loan_ceiling) are loan ceilings, not money paid."""
    sql = (
        f"{_LINES} SELECT fiscal_year, measure, kind,"
        f" count(*) FILTER (WHERE {_CHARGED}) AS granted,"
        f" coalesce(sum(amount_fen) FILTER (WHERE {_CHARGED}), 0)::bigint AS granted_fen,"
        " count(*) FILTER (WHERE status = 'queued') AS queued,"
        " coalesce(sum(amount_fen) FILTER (WHERE status = 'queued'), 0)::bigint AS queued_fen,"
        " coalesce(sum(paid_fen), 0)::bigint AS paid_fen,"
        " coalesce(sum(recovered_fen), 0)::bigint AS recovered_fen"
        " FROM lines WHERE fiscal_year IS NOT NULL"
    )
    args = []
    if fiscal_year is not None:
        sql += " AND fiscal_year = %s"
        args.append(fiscal_year)
    return query(sql + " GROUP BY fiscal_year, measure, kind ORDER BY fiscal_year, measure", args)


def pending_claims(query):
    """Claims filed and not yet decided (no fiscal year until approved), per measure."""
    return query(
        "SELECT measure, count(*) AS claims, sum(amount_fen)::bigint AS amount_fen"
        " FROM claims_view WHERE status = 'filed' GROUP BY measure ORDER BY measure"
    )


def ledger(query, party_id):
    """A talent's or enterprise's grants and claims, and what they add up to."""
    grants = query(
        "SELECT * FROM grants_view WHERE talent_id = %s ORDER BY updated_at", (party_id,)
    )
    claims = query("SELECT * FROM claims_view WHERE party_id = %s ORDER BY updated_at", (party_id,))
    [totals] = query(
        f"{_LINES} SELECT coalesce(sum(amount_fen) FILTER (WHERE {_CHARGED} AND"
        " kind = 'subsidy'), 0)::bigint AS granted_fen,"
        " coalesce(sum(paid_fen), 0)::bigint AS paid_fen,"
        " coalesce(sum(demanded_fen), 0)::bigint AS demanded_fen,"
        " coalesce(sum(recovered_fen), 0)::bigint AS recovered_fen,"
        " coalesce(sum(demanded_fen - recovered_fen), 0)::bigint AS outstanding_fen"
        " FROM lines WHERE party_id = %s",
        (party_id,),
    )
    return {"party_id": party_id, "grants": grants, "claims": claims, "totals": totals}


def recoveries(query, today, overdue_only=False, talent_id=None):
    """Recovery demands not yet met, with what is outstanding and whether it is overdue (only
    ``talent_id``'s, if given)."""
    sql = (
        "SELECT *, demanded_fen - repaid_fen AS outstanding_fen, due_on < %s AS overdue"
        " FROM grants_view WHERE status = 'recovery_demanded'"
    )
    args = [today]
    if overdue_only:
        sql += " AND due_on < %s"
        args.append(today)
    if talent_id is not None:
        sql += " AND talent_id = %s"
        args.append(talent_id)
    return query(sql + " ORDER BY due_on, grant_id", args)


READ_MODELS = [GrantsView(), ClaimsView(), FundsView()]
