"""Read models of the applications service, built from its own events (rebuildable from zero), and
the registry lookups its decisions need. Each is defined once (``shared.readmodel``): the live
path's statements and talent-audit's bulk replay both come from that definition.

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

from __future__ import annotations

import datetime as dt

import orjson

from services.applications.domain.application import OPEN, Candidate
from services.applications.domain.policy import STAGE_NAMES
from shared.db import prepared
from shared.readmodel import Add, Case, Eq, Event, ReadModel, Rows, Table, on

INSPECTED_AT = STAGE_NAMES.index("inspection") + 1
PROPOSED_AT = STAGE_NAMES.index("proposal") + 1
APPROVED_AT = STAGE_NAMES.index("approval") + 1
CONFIRMED_AT = STAGE_NAMES.index("standing_committee") + 1
APPLICATIONS = "applications_view"


class ApplicationsView(ReadModel):
    tables = (
        Table(
            APPLICATIONS,
            key=("application_id",),
            columns=(
                "application_id",
                "round_year",
                "county",
                "applicant_name",
                "category",
                "status",
                "stage",
                "version",
                "notice_start",
                "notice_end",
                "talent_id",
                "updated_at",
                "applicant_id",
                "enterprise_name",
                "enterprise_code",
                "submitted_on",
                "eligible",
                "failed_checks",
                "stages_passed",
                "expert_score",
                "open_objections",
                "person_key",
                "last_act_on",
                "opinions_against",
                "county_reasons",
                "proposal_rank",
                "proposal_reason",
                "certified_on",
            ),
            defaults={"stages_passed": 0, "open_objections": 0},
        ),
    )
    migrations = [
        (
            "applications_view_0001",
            """
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
    """,
        ),
        (
            "applications_view_0002",
            """
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
    """,
        ),
        (
            # The person (LT-10.1), the latest act's date, the county bodies' opinions against
            # (LT-9.1), the Commerce Bureau's proposal (LT-9.5) and the certification's date.
            # Rows from before it have no last_act_on: the service rebuilds the read models
            # from the events at start (queries.READ_MODELS_STALE), which also counts the stages
            # with the proposal among them.
            "applications_view_0003",
            """
        ALTER TABLE applications_view
            ADD COLUMN person_key       text,
            ADD COLUMN last_act_on      date,
            ADD COLUMN opinions_against jsonb,
            ADD COLUMN county_reasons   jsonb,
            ADD COLUMN proposal_rank    integer,
            ADD COLUMN proposal_reason  text,
            ADD COLUMN certified_on     date;
        CREATE INDEX applications_view_person ON applications_view (person_key);
    """,
        ),
    ]

    @on("ApplicationSubmitted")
    def submitted(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.insert(
            APPLICATIONS,
            {
                "application_id": p.get("application_id"),
                "round_year": p["round_year"],
                "county": p["county"],
                "applicant_name": p["applicant_name"],
                "category": p["category"],
                "status": "in_review",
                "stage": STAGE_NAMES[0],
                "version": event.stream_version,
                "updated_at": event.recorded_at,
                "applicant_id": p.get("applicant_id"),
                "enterprise_name": p["enterprise_name"],
                "enterprise_code": p.get("enterprise_code"),
                "submitted_on": p["submitted_on"],
                "person_key": p.get("person_key"),
                "last_act_on": p["submitted_on"],
            },
        )

    @on("EligibilityAssessed")
    def assessed(self, event: Event, rows: Rows) -> None:
        p = event.payload
        values = {"eligible": p["eligible"], "failed_checks": _json(p["failed"])}
        if not p["eligible"]:
            values.update(status="ineligible", stage="eligibility")
        _application(rows, event, values)

    @on("ReviewPassed")
    def passed(self, event: Event, rows: Rows) -> None:
        p = event.payload
        done = STAGE_NAMES.index(p["stage"]) + 1
        nxt = STAGE_NAMES[done] if done < len(STAGE_NAMES) else None
        values = {"stage": nxt, "status": "in_review" if nxt else "approved", "stages_passed": done}
        if p.get("expert_score") is not None:
            values["expert_score"] = p["expert_score"]
        if "proposal" in p:
            values["proposal_rank"] = p["proposal"]["rank"]
            values["proposal_reason"] = p["proposal"]["reason"]
        _application(rows, event, {**values, **_decided(p)})

    @on("ReviewRejected")
    def rejected(self, event: Event, rows: Rows) -> None:
        p = event.payload
        values = {"status": "rejected", "stage": p["stage"], "proposal_rank": None}
        _application(rows, event, {**values, **_decided(p)})

    @on("PublicNoticeStarted")
    def on_notice(self, event: Event, rows: Rows) -> None:
        p = event.payload
        _application(
            rows,
            event,
            {
                "status": "on_notice",
                "stage": "public_notice",
                "notice_start": p["start_date"],
                "notice_end": p["end_date"],
                "last_act_on": p["start_date"],
            },
        )

    @on("ObjectionRaised")
    def objected(self, event: Event, rows: Rows) -> None:
        _application(rows, event, {"status": "suspended"}, {"open_objections": Add(1)})

    @on("ObjectionResolved")
    def resolved(self, event: Event, rows: Rows) -> None:
        # back on notice when the last open objection of a suspended application is resolved
        _application(
            rows,
            event,
            {},
            {
                "open_objections": Add(-1),
                "status": Case((Eq("open_objections", 1) & Eq("status", "suspended"), "on_notice")),
            },
        )

    @on("TalentCertified")  # (a transferred talent has no row here)
    def certified(self, event: Event, rows: Rows) -> None:
        p = event.payload
        day = p.get("certified_on", p["period_start"])
        _application(
            rows,
            event,
            {
                "status": "certified",
                "stage": None,
                "talent_id": p["talent_id"],
                "certified_on": day,
                "last_act_on": day,
            },
        )

    @on("ApplicationWithdrawn")
    def withdrawn(self, event: Event, rows: Rows) -> None:
        p = event.payload
        values = {"status": "withdrawn", "stage": p["stage"], "proposal_rank": None}
        if p.get("withdrawn_on"):
            values["last_act_on"] = p["withdrawn_on"]
        _application(rows, event, values)


def _decided(p: dict) -> dict:
    """A stage decision's date and, at the county recommendation (LT-9.1), the county bodies'
    opinions against and the county's reasons, for every later stage to see."""
    out: dict = {"last_act_on": p["decided_on"]} if p.get("decided_on") else {}
    if p["stage"] == "county_recommendation":
        against = [
            {"body": o["body"], "opinion": o["opinion"]}
            for o in sorted(p.get("county_opinions", ()), key=lambda o: o["body"])
            if not o["agrees"]
        ]
        out["opinions_against"] = _json(against) if against else None
        out["county_reasons"] = _json(p["reasons"]) if p.get("reasons") else None
    return out


def _application(rows: Rows, event: Event, values: dict, computed: dict | None = None) -> None:
    """``values`` and ``computed`` set on the event's application, with its version and time."""
    values["version"], values["updated_at"] = event.stream_version, event.recorded_at
    rows.update(APPLICATIONS, event.payload.get("application_id"), values, computed)


class RoundsView(ReadModel):
    tables = (
        Table(
            "rounds_view",
            key=("year",),
            columns=("year", "quota", "window_opens", "window_closes", "opened_on"),
        ),
    )
    migrations = [
        (
            "rounds_view_0001",
            """
        CREATE TABLE rounds_view (
            year          integer PRIMARY KEY,
            quota         integer NOT NULL,
            window_opens  date NOT NULL,
            window_closes date NOT NULL,
            opened_on     date NOT NULL
        );
    """,
        )
    ]

    @on("RoundOpened")
    def opened(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.insert(
            "rounds_view",
            {
                "year": p["year"],
                "quota": p["quota"],
                "window_opens": p["window_opens"],
                "window_closes": p["window_closes"],
                "opened_on": p["opened_on"],
            },
        )


class RegistryView(ReadModel):
    tables = (
        Table(
            "talents_view",
            key=("talent_id",),
            columns=(
                "talent_id",
                "application_id",
                "applicant_name",
                "county",
                "enterprise_code",
                "origin",
                "period_start",
                "period_end",
                "person_key",
            ),
        ),
        Table(
            "yixiang_persons",
            key=("person_key",),
            columns=("person_key", "name", "applied_year", "talent_id"),
        ),
    )
    migrations = [
        (
            "registry_0001",
            """
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
    """,
        ),
        (
            # LT-10.1: the talent's person (TalentCertified.person_key; older events carry none
            # and are found through their application or Yixiang record).
            "registry_0002",
            """
        ALTER TABLE talents_view ADD COLUMN person_key text;
        CREATE INDEX talents_view_person ON talents_view (person_key);
    """,
        ),
    ]

    @on("TalentCertified")
    def certified(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.insert(
            "talents_view",
            (  # every column, in order: a row never changed
                p["talent_id"],
                p["application_id"],
                p["applicant_name"],
                p["county"],
                p.get("enterprise_code"),
                p.get("origin", "selection"),
                p["period_start"],
                p["period_end"],
                p.get("person_key"),
            ),
        )

    @on("YixiangApplicantRegistered")
    def registered(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.upsert(
            "yixiang_persons",
            {"person_key": p["person_key"], "name": p["name"], "applied_year": p["applied_year"]},
        )

    @on("YixiangTalentTransferred")
    def transferred(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.upsert(
            "yixiang_persons",
            {"person_key": p["person_key"], "name": p["name"], "talent_id": p["talent_id"]},
            update={"talent_id": p["talent_id"]},
        )


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


# -- lookups for decisions (``cur`` inside the command's locked transaction) ---------------------
_PERSON_TALENTS = (
    "SELECT coalesce(json_agg(json_build_array(t.talent_id, t.period_start, t.period_end)"
    " ORDER BY t.period_start, t.talent_id), '[]') FROM talents_view t"
    " WHERE t.person_key = %s"
    " OR t.application_id IN (SELECT application_id FROM applications_view WHERE person_key = %s)"
    " OR t.talent_id IN (SELECT talent_id FROM yixiang_persons WHERE person_key = %s)"
)
"""A person's talents (LT-10.1), by their pseudonym: on the certification itself, or (events
recorded before it carried one) on the application or the Yixiang record it came from. (The same
subquery is written out in ``registry_lookups``.)"""

_ENTERPRISE_TALENTS = (
    "SELECT coalesce(json_agg(json_build_array(t.talent_id, t.period_start, t.period_end)"
    " ORDER BY t.period_start, t.talent_id), '[]') FROM talents_view t"
    " WHERE t.enterprise_code = %s AND NOT coalesce(t.person_key = %s"
    " OR t.application_id IN (SELECT application_id FROM applications_view WHERE person_key = %s)"
    " OR t.talent_id IN (SELECT talent_id FROM yixiang_persons WHERE person_key = %s), false)"
)
"""An enterprise's talents other than the given person's (LT-10: no *second* person of it)."""


def _periods(rows) -> tuple[tuple[str, dt.date, dt.date], ...]:
    """[talent_id, start, end] as JSON -> (talent_id, start, end) with dates."""
    return tuple(
        (talent_id, dt.date.fromisoformat(start), dt.date.fromisoformat(end))
        for talent_id, start, end in rows
    )


def registry_lookups(cur, *, person_key, enterprise_code, round_year, application_id):
    """What eligibility (LT-10) and once per person (LT-10.1) need to know about this person and
    enterprise (one round trip)."""
    out = {
        "former_yixiang": False,
        "enterprise_talent": None,
        "enterprise_rivals": (),
        "person_applications": (),
        "person_talents": (),
    }
    if not person_key and not enterprise_code:
        return out
    cur.execute(
        prepared(
            cur,
            "SELECT"
            " %s::text IS NOT NULL AND EXISTS (SELECT 1 FROM yixiang_persons"
            " WHERE person_key = %s),"
            " (SELECT talent_id FROM talents_view WHERE enterprise_code = %s"
            " ORDER BY period_start, talent_id LIMIT 1),"
            " ARRAY(SELECT application_id FROM applications_view WHERE round_year = %s"
            " AND enterprise_code = %s AND status = ANY(%s) AND application_id <> %s"
            " ORDER BY application_id),"
            " ARRAY(SELECT application_id FROM applications_view WHERE person_key = %s"
            " AND status = ANY(%s) AND application_id <> %s ORDER BY application_id),"
            " (SELECT coalesce(json_agg(json_build_array(t.talent_id, t.period_start,"
            " t.period_end) ORDER BY t.period_start, t.talent_id), '[]') FROM talents_view t"
            " WHERE t.person_key = %s OR t.application_id IN (SELECT application_id"
            " FROM applications_view WHERE person_key = %s) OR t.talent_id IN"
            " (SELECT talent_id FROM yixiang_persons WHERE person_key = %s))",
        ),
        (
            person_key or None,
            person_key or None,
            enterprise_code or None,
            round_year,
            enterprise_code or None,
            list(OPEN),
            application_id,
            person_key or None,
            list(OPEN),
            application_id,
            person_key or None,
            person_key or None,
            person_key or None,
        ),
    )
    former, talent, rivals, live, talents = cur.fetchone()
    out["former_yixiang"] = bool(former)
    if enterprise_code:
        out["enterprise_talent"] = talent
        out["enterprise_rivals"] = tuple(rivals)
    if person_key:
        out["person_applications"] = tuple(live)
        out["person_talents"] = _periods(talents)
    return out


def enterprise_talents(cur, enterprise_code, person_key=None):
    """The talents an enterprise ever had (LT-10) other than ``person_key``'s (a former talent
    of it applying again is not a second person), as (talent_id, period_start, period_end)."""
    if not enterprise_code:
        return ()
    cur.execute(_ENTERPRISE_TALENTS, (enterprise_code, person_key, person_key, person_key))
    return _periods(cur.fetchone()[0])


def person_talents(cur, person_key):
    """The talents a person ever was (LT-10.1), as (talent_id, period_start, period_end)."""
    if not person_key:
        return ()
    cur.execute(_PERSON_TALENTS, (person_key, person_key, person_key))
    return _periods(cur.fetchone()[0])


def standing(cur, round_year):
    """The round's live candidates that have an expert score (LT-8, LT-9.5), with how far they
    went and the rank the Commerce Bureau proposed."""
    cur.execute(
        "SELECT application_id, expert_score, stages_passed, status, proposal_rank"
        " FROM applications_view WHERE round_year = %s AND expert_score IS NOT NULL"
        " AND status = ANY(%s)",
        (round_year, list(OPEN) + ["certified"]),
    )
    return tuple(
        Candidate(
            app_id,
            score,
            approved=passed >= APPROVED_AT,
            confirmed=passed >= CONFIRMED_AT,
            certified=status == "certified",
            inspected=passed >= INSPECTED_AT,
            proposed=passed >= PROPOSED_AT,
            proposal_rank=rank,
        )
        for app_id, score, passed, status, rank in cur.fetchall()
    )


READ_MODELS = [ApplicationsView(), RoundsView(), RegistryView()]
