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

    def fold(self):
        """The bulk replay path (see the end of this file)."""
        return _GrantsFold()

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

    def fold(self):
        """The bulk replay path (see the end of this file)."""
        return _ClaimsFold()

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

    def fold(self):
        """The bulk replay path (see the end of this file)."""
        return _FundsFold()

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


# -- bulk replay (talent-audit replay) ----------------------------------------------------------
# The same read models folded in memory with the statements' exact effects (an UPDATE of a
# missing row changes nothing; ON CONFLICT updates only the columns it names), then written once
# (talent-audit writes them with COPY). tests/integration/test_replay_bulk.py checks them against
# ``apply``; the live path above stays the one the service uses.
class _RowsFold:
    COLUMNS = ()
    TABLE = None

    def __init__(self):
        self.rows = {}

    def tables(self):
        return {self.TABLE: (self.COLUMNS, [tuple(r[c] for c in self.COLUMNS)
                                            for r in self.rows.values()])}

    def _update(self, key, event, **values):
        row = self.rows.get(key)
        if row is not None:
            row.update(values, version=event.stream_version, updated_at=event.recorded_at)
        return row


class _GrantsFold(_RowsFold):
    TABLE = "grants_view"
    COLUMNS = ("grant_id", "talent_id", "measure", "fiscal_year", "status", "amount_fen",
               "paid_fen", "demanded_fen", "repaid_fen", "due_on", "version", "updated_at",
               "fund", "queued_position", "reason", "paid_on", "payment_reference")
    _STATUS = {"SubsidyGrantQueued": "queued", "SubsidyGranted": "granted",
               "SubsidyGrantDeclined": "declined"}

    def apply(self, event):
        if event.stream_type != "grant":
            return
        p, kind = event.payload, event.event_type
        key = p["grant_id"]
        if kind in self._STATUS:
            status = self._STATUS[kind]
            values = dict(status=status, amount_fen=p.get("amount_fen", 0),
                          fiscal_year=p.get("fiscal_year"), fund=p.get("fund"),
                          reason=p.get("reason"))
            if self._update(key, event, **values) is None:
                self.rows[key] = dict(
                    values, grant_id=key, talent_id=p["talent_id"], measure=p["measure"],
                    queued_position=event.global_position if status == "queued" else None,
                    paid_fen=0, demanded_fen=0, repaid_fen=0, due_on=None, paid_on=None,
                    payment_reference=None, version=event.stream_version,
                    updated_at=event.recorded_at)
        elif kind == "SubsidyPaid":
            row = self._update(key, event, status="paid", paid_on=p["paid_on"],
                               payment_reference=p["payment_reference"])
            if row is not None:
                row["paid_fen"] += p["amount_fen"]
        elif kind == "SubsidyGrantCancelled" and event.stream_version == 1:
            self.rows[key] = dict(
                grant_id=key, talent_id=p["talent_id"], measure="LT-10.1", fiscal_year=None,
                status="cancelled", amount_fen=0, paid_fen=0, demanded_fen=0, repaid_fen=0,
                due_on=None, version=event.stream_version, updated_at=event.recorded_at,
                fund=None, queued_position=None, reason=p["ground"], paid_on=None,
                payment_reference=None)
        elif kind == "SubsidyGrantCancelled":
            self._update(key, event, status="cancelled", reason=p["ground"])
        elif kind == "SubsidyRecoveryDemanded":
            self._update(key, event, status="recovery_demanded", demanded_fen=p["amount_fen"],
                         due_on=p["due_on"], reason=p["ground"])
        elif kind == "SubsidyRepaymentRecorded":
            row = self._update(key, event)
            if row is not None:
                row["repaid_fen"] += p["amount_fen"]
        elif kind == "SubsidyRecovered":
            self._update(key, event, status="recovered")


class _ClaimsFold(_RowsFold):
    TABLE = "claims_view"
    COLUMNS = ("claim_id", "measure", "party_id", "party_name", "kind", "status", "amount_fen",
               "fund", "fiscal_year", "filed_on", "decided_on", "paid_fen", "paid_on",
               "payment_reference", "version", "updated_at")

    def apply(self, event):
        if event.stream_type != "claim":
            return
        p, kind = event.payload, event.event_type
        key = p["claim_id"]
        if kind == "MeasureClaimFiled":
            values = dict(status="filed", party_name=p["party_name"], kind=p["kind"],
                          amount_fen=p["amount_fen"], filed_on=p["filed_on"], decided_on=None)
            if self._update(key, event, **values) is None:
                self.rows[key] = dict(
                    values, claim_id=key, measure=p["measure"], party_id=p["party_id"],
                    fund=None, fiscal_year=None, paid_fen=0, paid_on=None,
                    payment_reference=None, version=event.stream_version,
                    updated_at=event.recorded_at)
        elif kind == "MeasureClaimApproved":
            self._update(key, event, status="approved", fund=p["fund"],
                         fiscal_year=p["fiscal_year"], decided_on=p["approved_on"])
        elif kind == "MeasureClaimRejected":
            self._update(key, event, status="rejected", decided_on=p["rejected_on"])
        elif kind == "MeasureClaimPaid":
            self._update(key, event, status="paid", paid_fen=p["amount_fen"],
                         paid_on=p["paid_on"], payment_reference=p["payment_reference"])


class _FundsFold:
    COLUMNS = ("fund", "fiscal_year", "budget_fen", "committed_fen", "updated_at")

    def __init__(self):
        self.rows = {}

    def apply(self, event):
        p, kind = event.payload, event.event_type
        if kind == "BudgetSet":
            self._upsert(p["fund"], p["fiscal_year"], event.recorded_at, p["amount_fen"], 0)
        elif kind in ("SubsidyGranted", "MeasureClaimApproved") and p.get("fund"):
            self._upsert(p["fund"], p["fiscal_year"], event.recorded_at, None, p["amount_fen"])
        elif kind == "SubsidyGrantCancelled" and p.get("released_fen"):
            self._upsert(p["fund"], p["fiscal_year"], event.recorded_at, None,
                         -p["released_fen"])

    def _upsert(self, fund, fiscal_year, at, budget, committed):
        row = self.rows.get((fund, fiscal_year))
        if row is None:
            self.rows[(fund, fiscal_year)] = [fund, fiscal_year, budget, committed, at]
        else:
            if budget is not None:
                row[2] = budget
            row[3] += committed
            row[4] = at

    def tables(self):
        return {"funds_view": (self.COLUMNS, [tuple(r) for r in self.rows.values()])}


READ_MODELS = [GrantsView(), ClaimsView(), FundsView()]
