"""The applications service (申报与评审): thin Nameko entrypoints over the round, application and
Yixiang-person deciders.

Every command runs in one transaction. A command whose rules span applications (certification and
the quota stages: the quota; rounds and the Yixiang register; a submission) first takes the
service's rules lock, then reads what the decision needs (the round, the registry, the round's
standing), decides and appends, so those rules cannot be raced past. A submission's rules (one
talent per enterprise, former Yixiang applicants) span only its enterprise and its person: it
holds the rules lock shared and one exclusive lock per enterprise and per person (``keys``), so
submissions of different enterprises and people run side by side, while the commands above still
exclude them (under load, before session 4, half the service's backends waited on that lock). A command that decides on its own application alone (the other review
stages, notice, objections, withdrawal) takes no such lock: its stream's version guards it, and
what it changes can only make a rule-spanning check stricter, never let one through. (Until
session 3 every command took the store's append lock for its whole transaction: every command of
the service then ran one at a time, and under load most waited on that lock.)

Time: "today" is the service clock's (``shared/clocks.py``): the real date, or ``CLOCK_TODAY`` in
a test or demo configuration. Working days: ``WORKING_DAY_OVERRIDES`` (``shared/calendar.py``).
"""
import uuid

from nameko.extensions import DependencyProvider

from services.applications import schemas
from services.applications.domain import application as app_domain
from services.applications.domain import round as round_domain
from services.applications.domain import yixiang as yixiang_domain
from services.applications.domain.application import (
    Certify, RaiseObjection, ResolveObjection, Review, StartNotice, Submit, Withdraw)
from services.applications.domain.policy import STAGES
from services.applications.identity import mask_id_number, person_key
from services.applications import projections
from services.applications.projections import enterprise_talent, registry_lookups, standing
from shared import logging as tlog
from shared import service as base  # (not ServiceBase itself: `nameko run` would take it)
from shared.auth import authorize
from shared.calendar import WorkingDayCalendar
from shared.clock import clock_for
from shared.crypto import PERSONAL
from shared.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from shared.eventstore import NewEvent
from shared.service import EventStoreProvider, endpoint, expected_version, parse_body, rpc
from shared.locks import lock_key, rule_key_lock

log = tlog.get_logger(__name__)
STAGE_ACTION = {name: f"review.{name}" for name, _, _ in STAGES}
RULES_LOCK = lock_key("applications.rules")
QUOTA_STAGES = ("approval", "standing_committee")


class ApplicationsStore(EventStoreProvider):
    """The event store with the configured clock. Read models a migration added (or widened) after
    events were recorded are rebuilt from the events at start, by one replica at a time."""

    def setup(self):
        super().setup()
        self.clock = clock_for(self.config)
        with self.db.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("applications.rebuild"),))
            cur.execute("SELECT EXISTS (SELECT 1 FROM applications_view WHERE submitted_on IS NULL)"
                        " OR (NOT EXISTS (SELECT 1 FROM rounds_view) AND EXISTS (SELECT 1 FROM"
                        " events WHERE event_type = 'RoundOpened'))"
                        " OR (NOT EXISTS (SELECT 1 FROM talents_view) AND EXISTS (SELECT 1 FROM"
                        " events WHERE event_type = 'TalentCertified'))")
            stale = cur.fetchone()[0]
        if stale:
            log.warning("read_models_rebuilding")
            self.store.rebuild_projections()


class WorkingDays(DependencyProvider):
    """The working-day calendar, built once at start-up from ``WORKING_DAY_OVERRIDES`` (a malformed
    schedule stops the service with a message naming the year and the date)."""

    def setup(self):
        self.calendar = WorkingDayCalendar.from_config(
            self.container.config.get("WORKING_DAY_OVERRIDES"))

    def get_dependency(self, worker_ctx):
        return self.calendar


def _year_arg(request):
    """The ``round`` query argument as a year, or InvalidInput naming it."""
    value = request.args.get("round")
    if value is None or value.isdigit():
        return value and int(value)
    raise InvalidInput("round must be a year", fields={"round": ["Not a valid integer."]})


_VIEW_ROW = "SELECT * FROM applications_view WHERE application_id = %s"


def _row_dict(cur):
    """The cursor's next row as a dict by column name, or None."""
    row = cur.fetchone()
    return None if row is None else dict(zip([c.name for c in cur.description], row))


def _plain(row):
    """A read-model row as JSON-safe values for RPC callers (dates and decimals as text)."""
    return {k: (v if v is None or isinstance(v, (bool, int, str, list, dict)) else str(v))
            for k, v in row.items()}


class ApplicationsService(base.ServiceBase):
    name = "applications"
    store = ApplicationsStore(projectors=projections.READ_MODELS)
    calendar = WorkingDays()

    # -- the one way a command runs -------------------------------------------------------------
    def _run(self, decider, stream_id, command, *, request=None, lookups=None, view=None,
             keys=None):
        """Decide ``command`` on ``stream_id`` with ``lookups(cur)`` (a dict) added to the
        context, under the rules lock if there are lookups or no ``view`` (see the module doc):
        exclusively, or, given ``keys`` (names of what the rules read, e.g. an enterprise), shared
        and with an exclusive lock per key. ``request``'s If-Match guards against a stale caller.
        ``view``, ``(application_id, action)``: the application's row is read in the same round
        trip as BEGIN (and the locks), its reader authorised for ``action`` (404/403 as
        ``_application``), and handed to ``lookups(cur, row)``."""
        session = self.store
        begin, args = "BEGIN; ", ()
        if keys:
            # sorted: two commands' key locks are always taken in one order (no deadlock)
            ordered = sorted({rule_key_lock(key) for key in keys})
            begin += "SELECT pg_advisory_xact_lock_shared(%s); " + \
                "SELECT pg_advisory_xact_lock(%s); " * len(ordered)
            args = (RULES_LOCK, *ordered)
        elif lookups is not None or view is None:
            begin, args = begin + "SELECT pg_advisory_xact_lock(%s); ", (RULES_LOCK,)
        with session.db.explicit_transaction() as cur:
            if view is None:
                cur.execute(begin, args)
                expected = expected_version(request) if request is not None else None
                found = lookups(cur) if lookups else {}
            else:
                cur.execute(begin + _VIEW_ROW, (*args, view[0]))
                app = self._authorized(_row_dict(cur), *view)
                expected = expected_version(request) if request is not None else None
                found = lookups(cur, app) if lookups else {}
            context = session.context(calendar=self.calendar, **found)
            return session.execute(decider, stream_id, command, context=context,
                                   expected_version=expected, cur=cur, commit=True)

    def _round(self, cur, year):
        history = self.store.store.read_stream(round_domain.stream(year), cur=cur)
        return round_domain.selection_round.replay(history) if history else None

    def _result(self, events, status=200, **extra):
        last = events[-1] if events else None
        return status, {**extra, "version": last.stream_version if last else None,
                        "events": [{"type": e.event_type, "clauses": e.clauses, "payload": e.data}
                                   for e in events]}

    # -- reading applications with their authorisation ------------------------------------------
    def _application(self, application_id, action="application.read"):
        return self._authorized(self.store.query(_VIEW_ROW, (application_id,), one=True),
                                application_id, action)

    def _authorized(self, row, application_id, action):
        """``row`` of the application if the caller may do ``action`` on it."""
        if row is None:
            raise NotFound(f"application {application_id} not found")
        principal = self.store.principal
        if principal is not None:
            authorize(principal, action, row["county"])
            if principal.role == "applicant" and row["applicant_id"] != principal.actor_id:
                raise Forbidden("an applicant acts only on their own application")
        return row

    def _on_application(self, request, application_id, action, command, lookups=None):
        events = self._run(app_domain.application, app_domain.stream(application_id), command,
                           request=request, lookups=lookups, view=(application_id, action))
        return self._result(events, application_id=application_id)

    def _quota_context(self, cur, app):
        return {"round": self._round(cur, app["round_year"]),
                "standing": standing(cur, app["round_year"])}

    # -- rounds (LT-3, LT-8) --------------------------------------------------------------------
    @endpoint("POST", "/rounds", action="round.open")
    def open_round(self, request):
        data = parse_body(request, schemas.OpenRound)
        events = self._run(round_domain.selection_round, round_domain.stream(data["year"]),
                           round_domain.OpenRound(**data))
        return self._result(events, 201, year=data["year"])

    @endpoint("GET", "/rounds", action="application.read")
    def list_rounds(self, request):
        return {"rounds": self.store.query("SELECT * FROM rounds_view ORDER BY year")}

    @endpoint("GET", "/rounds/<int:year>", action="application.read")
    def get_round(self, request, year):
        return self._round_status(year)

    def _round_status(self, year):
        row = self.store.query("SELECT * FROM rounds_view WHERE year = %s", (year,), one=True)
        if row is None:
            raise NotFound(f"no selection round for {year}")
        counts = self.store.query("SELECT status, count(*)::int AS n FROM applications_view"
                                  " WHERE round_year = %s GROUP BY status", (year,))
        row["applications"] = {r["status"]: r["n"] for r in counts}
        row["certified"] = row["applications"].get("certified", 0)
        return row

    # -- the application --------------------------------------------------------------------------
    @endpoint("POST", "/applications", action="application.submit")
    def submit(self, request):
        data = parse_body(request, schemas.SubmitApplication)
        principal = self.store.principal
        authorize(principal, "application.submit", data["county"])
        if principal.role == "applicant":
            if data.setdefault("applicant_id", principal.actor_id) != principal.actor_id:
                raise Forbidden("an applicant files only their own application",
                                fields={"applicant_id": ["Must be your own id."]})
        id_number = data.pop("id_number")
        key = person_key(self.store.config["PERSON_KEY_SECRET"], id_number)
        application_id = str(uuid.uuid4())
        command = Submit(application_id=application_id, person_key=key,
                         id_number_masked=mask_id_number(id_number), **data)

        def lookups(cur):
            return {"round": self._round(cur, data["round_year"]),
                    "lookups": registry_lookups(cur, person_key=key,
                                                enterprise_code=data["enterprise_code"],
                                                round_year=data["round_year"],
                                                application_id=application_id)}
        events = self._run(app_domain.application, app_domain.stream(application_id), command,
                           lookups=lookups, keys=[f"person:{key}"] + (
                               [f"enterprise:{data['enterprise_code']}"]
                               if data["enterprise_code"] else []))
        assessed = events[-1].payload
        return self._result(events, 201, application_id=application_id,
                            eligible=assessed["eligible"], failed=assessed["failed"])

    @endpoint("POST", "/applications/<application_id>/reviews")
    def review(self, request, application_id):
        data = parse_body(request, schemas.RecordReview)
        command = Review(
            stage=data["stage"], passed=data["decision"] == "pass", opinion=data["opinion"],
            reasons=tuple(data["reasons"]), decided_on=data["decided_on"],
            county_opinions=tuple(data.get("county_opinions", ())),
            experts=tuple(data.get("experts", ())), chair=data.get("chair"),
            discipline_opinion=data.get("discipline_opinion"),
            findings=data.get("findings", ""), cited=tuple(data["clauses"]))
        return self._on_application(request, application_id, STAGE_ACTION[data["stage"]],
                                    command, self._quota_context
                                    if data["stage"] in QUOTA_STAGES else None)

    @endpoint("POST", "/applications/<application_id>/notice", action="notice.start")
    def start_notice(self, request, application_id):
        data = parse_body(request, schemas.StartNotice)
        return self._on_application(request, application_id, "notice.start",
                                    StartNotice(data["start_date"]))

    @endpoint("POST", "/applications/<application_id>/objections", action="objection.record")
    def raise_objection(self, request, application_id):
        data = parse_body(request, schemas.RaiseObjection)
        command = RaiseObjection(objection_id=str(uuid.uuid4()), **data)
        status, body = self._on_application(request, application_id, "objection.record",
                                            command)
        return 201, {**body, "objection_id": command.objection_id}

    @endpoint("POST", "/applications/<application_id>/objections/<objection_id>/resolution", action="objection.resolve")
    def resolve_objection(self, request, application_id, objection_id):
        data = parse_body(request, schemas.ResolveObjection)
        return self._on_application(request, application_id, "objection.resolve",
                                    ResolveObjection(objection_id, data["outcome"] == "upheld",
                                                     data["finding"], data["resolved_on"]))

    @endpoint("POST", "/applications/<application_id>/certification", action="notice.close")
    def certify(self, request, application_id):
        def lookups(cur, app):
            code = app["enterprise_code"]
            return {**self._quota_context(cur, app),
                    "lookups": {"enterprise_talent": code and enterprise_talent(cur, code)}}
        return self._on_application(request, application_id, "notice.close",
                                    Certify(talent_id=f"talent-{application_id}"), lookups)

    @endpoint("POST", "/applications/<application_id>/withdrawal", action="application.withdraw")
    def withdraw(self, request, application_id):
        data = parse_body(request, schemas.Withdraw)
        return self._on_application(request, application_id, "application.withdraw",
                                    Withdraw(data["reason"]))

    @endpoint("POST", "/applications/<application_id>/erasure", action="person.erase")
    def erase_person(self, request, application_id):
        """Erase the applicant's personal data (个人信息保护法 art. 47): delete their key, so every
        field sealed for them (shared/crypto.py: ID number's masked form, phone, native place,
        photo) reads "erased" in every event, the hash chain unchanged; record ``PersonErased``,
        which names them only by pseudonym."""
        data = parse_body(request, schemas.ErasePerson)
        self._application(application_id, "person.erase")
        session = self.store
        store = session.store
        history = store.read_stream(app_domain.stream(application_id))
        submitted = next((e for e in history if e.event_type == "ApplicationSubmitted"), None)
        key = submitted and submitted.data.get("person_key")
        if not key:
            raise NotFound(f"application {application_id} names no person to erase")
        with session.db.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (RULES_LOCK,))  # vs. sealing
            if not store.keystore.erase(cur, key):
                raise RuleViolation("PIPL-47",
                                    f"the applicant of {application_id} is already erased")
            events = store.append("person", f"person-{key}", None, [NewEvent(
                "PersonErased", {"person_key": key, "application_id": application_id,
                                 "erased_on": session.clock.today(), "basis": data["basis"],
                                 "fields_erased": list(PERSONAL["ApplicationSubmitted"][1])},
                ("PIPL-47",))], session.metadata(app_domain.application.policy_version),
                cur=cur)
        log.info("person_erased", application_id=application_id, basis=data["basis"])
        return self._result(events, application_id=application_id, erased=True)

    @endpoint("GET", "/applications/<application_id>", action="application.read")
    def get_application(self, request, application_id):
        app = self._application(application_id)
        history = self.store.store.read_stream(app_domain.stream(application_id))
        app["history"] = [{"position": e.global_position, "version": e.stream_version,
                           "type": e.event_type, "payload": e.data, "metadata": e.metadata,
                           "recorded_at": e.recorded_at.isoformat()} for e in history]
        app["eligibility"] = next((e.data for e in history
                                   if e.event_type == "EligibilityAssessed"), None)
        return app

    @endpoint("GET", "/applications", action="application.read")
    def list_applications(self, request):
        principal, args = self.store.principal, request.args
        filters = {"county": args.get("county"), "round_year": _year_arg(request),
                   "status": args.get("status"), "stage": args.get("stage")}
        if principal.role == "county_officer":
            authorize(principal, "application.read", filters["county"] or principal.county)
            filters["county"] = principal.county
        if principal.role == "applicant":
            filters["applicant_id"] = principal.actor_id
        sql, params = "SELECT * FROM applications_view WHERE true", []
        for column, value in filters.items():
            if value:
                sql += f" AND {column} = %s"
                params.append(value)
        return {"applications": self.store.query(sql + " ORDER BY updated_at, application_id",
                                                 params)}

    @endpoint("GET", "/notices", public=True)
    def public_notices(self, request):
        """The public-notice list (公示): who is on notice, from when to when."""
        return {"notices": self._notices(_year_arg(request))}

    def _notices(self, round_year=None):
        sql = ("SELECT application_id, round_year, applicant_name, county, enterprise_name,"
               " category, notice_start, notice_end, status FROM applications_view"
               " WHERE status IN ('on_notice', 'suspended')")
        params = []
        if round_year:
            sql += " AND round_year = %s"
            params.append(round_year)
        return self.store.query(sql + " ORDER BY notice_start, application_id", params)

    # -- the Yixiang scheme (LT-10, LT-16) -------------------------------------------------------
    def _person(self, id_number):
        return person_key(self.store.config["PERSON_KEY_SECRET"], id_number), \
            mask_id_number(id_number)

    @endpoint("POST", "/yixiang/applicants", action="yixiang.import")
    def register_yixiang_applicant(self, request):
        data = parse_body(request, schemas.RegisterYixiangApplicant)
        key, masked = self._person(data["id_number"])
        events = self._run(yixiang_domain.yixiang_person, yixiang_domain.stream(key),
                           yixiang_domain.RegisterFormerApplicant(key, masked, data["name"],
                                                                  data["applied_year"]))
        return self._result(events, 201 if events else 200, registered=True)

    @endpoint("POST", "/yixiang/transfers", action="yixiang.import")
    def transfer_yixiang_talent(self, request):
        data = parse_body(request, schemas.TransferYixiangTalent)
        key, masked = self._person(data.pop("id_number"))
        enterprise = data.pop("enterprise")
        code = enterprise["credit_code"]
        command = yixiang_domain.TransferTalent(
            talent_id=f"talent-yixiang-{data['yixiang_talent_id']}", person_key=key,
            id_number_masked=masked, enterprise_name=enterprise["name"],
            enterprise_code=None if code == schemas.NONE else code, **data)
        events = self._run(yixiang_domain.yixiang_person, yixiang_domain.stream(key), command,
                           request=request)
        return self._result(events, 201, talent_id=command.talent_id)

    # -- for other services ----------------------------------------------------------------------
    @rpc
    def application_status(self, application_id):
        return _plain(self._application(application_id))

    @rpc
    def round_status(self, year):
        return _plain(self._round_status(year))

    @rpc
    def notices(self, round_year=None):
        return [_plain(row) for row in self._notices(round_year)]
