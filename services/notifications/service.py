"""The notifications service (通知): who is told what, on which channel, and whether it arrived.

Entrypoints: one inbox-guarded handler per source event it knows (``RULES`` and ``REGISTER``), a
timer that sends due e-mail and webhook messages (``dispatch.py``), HTTP for inboxes, the registry
of subscribers and contacts, deliveries (the dead-letter list and re-drive), and the public feeds
(公示 and assessment results; the only endpoints besides health that need no token).

Webhook signatures, headers and how to verify them: README.md beside this file."""
import time
import uuid

from nameko.web.handlers import http
from werkzeug.wrappers import Response

from services.notifications import channels, pages, projections, schemas
from services.notifications.dispatch import dispatcher, stream_of
from services.notifications.domain import delivery as delivery_domain
from services.notifications.domain import messages, registry
from services.notifications.domain.messages import (CATEGORIES_ZH, GRADES_ZH, RULES, Notify,
                                                    PartiesUnknown, addresses)
from services.notifications.domain.register import REGISTER, Source, noted
from shared import logging as tlog
from shared import service as base  # (not ServiceBase itself: `nameko run` would take it)
from shared.contracts import load_all
from shared.db import CONNECTION_ERRORS, prepared
from shared.clock import local_date
from shared.errors import ConcurrencyConflict, Forbidden, InvalidInput, NotFound
from shared.service import EventStoreProvider, endpoint, expected_version, parse_body, subscribe
from shared.timers import exclusive, timer

log = tlog.get_logger(__name__)
_CONTRACTS = load_all()


def handled_events():
    """The source events this service subscribes to: those with a rule or a register entry whose
    contract exists (a rule may be written before its producer ships the event)."""
    return sorted(key for key in set(RULES) | set(REGISTER)
                  if key[1] in _CONTRACTS.latest
                  and _CONTRACTS.contract(key[1]).service == key[0])


class Contended(Exception):
    """Two events about the same application or talent were handled at once and this one lost
    the append: not a refusal, so the inbox retries it (with backoff) instead of dead-lettering."""


# The events of one application travel on separate queues, so an event can be handled while the
# one that introduced its application (ApplicationSubmitted) is still being handled beside it:
# under load that was most EligibilityAssessed. Before giving up (PartiesUnknown: the inbox rolls
# back, logs a traceback and retries 0.2 s later), wait this long for the register, each time
# reading it again inside the same transaction (READ COMMITTED sees the other's commit), provided
# this handler has written nothing yet.
PARTIES_WAIT = (0.005, 0.01, 0.02, 0.04, 0.08)

_CONTACTS_AND_SUBSCRIBERS = (
    "SELECT ARRAY(SELECT ARRAY[recipient, email] FROM contacts WHERE recipient = ANY(%s)),"
    " ARRAY(SELECT subscriber_id FROM subscribers WHERE active AND %s = ANY(event_types))")


def _handler(source, event_type):
    def handle(self, event, cur):
        who = event.prefetched  # the register's row, read with the inbox insert
        for pause in PARTIES_WAIT + (None,):
            written = []
            try:
                return self._on_event(source, event_type, event, cur, written, who=who)
            except ConcurrencyConflict as exc:
                raise Contended(exc.message) from exc
            except PartiesUnknown:
                if pause is None or written:
                    raise
                time.sleep(pause)
                who = None  # read it again
    handle.__name__ = f"on_{source}_{event_type}"
    return subscribe(source, event_type,
                     prefetch=lambda event: _who_query(event.payload))(handle)


def _who_query(payload):
    """The register's row for the application or talent ``payload`` is about: (sql, args), or
    None if it is about neither."""
    for column in ("application_id", "talent_id"):
        if column in payload:
            return ("SELECT applicant, applicant_name, county, category FROM candidates"
                    f" WHERE {column} = %s", (payload[column],))
    return None


# -- who may read or address what ----------------------------------------------------------------
def _owns(principal, recipient, applicant_of=None):
    """``principal`` is the recipient named by ``recipient``. An applicant also owns the address
    ``applicant:<application_id>`` of an application the register knows as theirs."""
    kind, _, ident = recipient.partition(":")
    role, actor = principal.role, principal.actor_id
    return ((kind == "county" and role == "county_officer" and principal.county == ident)
            or (kind == "talent" and role == "talent" and actor == ident)
            or (kind == "applicant" and role == "applicant"
                and (actor == ident or (applicant_of and applicant_of(ident) == actor)))
            or (recipient == "finance" and role == "finance")
            or (recipient == "leading_group" and role == "leading_group")
            or (recipient == "bureau" and role == "prefecture_officer"))


def _may_read(principal, recipient, applicant_of=None):
    return (principal.role in ("prefecture_officer", "auditor")
            or _owns(principal, recipient, applicant_of))


def _may_address(principal, recipient, applicant_of=None):
    return principal.role == "prefecture_officer" or _owns(principal, recipient, applicant_of)


def _year(request):
    value = request.args.get("year")
    if value is None:
        return None
    if not value.isdigit() or not 2000 <= int(value) <= 2100:
        raise InvalidInput("year must be a calendar year", fields={"year": ["Not a valid year."]})
    return int(value)


def public_page(url):
    """A public HTML page (no token); errors are plain text, never a stack trace."""
    def decorator(fn):
        def wrapper(self, request):
            try:
                return Response(fn(self, request), mimetype="text/html", content_type=
                                "text/html; charset=utf-8")
            except InvalidInput as exc:
                return Response(exc.message, status=400, mimetype="text/plain")
            except CONNECTION_ERRORS:
                log.exception("page_failed_database", path=request.path)
                return Response("暂时无法访问，请稍后再试。", status=503, mimetype="text/plain")
            except Exception:  # noqa: BLE001 - a bug: logged, no internals shown
                log.exception("page_failed", path=request.path)
                return Response("internal error", status=500, mimetype="text/plain")
        wrapper.__name__ = fn.__name__
        return http("GET", url)(wrapper)
    return decorator


class NotificationsService(base.ServiceBase):
    name = "notifications"
    store = EventStoreProvider(projectors=projections.READ_MODELS)

    for _source, _type in handled_events():
        locals()[f"on_{_source}_{_type}"] = _handler(_source, _type)
    del _source, _type

    # -- consuming other services' events ------------------------------------------------------
    def _on_event(self, source, event_type, event, cur, written=None, who=None):
        """``written`` (a list) is told whether this handler appended anything yet; ``who``: the
        register's row if already read (``_who``), None to read it here. Everything
        is read before the first append: an append holds the store's lock until COMMIT, and the
        last one brings COMMIT with it (no client round trip under the lock but between the
        register's append and the notification's, when the event has both)."""
        p, key = event.payload, (source, event_type)
        written = [] if written is None else written
        who = self._who(p, cur) if who is None else who
        register = rule = None
        if key in REGISTER:
            register = REGISTER[key](Source(
                source, event_type, p, event.metadata.get("actor_id"),
                event.metadata.get("actor_role"), local_date(event.recorded_at)))
        if key in RULES:
            # who the rule addresses: what the register knows, or (an event that introduces
            # the application or talent) what it is about to learn from this very event
            rule_who = who or (noted(register[2]) if register else {})
            recipients = addresses(RULES[key], p, rule_who)
            cur.execute(prepared(cur, _CONTACTS_AND_SUBSCRIBERS), (recipients, event_type))
            contacts, subscribers = cur.fetchone()
            rule = self.store.context(who=rule_who, contacts=dict(contacts),
                                      subscribers=subscribers)
        if register:
            decider, stream_key, command = register
            written += self.store.execute(decider, f"{decider.stream_type}-{stream_key}",
                                          command, context=self.store.context(who=who),
                                          cur=cur, commit=rule is None)
        if rule:
            self.store.execute(messages.notification, f"notification-{event.event_id}",
                               Notify(source, event_type, event.event_id, p), context=rule,
                               cur=cur, commit=True, new_stream=True)

    @staticmethod
    def _who(payload, cur):
        """The register's row for the application or talent ``payload`` is about, or {}."""
        query = _who_query(payload)
        if query is None:
            return {}
        cur.execute(*query)
        row = cur.fetchone()
        return dict(zip([c.name for c in cur.description], row)) if row else {}

    def _applicant_of(self, application_id):
        row = self.store.query("SELECT applicant FROM candidates WHERE application_id = %s",
                               (application_id,), one=True)
        return row and row["applicant"].removeprefix("applicant:")

    # -- sending ---------------------------------------------------------------------------------
    @timer("DELIVERY_TICK_SECONDS", 1.0)
    def send_due(self):
        """Every tick in every replica; the claiming runs in one at a time (shared.timers)."""
        counts = dispatcher(self.store, exclusive).tick()
        if counts.get("claimed"):
            log.info("deliveries_sent", **counts)

    # -- inboxes ---------------------------------------------------------------------------------
    @endpoint("GET", "/inbox/<path:recipient>", action="inbox.read")
    def inbox(self, request, recipient):
        if not _may_read(self.store.principal, recipient, self._applicant_of):
            raise Forbidden(f"{self.store.principal.role} may not read {recipient}'s inbox")
        return {"recipient": recipient, "messages": self.store.query(
            "SELECT notification_id, subject, body, source_service, source_event_type,"
            " source_event_id, recorded_at FROM inbox_messages WHERE recipient = %s"
            " ORDER BY recorded_at, notification_id", (recipient,))}

    # -- webhook subscribers ---------------------------------------------------------------------
    def _subscriber(self, subscriber_id):
        row = self.store.query("SELECT subscriber_id, name, url, event_types, secret_version,"
                               " active, version, registered_at, updated_at FROM subscribers"
                               " WHERE subscriber_id = %s", (subscriber_id,), one=True)
        if row is None:
            raise NotFound(f"unknown subscriber {subscriber_id}")
        return row

    def _secret(self, subscriber_id, events):
        version = events[-1].payload["secret_version"]
        return {"subscriber_id": subscriber_id, "secret_version": version,
                "secret": channels.subscriber_secret(self.store.config["WEBHOOK_SIGNING_KEY"],
                                                     subscriber_id, version),
                "signature": {"algorithm": "HMAC-SHA256", "signed": "<timestamp>.<body>",
                              "headers": [channels.HEADER_DELIVERY, channels.HEADER_EVENT,
                                          channels.HEADER_TIMESTAMP, channels.HEADER_SIGNATURE],
                              "tolerance_seconds": channels.SIGNATURE_TOLERANCE_SECONDS}}

    @endpoint("POST", "/subscribers", action="subscriber.manage")
    def register_subscriber(self, request):
        data = parse_body(request, schemas.Subscription())
        subscriber_id = str(uuid.uuid4())
        events = self.store.execute(registry.subscriber, f"subscriber-{subscriber_id}",
                                    registry.Register(subscriber_id, data["name"], data["url"],
                                                      tuple(data["event_types"])))
        return 201, dict(self._secret(subscriber_id, events), version=events[-1].stream_version,
                         event_types=events[-1].payload["event_types"])

    @endpoint("GET", "/subscribers", action="subscriber.manage")
    def list_subscribers(self, request):
        return {"subscribers": self.store.query(
            "SELECT subscriber_id, name, url, event_types, secret_version, active, version,"
            " registered_at, updated_at FROM subscribers ORDER BY registered_at")}

    @endpoint("GET", "/subscribers/<subscriber_id>", action="subscriber.manage")
    def get_subscriber(self, request, subscriber_id):
        return self._subscriber(subscriber_id)

    @endpoint("PUT", "/subscribers/<subscriber_id>", action="subscriber.manage")
    def change_subscriber(self, request, subscriber_id):
        self._subscriber(subscriber_id)
        data = parse_body(request, schemas.Subscription())
        self.store.execute(registry.subscriber, f"subscriber-{subscriber_id}",
                           registry.Change(data["name"], data["url"], tuple(data["event_types"])),
                           expected_version=expected_version(request))
        return self._subscriber(subscriber_id)

    @endpoint("POST", "/subscribers/<subscriber_id>/secret", action="subscriber.manage")
    def rotate_secret(self, request, subscriber_id):
        self._subscriber(subscriber_id)
        events = self.store.execute(registry.subscriber, f"subscriber-{subscriber_id}",
                                    registry.RotateSecret(),
                                    expected_version=expected_version(request))
        return self._secret(subscriber_id, events)

    @endpoint("DELETE", "/subscribers/<subscriber_id>", action="subscriber.manage")
    def deactivate_subscriber(self, request, subscriber_id):
        self._subscriber(subscriber_id)
        self.store.execute(registry.subscriber, f"subscriber-{subscriber_id}",
                           registry.Deactivate(), expected_version=expected_version(request))
        return self._subscriber(subscriber_id)

    # -- e-mail contacts -------------------------------------------------------------------------
    def _addressable(self, recipient):
        recipient = schemas.recipient_address(recipient)
        if not _may_address(self.store.principal, recipient, self._applicant_of):
            raise Forbidden(f"{self.store.principal.role} may not set {recipient}'s contact")
        return recipient

    def _contact(self, recipient):
        row = self.store.query("SELECT recipient, email, updated_at FROM contacts"
                               " WHERE recipient = %s", (recipient,), one=True)
        if row is None:
            raise NotFound(f"no e-mail address for {recipient}")
        return row

    @endpoint("PUT", "/contacts/<path:recipient>", action="contact.manage")
    def set_contact(self, request, recipient):
        recipient = self._addressable(recipient)
        data = parse_body(request, schemas.SetContact())
        self.store.execute(registry.contact, f"contact-{recipient}",
                           registry.SetEmail(recipient, data["email"]))
        return self._contact(recipient)

    @endpoint("GET", "/contacts/<path:recipient>", action="contact.manage")
    def get_contact(self, request, recipient):
        return self._contact(self._addressable(recipient))

    @endpoint("DELETE", "/contacts/<path:recipient>", action="contact.manage")
    def remove_contact(self, request, recipient):
        recipient = self._addressable(recipient)
        self._contact(recipient)
        self.store.execute(registry.contact, f"contact-{recipient}",
                           registry.RemoveEmail(recipient))
        return {"recipient": recipient, "email": None}

    # -- deliveries: status, dead letters, re-drive ----------------------------------------------
    _DELIVERY_COLUMNS = ("notification_id, channel, recipient, subject, source_service,"
                         " source_event_type, source_event_id, status, attempts, last_error,"
                         " next_attempt_at, attempted_at, delivered_at, dead_at, recorded_at")

    @endpoint("GET", "/deliveries", action="delivery.read")
    def list_deliveries(self, request):
        sql, params = f"SELECT {self._DELIVERY_COLUMNS} FROM deliveries WHERE true", []
        for column in ("status", "channel", "recipient", "source_event_id"):
            if request.args.get(column):
                sql += f" AND {column} = %s"
                params.append(request.args[column])
        return {"deliveries": self.store.query(sql + " ORDER BY recorded_at, notification_id"
                                               " LIMIT 1000", params)}

    @endpoint("GET", "/deliveries/dead-letters", action="delivery.read")
    def dead_deliveries(self, request):
        return {"dead_letters": self.store.query(
            f"SELECT {self._DELIVERY_COLUMNS} FROM deliveries WHERE status = 'dead'"
            " ORDER BY dead_at, notification_id")}

    def _delivery(self, notification_id):
        row = self.store.query(f"SELECT {self._DELIVERY_COLUMNS} FROM deliveries"
                               " WHERE notification_id = %s", (notification_id,), one=True)
        if row is None:
            raise NotFound(f"no e-mail or webhook delivery {notification_id}")
        return row

    @endpoint("GET", "/deliveries/<notification_id>", action="delivery.read")
    def get_delivery(self, request, notification_id):
        row = self._delivery(notification_id)
        row["history"] = [{"type": e.event_type, "payload": e.data,
                           "recorded_at": e.recorded_at.isoformat()}
                          for e in self.store.store.read_stream(stream_of(notification_id))]
        return row

    @endpoint("POST", "/deliveries/<notification_id>/redrive", action="delivery.redrive")
    def redrive_delivery(self, request, notification_id):
        row = self._delivery(notification_id)
        self.store.execute(delivery_domain.delivery, stream_of(notification_id),
                           delivery_domain.Redrive(notification_id, row["channel"]),
                           expected_version=expected_version(request))
        return self._delivery(notification_id)

    # -- the public feeds (no token) -------------------------------------------------------------
    def _notices(self, request):
        closed = request.args.get("include") == "closed"
        rows = self.store.query(
            "SELECT applicant_name AS name, county, category, round_year,"
            " notice_start AS start_date, notice_end AS end_date, working_days, status"
            " FROM candidates WHERE notice_start IS NOT NULL"
            + ("" if closed else " AND status IN ('on_notice', 'suspended')")
            + " ORDER BY notice_start, county, applicant_name")
        for row in rows:
            row["category_name"] = CATEGORIES_ZH.get(row["category"], row["category"])
        return rows

    @endpoint("GET", "/public/notices", public=True)
    def public_notices(self, request):
        """People on public notice (公示, LT-9.5): name, county, category and the notice's dates;
        ``status`` ``suspended`` while an objection is being looked into. ``?include=closed``
        adds past notices with their outcome (certified, rejected, withdrawn)."""
        return {"as_of": self.store.clock.today(), "clause": "LT-9.5",
                "notices": self._notices(request)}

    @public_page("/public/notices.html")
    def public_notices_page(self, request):
        return pages.notices_page(self._notices(request), self.store.clock.today())

    def _results(self, request):
        year = _year(request)
        years = [r["year"] for r in self.store.query(
            "SELECT DISTINCT extract(year FROM assessed_on)::int AS year FROM assessment_results"
            " ORDER BY year DESC")]
        year = year or (years[0] if years else self.store.clock.today().year)
        rows = self.store.query(
            "SELECT applicant_name AS name, county, category, tenure_year, result, assessed_on"
            " FROM assessment_results WHERE extract(year FROM assessed_on) = %s"
            " ORDER BY county, applicant_name, tenure_year", (year,))
        for row in rows:
            row["category_name"] = CATEGORIES_ZH.get(row["category"], row["category"])
            row["result_name"] = GRADES_ZH[row["result"]]
        return year, years, rows

    @endpoint("GET", "/public/assessment-results", public=True)
    def public_results(self, request):
        """The annual assessment results the Commerce Bureau announces (LT-11.1), by the calendar
        year of the assessment (``?year=``; default the latest year with results)."""
        year, years, rows = self._results(request)
        return {"year": year, "years": years, "clause": "LT-11.1", "results": rows}

    @public_page("/public/assessment-results.html")
    def public_results_page(self, request):
        year, _, rows = self._results(request)
        return pages.results_page(year, rows)
