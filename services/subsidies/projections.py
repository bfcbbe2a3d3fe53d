"""Read models of the subsidies service, built from its own events inside the appends' transactions
(so never behind them) and rebuildable from zero: the LT-10.1 grants, the Ten Measures claims and
the funds (budget and what is committed against it). The read queries over them are here too."""
from services.subsidies.domain.fund import Position


class GrantsView:
    """One row per LT-10.1 grant (per talent)."""
    migrations = [("grants_view_0001", """
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
    """), ("grants_view_0002_funds_and_queue", """
        ALTER TABLE grants_view ALTER COLUMN fiscal_year DROP NOT NULL,
            ADD COLUMN fund text,
            ADD COLUMN queued_position bigint,
            ADD COLUMN reason text,
            ADD COLUMN paid_on date,
            ADD COLUMN payment_reference text;
        CREATE INDEX grants_view_queue ON grants_view (fund, fiscal_year, queued_position)
            WHERE status = 'queued';
    """)]

    def reset(self, cur):
        cur.execute("DELETE FROM grants_view")

    def apply(self, cur, event):
        if event.stream_type != "grant":
            return
        p = event.payload
        tail = (event.stream_version, event.recorded_at, p["grant_id"])
        match event.event_type:
            case "SubsidyGrantQueued" | "SubsidyGranted" | "SubsidyGrantDeclined":
                status = {"SubsidyGrantQueued": "queued", "SubsidyGranted": "granted",
                          "SubsidyGrantDeclined": "declined"}[event.event_type]
                queued = event.global_position if status == "queued" else None
                cur.execute(
                    "INSERT INTO grants_view (grant_id, talent_id, measure, fiscal_year, fund,"
                    " status, amount_fen, queued_position, reason, version, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (grant_id) DO UPDATE SET status = excluded.status,"
                    " amount_fen = excluded.amount_fen, fiscal_year = excluded.fiscal_year,"
                    " fund = excluded.fund, reason = excluded.reason,"
                    " version = excluded.version, updated_at = excluded.updated_at",
                    (p["grant_id"], p["talent_id"], p["measure"], p.get("fiscal_year"),
                     p.get("fund"), status, p.get("amount_fen", 0), queued, p.get("reason"),
                     event.stream_version, event.recorded_at))
            case "SubsidyPaid":
                cur.execute("UPDATE grants_view SET status = 'paid', paid_fen = paid_fen + %s,"
                            " paid_on = %s, payment_reference = %s, version = %s,"
                            " updated_at = %s WHERE grant_id = %s",
                            (p["amount_fen"], p["paid_on"], p["payment_reference"]) + tail)
            case "SubsidyGrantCancelled" if event.stream_version == 1:  # before any grant
                cur.execute("INSERT INTO grants_view (grant_id, talent_id, measure, status,"
                            " amount_fen, reason, version, updated_at)"
                            " VALUES (%s, %s, 'LT-10.1', 'cancelled', 0, %s, %s, %s)",
                            (p["grant_id"], p["talent_id"], p["ground"], event.stream_version,
                             event.recorded_at))
            case "SubsidyGrantCancelled":
                cur.execute("UPDATE grants_view SET status = 'cancelled', reason = %s,"
                            " version = %s, updated_at = %s WHERE grant_id = %s",
                            (p["ground"],) + tail)
            case "SubsidyRecoveryDemanded":
                cur.execute("UPDATE grants_view SET status = 'recovery_demanded',"
                            " demanded_fen = %s, due_on = %s, reason = %s, version = %s,"
                            " updated_at = %s WHERE grant_id = %s",
                            (p["amount_fen"], p["due_on"], p["ground"]) + tail)
            case "SubsidyRepaymentRecorded":
                cur.execute("UPDATE grants_view SET repaid_fen = repaid_fen + %s, version = %s,"
                            " updated_at = %s WHERE grant_id = %s", (p["amount_fen"],) + tail)
            case "SubsidyRecovered":
                cur.execute("UPDATE grants_view SET status = 'recovered', version = %s,"
                            " updated_at = %s WHERE grant_id = %s", tail)


class ClaimsView:
    """One row per Ten Measures claim (per measure, party and period)."""
    migrations = [("claims_view_0001", """
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
    """)]

    def reset(self, cur):
        cur.execute("DELETE FROM claims_view")

    def apply(self, cur, event):
        if event.stream_type != "claim":
            return
        p = event.payload
        tail = (event.stream_version, event.recorded_at, p["claim_id"])
        match event.event_type:
            case "MeasureClaimFiled":  # a first filing, or a corrected one after a rejection
                cur.execute(
                    "INSERT INTO claims_view (claim_id, measure, party_id, party_name, kind,"
                    " status, amount_fen, filed_on, version, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s, 'filed', %s, %s, %s, %s)"
                    " ON CONFLICT (claim_id) DO UPDATE SET status = 'filed',"
                    " party_name = excluded.party_name, kind = excluded.kind,"
                    " amount_fen = excluded.amount_fen, filed_on = excluded.filed_on,"
                    " decided_on = NULL, version = excluded.version,"
                    " updated_at = excluded.updated_at",
                    (p["claim_id"], p["measure"], p["party_id"], p["party_name"], p["kind"],
                     p["amount_fen"], p["filed_on"], event.stream_version, event.recorded_at))
            case "MeasureClaimApproved":
                cur.execute("UPDATE claims_view SET status = 'approved', fund = %s,"
                            " fiscal_year = %s, decided_on = %s, version = %s, updated_at = %s"
                            " WHERE claim_id = %s",
                            (p["fund"], p["fiscal_year"], p["approved_on"]) + tail)
            case "MeasureClaimRejected":
                cur.execute("UPDATE claims_view SET status = 'rejected', decided_on = %s,"
                            " version = %s, updated_at = %s WHERE claim_id = %s",
                            (p["rejected_on"],) + tail)
            case "MeasureClaimPaid":
                cur.execute("UPDATE claims_view SET status = 'paid', paid_fen = %s,"
                            " paid_on = %s, payment_reference = %s, version = %s,"
                            " updated_at = %s WHERE claim_id = %s",
                            (p["amount_fen"], p["paid_on"], p["payment_reference"]) + tail)


class FundsView:
    """One row per fund (source and fiscal year): its budget and what decisions committed."""
    migrations = [("funds_view_0001", """
        CREATE TABLE funds_view (
            fund           text NOT NULL,
            fiscal_year    integer NOT NULL,
            budget_fen     bigint,
            committed_fen  bigint NOT NULL DEFAULT 0,
            updated_at     timestamptz NOT NULL,
            PRIMARY KEY (fund, fiscal_year)
        );
    """)]

    def reset(self, cur):
        cur.execute("DELETE FROM funds_view")

    def apply(self, cur, event):
        p = event.payload
        match event.event_type:
            case "BudgetSet":
                self._upsert(cur, p["fund"], p["fiscal_year"], event.recorded_at,
                             budget=p["amount_fen"])
            case "SubsidyGranted" | "MeasureClaimApproved" if p.get("fund"):
                self._upsert(cur, p["fund"], p["fiscal_year"], event.recorded_at,
                             committed=p["amount_fen"])
            case "SubsidyGrantCancelled" if p.get("released_fen"):
                self._upsert(cur, p["fund"], p["fiscal_year"], event.recorded_at,
                             committed=-p["released_fen"])

    @staticmethod
    def _upsert(cur, fund, fiscal_year, at, budget=None, committed=0):
        cur.execute("INSERT INTO funds_view (fund, fiscal_year, budget_fen, committed_fen,"
                    " updated_at) VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (fund, fiscal_year) DO UPDATE SET"
                    " budget_fen = coalesce(excluded.budget_fen, funds_view.budget_fen),"
                    " committed_fen = funds_view.committed_fen + excluded.committed_fen,"
                    " updated_at = excluded.updated_at",
                    (fund, fiscal_year, budget, committed, at))


# -- queries ---------------------------------------------------------------------------------------
def fund_position(cur, source, fiscal_year):
    """The fund's position as committed so far (call it under the fund's lock to decide on it)."""
    cur.execute("SELECT f.budget_fen, f.committed_fen, (SELECT count(*) FROM grants_view g"
                "  WHERE g.status = 'queued' AND g.fund = %s AND g.fiscal_year = %s)"
                " FROM (SELECT 1) AS one LEFT JOIN funds_view f"
                " ON f.fund = %s AND f.fiscal_year = %s", (source, fiscal_year) * 2)
    budget, committed, queued = cur.fetchone()
    return Position(source, fiscal_year, budget, committed or 0, queued)


def queued_grants(cur, source, fiscal_year):
    """The grants waiting for the fund's budget, first queued first."""
    cur.execute("SELECT grant_id, talent_id, amount_fen FROM grants_view WHERE status = 'queued'"
                " AND fund = %s AND fiscal_year = %s ORDER BY queued_position",
                (source, fiscal_year))
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
    sql = (f"{_LINES} SELECT f.fund, f.fiscal_year, f.budget_fen, f.committed_fen,"
           " coalesce(f.budget_fen, 0) - f.committed_fen AS available_fen,"
           " coalesce(sum(l.paid_fen), 0)::bigint AS paid_fen,"
           " coalesce(sum(l.recovered_fen), 0)::bigint AS recovered_fen,"
           " count(l.status) FILTER (WHERE l.status = 'queued') AS queued,"
           " coalesce(sum(l.amount_fen) FILTER (WHERE l.status = 'queued'), 0)::bigint"
           " AS queued_fen"
           " FROM funds_view f LEFT JOIN lines l"
           " ON l.fund = f.fund AND l.fiscal_year = f.fiscal_year WHERE true")
    args = []
    for column, value in (("f.fiscal_year", fiscal_year), ("f.fund", source)):
        if value is not None:
            sql += f" AND {column} = %s"
            args.append(value)
    return query(sql + " GROUP BY f.fund, f.fiscal_year ORDER BY f.fiscal_year, f.fund", args)


def measure_totals(query, fiscal_year=None):
    """Per fiscal year and measure: how many and how much was granted (charged), queued, paid and
    recovered. TM-6 rows (kind loan_ceiling) are loan ceilings, not money paid."""
    sql = (f"{_LINES} SELECT fiscal_year, measure, kind,"
           f" count(*) FILTER (WHERE {_CHARGED}) AS granted,"
           f" coalesce(sum(amount_fen) FILTER (WHERE {_CHARGED}), 0)::bigint AS granted_fen,"
           " count(*) FILTER (WHERE status = 'queued') AS queued,"
           " coalesce(sum(amount_fen) FILTER (WHERE status = 'queued'), 0)::bigint AS queued_fen,"
           " coalesce(sum(paid_fen), 0)::bigint AS paid_fen,"
           " coalesce(sum(recovered_fen), 0)::bigint AS recovered_fen"
           " FROM lines WHERE fiscal_year IS NOT NULL")
    args = []
    if fiscal_year is not None:
        sql += " AND fiscal_year = %s"
        args.append(fiscal_year)
    return query(sql + " GROUP BY fiscal_year, measure, kind ORDER BY fiscal_year, measure", args)


def pending_claims(query):
    """Claims filed and not yet decided (no fiscal year until approved), per measure."""
    return query("SELECT measure, count(*) AS claims, sum(amount_fen)::bigint AS amount_fen"
                 " FROM claims_view WHERE status = 'filed' GROUP BY measure ORDER BY measure")


def ledger(query, party_id):
    """A talent's or enterprise's grants and claims, and what they add up to."""
    grants = query("SELECT * FROM grants_view WHERE talent_id = %s ORDER BY updated_at",
                   (party_id,))
    claims = query("SELECT * FROM claims_view WHERE party_id = %s ORDER BY updated_at",
                   (party_id,))
    [totals] = query(
        f"{_LINES} SELECT coalesce(sum(amount_fen) FILTER (WHERE {_CHARGED} AND"
        " kind = 'subsidy'), 0)::bigint AS granted_fen,"
        " coalesce(sum(paid_fen), 0)::bigint AS paid_fen,"
        " coalesce(sum(demanded_fen), 0)::bigint AS demanded_fen,"
        " coalesce(sum(recovered_fen), 0)::bigint AS recovered_fen,"
        " coalesce(sum(demanded_fen - recovered_fen), 0)::bigint AS outstanding_fen"
        " FROM lines WHERE party_id = %s", (party_id,))
    return {"party_id": party_id, "grants": grants, "claims": claims, "totals": totals}


def recoveries(query, today, overdue_only=False):
    """Recovery demands not yet met, with what is outstanding and whether it is overdue."""
    sql = ("SELECT *, demanded_fen - repaid_fen AS outstanding_fen, due_on < %s AS overdue"
           " FROM grants_view WHERE status = 'recovery_demanded'")
    if overdue_only:
        sql += " AND due_on < %s"
    return query(sql + " ORDER BY due_on, grant_id", (today, today) if overdue_only
                 else (today,))
