"""Read models of the applications service, built from its own events (rebuildable from zero), and
the registry lookups its decisions need.

* ``applications_view``: one row per application, where it is in the selection. ``stage`` is the
  stage awaiting a decision while ``in_review``, ``public_notice`` while on notice or suspended,
  the stage it stopped at when rejected or withdrawn, ``eligibility`` when ineligible.
* ``rounds_view``: the selection rounds.
* The registry for LT-10: ``talents_view`` (every certified talent with its enterprise, selected
  or transferred) and ``yixiang_persons`` (everyone who applied to the Yixiang scheme, including
  its transferred talents), keyed by the person's pseudonym.

The lookups are read inside the command's transaction after the store's append lock is taken
(see service.py), so they see every committed event and no other command can change them before
this one commits: "one talent per enterprise" and the round's quota hold under concurrency.
"""
import orjson

from services.applications.domain.application import OPEN, Candidate
from services.applications.domain.policy import STAGE_NAMES
from shared.db import prepared

APPROVED_AT = STAGE_NAMES.index("approval") + 1
CONFIRMED_AT = STAGE_NAMES.index("standing_committee") + 1


class ApplicationsView:
    migrations = [("applications_view_0001", """
        CREATE TABLE applications_view (
            application_id text PRIMARY KEY,
            round_year     integer NOT NULL,
            county         text NOT NULL,
            applicant_name text NOT NULL,
            category       text NOT NULL,
            status         text NOT NULL,
            stage          text,
            version        integer NOT NULL,
            notice_start   date,
            notice_end     date,
            talent_id      text,
            updated_at     timestamptz NOT NULL
        );
        CREATE INDEX applications_view_round ON applications_view (round_year, county, status);
    """), ("applications_view_0002", """
        ALTER TABLE applications_view
            ADD COLUMN applicant_id    text,
            ADD COLUMN enterprise_name text,
            ADD COLUMN enterprise_code text,
            ADD COLUMN submitted_on    date,
            ADD COLUMN eligible        boolean,
            ADD COLUMN failed_checks   jsonb,
            ADD COLUMN stages_passed   integer NOT NULL DEFAULT 0,
            ADD COLUMN expert_score    numeric(5, 2),
            ADD COLUMN open_objections integer NOT NULL DEFAULT 0;
        CREATE INDEX applications_view_enterprise ON applications_view (enterprise_code);
        CREATE INDEX applications_view_stage ON applications_view (round_year, stage);
    """)]

    def reset(self, cur):
        cur.execute("DELETE FROM applications_view")

    def fold(self):
        """The bulk replay path (see below)."""
        return _ApplicationsFold()

    def apply(self, cur, event):
        p = event.payload
        set_ = "UPDATE applications_view SET version = %s, updated_at = %s"
        where = " WHERE application_id = %s"
        common = (event.stream_version, event.recorded_at)
        app_id = p.get("application_id")
        match event.event_type:
            case "ApplicationSubmitted":
                cur.execute(
                    "INSERT INTO applications_view (application_id, round_year, county,"
                    " applicant_name, category, status, stage, version, updated_at, applicant_id,"
                    " enterprise_name, enterprise_code, submitted_on)"
                    " VALUES (%s, %s, %s, %s, %s, 'in_review', %s, %s, %s, %s, %s, %s, %s)",
                    (app_id, p["round_year"], p["county"], p["applicant_name"], p["category"],
                     STAGE_NAMES[0], event.stream_version, event.recorded_at,
                     p.get("applicant_id"), p["enterprise_name"], p.get("enterprise_code"),
                     p["submitted_on"]))
            case "EligibilityAssessed":
                cur.execute(set_ + ", eligible = %s, failed_checks = %s::jsonb,"
                            " status = CASE WHEN %s THEN status ELSE 'ineligible' END,"
                            " stage = CASE WHEN %s THEN stage ELSE 'eligibility' END" + where,
                            common + (p["eligible"], _json(p["failed"]), p["eligible"],
                                      p["eligible"], app_id))
            case "ReviewPassed":
                done = STAGE_NAMES.index(p["stage"]) + 1
                nxt = STAGE_NAMES[done] if done < len(STAGE_NAMES) else None
                cur.execute(set_ + ", stage = %s, status = %s, stages_passed = %s,"
                            " expert_score = coalesce(%s::numeric, expert_score)" + where,
                            common + (nxt, "in_review" if nxt else "approved", done,
                                      p.get("expert_score"), app_id))
            case "ReviewRejected":
                cur.execute(set_ + ", status = 'rejected', stage = %s" + where,
                            common + (p["stage"], app_id))
            case "PublicNoticeStarted":
                cur.execute(set_ + ", status = 'on_notice', stage = 'public_notice',"
                            " notice_start = %s, notice_end = %s" + where,
                            common + (p["start_date"], p["end_date"], app_id))
            case "ObjectionRaised":
                cur.execute(set_ + ", status = 'suspended',"
                            " open_objections = open_objections + 1" + where, common + (app_id,))
            case "ObjectionResolved":
                cur.execute(set_ + ", open_objections = open_objections - 1,"
                            " status = CASE WHEN open_objections = 1 AND status = 'suspended'"
                            " THEN 'on_notice' ELSE status END" + where, common + (app_id,))
            case "TalentCertified":  # (a transferred talent has no row here)
                cur.execute(set_ + ", status = 'certified', stage = NULL, talent_id = %s"
                            + where, common + (p["talent_id"], app_id))
            case "ApplicationWithdrawn":
                cur.execute(set_ + ", status = 'withdrawn', stage = %s" + where,
                            common + (p["stage"], app_id))


class RoundsView:
    migrations = [("rounds_view_0001", """
        CREATE TABLE rounds_view (
            year          integer PRIMARY KEY,
            quota         integer NOT NULL,
            window_opens  date NOT NULL,
            window_closes date NOT NULL,
            opened_on     date NOT NULL
        );
    """)]

    def reset(self, cur):
        cur.execute("DELETE FROM rounds_view")

    def fold(self):
        """The bulk replay path (see below)."""
        return _RoundsFold()

    def apply(self, cur, event):
        if event.event_type == "RoundOpened":
            p = event.payload
            cur.execute("INSERT INTO rounds_view VALUES (%s, %s, %s, %s, %s)",
                        (p["year"], p["quota"], p["window_opens"], p["window_closes"],
                         p["opened_on"]))


class RegistryView:
    migrations = [("registry_0001", """
        CREATE TABLE talents_view (
            talent_id       text PRIMARY KEY,
            application_id  text NOT NULL,
            applicant_name  text NOT NULL,
            county          text NOT NULL,
            enterprise_code text,
            origin          text NOT NULL,
            period_start    date NOT NULL,
            period_end      date NOT NULL
        );
        CREATE INDEX talents_view_enterprise ON talents_view (enterprise_code);
        CREATE TABLE yixiang_persons (
            person_key   text PRIMARY KEY,
            name         text NOT NULL,
            applied_year integer,
            talent_id    text
        );
    """)]

    def reset(self, cur):
        cur.execute("DELETE FROM talents_view; DELETE FROM yixiang_persons")

    def fold(self):
        """The bulk replay path (see below)."""
        return _RegistryFold()

    def apply(self, cur, event):
        p = event.payload
        match event.event_type:
            case "TalentCertified":
                cur.execute("INSERT INTO talents_view VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                            (p["talent_id"], p["application_id"], p["applicant_name"],
                             p["county"], p.get("enterprise_code"), p.get("origin", "selection"),
                             p["period_start"], p["period_end"]))
            case "YixiangApplicantRegistered":
                cur.execute("INSERT INTO yixiang_persons VALUES (%s, %s, %s, NULL)"
                            " ON CONFLICT (person_key) DO NOTHING",
                            (p["person_key"], p["name"], p["applied_year"]))
            case "YixiangTalentTransferred":
                cur.execute("INSERT INTO yixiang_persons VALUES (%s, %s, NULL, %s)"
                            " ON CONFLICT (person_key)"
                            " DO UPDATE SET talent_id = EXCLUDED.talent_id",
                            (p["person_key"], p["name"], p["talent_id"]))


def _json(value):
    return orjson.dumps(value).decode()


# -- lookups for decisions (``cur`` inside the command's locked transaction) ---------------------
def registry_lookups(cur, *, person_key, enterprise_code, round_year, application_id):
    """What eligibility (LT-10) needs to know about this person and enterprise (one round trip).
    """
    out = {"former_yixiang": False, "enterprise_talent": None, "enterprise_rivals": ()}
    if not person_key and not enterprise_code:
        return out
    cur.execute(prepared(cur, "SELECT"
                " %s::text IS NOT NULL AND EXISTS (SELECT 1 FROM yixiang_persons"
                " WHERE person_key = %s),"
                " (SELECT talent_id FROM talents_view WHERE enterprise_code = %s"
                " ORDER BY period_start, talent_id LIMIT 1),"
                " ARRAY(SELECT application_id FROM applications_view WHERE round_year = %s"
                " AND enterprise_code = %s AND status = ANY(%s) AND application_id <> %s"
                " ORDER BY application_id)"),
                (person_key or None, person_key or None, enterprise_code or None, round_year,
                 enterprise_code or None, list(OPEN), application_id))
    former, talent, rivals = cur.fetchone()
    out["former_yixiang"] = bool(former)
    if enterprise_code:
        out["enterprise_talent"] = talent
        out["enterprise_rivals"] = tuple(rivals)
    return out


def enterprise_talent(cur, enterprise_code):
    cur.execute("SELECT talent_id FROM talents_view WHERE enterprise_code = %s"
                " ORDER BY period_start, talent_id LIMIT 1", (enterprise_code,))
    row = cur.fetchone()
    return row[0] if row else None


def standing(cur, round_year):
    """The round's live candidates that have an expert score (LT-8, LT-9.5)."""
    cur.execute("SELECT application_id, expert_score, stages_passed, status"
                " FROM applications_view WHERE round_year = %s AND expert_score IS NOT NULL"
                " AND status = ANY(%s)", (round_year, list(OPEN) + ["certified"]))
    return tuple(Candidate(app_id, score, passed >= APPROVED_AT, passed >= CONFIRMED_AT,
                           status == "certified")
                 for app_id, score, passed, status in cur.fetchall())


# -- bulk replay (talent-audit replay) ----------------------------------------------------------
# The same read models folded in memory, event by event, with the statements' exact effects
# (an UPDATE of a missing row changes nothing, SET expressions read the old row), then written
# once (talent-audit writes them with COPY). tests/integration/test_replay_bulk.py checks that
# they equal what ``apply`` builds. The live path above stays the one the service uses.
_APPLICATION_COLUMNS = (
    "application_id", "round_year", "county", "applicant_name", "category", "status", "stage",
    "version", "notice_start", "notice_end", "talent_id", "updated_at", "applicant_id",
    "enterprise_name", "enterprise_code", "submitted_on", "eligible", "failed_checks",
    "stages_passed", "expert_score", "open_objections")


class _ApplicationsFold:
    def __init__(self):
        self.rows = {}

    def apply(self, event):
        p = event.payload
        kind = event.event_type
        if kind == "ApplicationSubmitted":
            self.rows[p.get("application_id")] = {
                "application_id": p.get("application_id"), "round_year": p["round_year"],
                "county": p["county"], "applicant_name": p["applicant_name"],
                "category": p["category"], "status": "in_review", "stage": STAGE_NAMES[0],
                "version": event.stream_version, "notice_start": None, "notice_end": None,
                "talent_id": None, "updated_at": event.recorded_at,
                "applicant_id": p.get("applicant_id"), "enterprise_name": p["enterprise_name"],
                "enterprise_code": p.get("enterprise_code"), "submitted_on": p["submitted_on"],
                "eligible": None, "failed_checks": None, "stages_passed": 0,
                "expert_score": None, "open_objections": 0}
            return
        row = self.rows.get(p.get("application_id"))
        if row is None or kind not in _UPDATES:
            return
        row["version"], row["updated_at"] = event.stream_version, event.recorded_at
        _UPDATES[kind](row, p)

    def tables(self):
        return {"applications_view": (_APPLICATION_COLUMNS, [
            tuple(r[c] for c in _APPLICATION_COLUMNS) for r in self.rows.values()])}


def _eligibility_assessed(row, p):
    row["eligible"], row["failed_checks"] = p["eligible"], _json(p["failed"])
    if not p["eligible"]:
        row["status"], row["stage"] = "ineligible", "eligibility"


def _review_passed(row, p):
    done = STAGE_NAMES.index(p["stage"]) + 1
    nxt = STAGE_NAMES[done] if done < len(STAGE_NAMES) else None
    row["stage"], row["status"], row["stages_passed"] = nxt, "in_review" if nxt else "approved", done
    if p.get("expert_score") is not None:
        row["expert_score"] = p["expert_score"]


def _objection_resolved(row, p):
    if row["open_objections"] == 1 and row["status"] == "suspended":
        row["status"] = "on_notice"
    row["open_objections"] -= 1


_UPDATES = {
    "EligibilityAssessed": _eligibility_assessed,
    "ReviewPassed": _review_passed,
    "ReviewRejected": lambda row, p: row.update(status="rejected", stage=p["stage"]),
    "PublicNoticeStarted": lambda row, p: row.update(
        status="on_notice", stage="public_notice", notice_start=p["start_date"],
        notice_end=p["end_date"]),
    "ObjectionRaised": lambda row, p: row.update(status="suspended",
                                                 open_objections=row["open_objections"] + 1),
    "ObjectionResolved": _objection_resolved,
    "TalentCertified": lambda row, p: row.update(status="certified", stage=None,
                                                 talent_id=p["talent_id"]),
    "ApplicationWithdrawn": lambda row, p: row.update(status="withdrawn", stage=p["stage"]),
}


class _RoundsFold:
    COLUMNS = ("year", "quota", "window_opens", "window_closes", "opened_on")

    def __init__(self):
        self.rows = {}

    def apply(self, event):
        if event.event_type == "RoundOpened":
            p = event.payload
            self.rows[p["year"]] = (p["year"], p["quota"], p["window_opens"], p["window_closes"],
                                    p["opened_on"])

    def tables(self):
        return {"rounds_view": (self.COLUMNS, list(self.rows.values()))}


class _RegistryFold:
    TALENTS = ("talent_id", "application_id", "applicant_name", "county", "enterprise_code",
               "origin", "period_start", "period_end")
    PERSONS = ("person_key", "name", "applied_year", "talent_id")

    def __init__(self):
        self.talents, self.persons = {}, {}

    def apply(self, event):
        p = event.payload
        match event.event_type:
            case "TalentCertified":
                self.talents[p["talent_id"]] = (
                    p["talent_id"], p["application_id"], p["applicant_name"], p["county"],
                    p.get("enterprise_code"), p.get("origin", "selection"), p["period_start"],
                    p["period_end"])
            case "YixiangApplicantRegistered":
                self.persons.setdefault(p["person_key"],
                                        [p["person_key"], p["name"], p["applied_year"], None])
            case "YixiangTalentTransferred":
                row = self.persons.get(p["person_key"])
                if row is None:
                    self.persons[p["person_key"]] = [p["person_key"], p["name"], None,
                                                     p["talent_id"]]
                else:
                    row[3] = p["talent_id"]

    def tables(self):
        return {"talents_view": (self.TALENTS, list(self.talents.values())),
                "yixiang_persons": (self.PERSONS, [tuple(r) for r in self.persons.values()])}


READ_MODELS = [ApplicationsView(), RoundsView(), RegistryView()]
