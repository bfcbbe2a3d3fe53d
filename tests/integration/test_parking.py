"""Events that arrive before the event they depend on, against real PostgreSQL: parked (never
dead-lettered, never waited for in a worker), taken up once the earlier event was handled, with
exactly one effect; overdue ones alerted on, not lost. Every notifications handler is sent its
event before the one that introduces its application or talent."""

import sys
import types
import uuid
from pathlib import Path

import orjson
import pytest

from services.notifications import projections
from services.notifications.service import NotificationsService, handled_events
from shared import metrics
from shared.clock import Clock
from shared.contracts import load_all
from shared.db import Database
from shared.errors import Awaiting, RuleViolation
from shared.messaging.inbox import Inbox
from shared.runtime.provider import UnitOfWork
from shared.store import EventStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))  # its own imports' home
from tests.unit.test_notifications_domain import SAMPLES  # noqa: E402 - (each rule's sample)

pytestmark = pytest.mark.integration

# The notifications handlers that depend on an earlier event (README "Events out of order"):
# those about an application or a talent the register must know already, to address the
# applicant or the county or to publish the person's name.
DEPENDS_ON_EARLIER = {
    ("applications", "EligibilityAssessed"),
    ("applications", "ReviewPassed"),
    ("applications", "ReviewRejected"),
    ("applications", "PublicNoticeStarted"),
    ("applications", "ObjectionRaised"),
    ("applications", "ObjectionResolved"),
    ("applications", "ApplicationWithdrawn"),
    ("assessment", "AnnualReportFiled"),
    ("assessment", "AnnualReportMissed"),
    ("assessment", "AssessmentPassed"),
    ("assessment", "AssessmentFailed"),
    ("assessment", "ObligationBreached"),
    ("assessment", "RectificationOrdered"),
    ("assessment", "RectificationConfirmed"),
    ("assessment", "RectificationDeadlineMissed"),
    ("assessment", "DisqualificationGroundReported"),
    ("assessment", "DisqualificationProposed"),
    ("assessment", "DisqualificationDeclined"),
    ("assessment", "TalentDisqualified"),
    ("assessment", "TenureCompleted"),
}


@pytest.fixture
def notifications(fresh_db):
    """A NotificationsService instance wired to a fresh database (no nameko container)."""
    db = Database(fresh_db("park"), max_size=4)
    store = EventStore(db, "notifications", projectors=projections.READ_MODELS)
    store.migrate()
    inbox = Inbox(db, "notifications", load_all())
    inbox.migrate()
    provider = types.SimpleNamespace(
        events=store, db=db, settings=None, clock=Clock(), service="notifications", inbox=inbox
    )
    service = NotificationsService()
    service.uow = UnitOfWork(provider, types.SimpleNamespace(context_data={}))
    yield service
    db.close()


def envelope(source, event_type, payload, position=1):
    return orjson.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "schema_version": load_all().latest[event_type],
            "source": source,
            "stream_type": "x",
            "stream_id": "x-1",
            "stream_version": 1,
            "global_position": position,
            "recorded_at": "2026-11-23T02:00:00+00:00",
            "payload": payload,
            "metadata": {"correlation_id": "c-1", "actor_id": "u-li", "actor_role": "applicant"},
        }
    )


def deliver(service, source, event_type, payload):
    """What nameko does with a message of ``event_type``: call its entrypoint; the outcome."""
    return getattr(service, f"on_{source}_{event_type}")(envelope(source, event_type, payload))


def with_ids(payload, application_id, talent_id):
    out = dict(payload)
    if "application_id" in out:
        out["application_id"] = application_id
    if "talent_id" in out:
        out["talent_id"] = talent_id
    return out


def predecessor(application_id, talent_id):
    """The event that introduces an application and its talent to the register."""
    payload = dict(SAMPLES[("applications", "TalentCertified")][0])
    payload.update(application_id=application_id, talent_id=talent_id)
    return "applications", "TalentCertified", payload


def rows(service, sql, args=()):
    with service.uow.db.transaction() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def notifications_of(service, event_id):
    return rows(
        service,
        "SELECT count(*) FROM events WHERE event_type = 'NotificationRecorded'"
        " AND payload->>'source_event_id' = %s",
        (event_id,),
    )[0][0]


CASES = sorted(k for k in handled_events() if k in SAMPLES)


@pytest.mark.parametrize("key", CASES, ids=lambda k: k[1])
def test_each_handler_out_of_order_is_parked_then_taken_up_once(notifications, key):
    source, event_type = key
    app, talent = f"app-{uuid.uuid4().hex[:8]}", f"talent-{uuid.uuid4().hex[:8]}"
    payload = with_ids(SAMPLES[key][0], app, talent)
    outcome = deliver(notifications, source, event_type, payload)
    inbox = notifications.uow.provider.inbox
    if key not in DEPENDS_ON_EARLIER:
        assert outcome == "handled"
        return
    assert outcome == "parked"
    assert inbox.dead_letters() == []
    (parked,) = inbox.parked_events()
    assert parked["event_type"] == event_type
    assert parked["subject"] in (f"application_id={app}", f"talent_id={talent}")
    # taken up too early, it stays parked (no dead letter, no effect)
    assert inbox.take_up(notifications, notifications.uow) in ({}, {"parked": 1})
    assert len(inbox.parked_events()) == 1
    # the earlier event comes: it wakes the parked one, which the next sweep handles
    assert deliver(notifications, *predecessor(app, talent)) == "handled"
    assert inbox.take_up(notifications, notifications.uow) == {"handled": 1}
    assert inbox.parked_events() == []
    assert inbox.dead_letters() == []
    assert notifications_of(notifications, parked["event_id"]) >= 1
    # a redelivery of it now is a duplicate
    handled_before = rows(notifications, "SELECT count(*) FROM events")[0][0]
    assert inbox.take_up(notifications, notifications.uow) == {}
    assert rows(notifications, "SELECT count(*) FROM events")[0][0] == handled_before


def test_the_list_of_handlers_that_depend_on_an_earlier_event_is_complete(notifications):
    found = set()
    for key in CASES:
        app, talent = f"app-{uuid.uuid4().hex[:8]}", f"talent-{uuid.uuid4().hex[:8]}"
        if deliver(notifications, *key, with_ids(SAMPLES[key][0], app, talent)) == "parked":
            found.add(key)
    assert sorted(found) == sorted(DEPENDS_ON_EARLIER & set(CASES))


# -- the inbox's parking, with handlers of its own -------------------------------------------------
class Consumer:
    """A service class whose handlers the inbox finds as ``subscribe`` would leave them."""

    def __init__(self, inbox, store):
        self.inbox, self.store, self.known = inbox, store, set()


def _subscription(name):
    def decorate(fn):
        wrapper = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__)
        wrapper.talent_subscription = ("applications", "X", fn)
        setattr(Consumer, name, wrapper)
        return fn

    return decorate


@_subscription("needs_known")
def needs_known(self, event, cur):
    cur.execute("SELECT 1 FROM known WHERE id = %s", (event.payload["application_id"],))
    if cur.fetchone() is None:
        raise Awaiting("not known yet", subject=f"application_id={event.payload['application_id']}")
    cur.execute("INSERT INTO effects VALUES (%s)", (event.event_id,))


@_subscription("refuses_when_known")
def refuses_when_known(self, event, cur):
    cur.execute("SELECT 1 FROM known WHERE id = %s", (event.payload["application_id"],))
    if cur.fetchone() is None:
        raise Awaiting("not known yet", subject=f"application_id={event.payload['application_id']}")
    raise RuleViolation("LT-0", "refused once known")


@pytest.fixture
def consumer(fresh_db):
    db = Database(fresh_db("parkmech"), max_size=4)
    inbox = Inbox(db, "consumer", load_all())
    inbox.migrate()
    with db.transaction() as cur:
        cur.execute("CREATE TABLE known (id text PRIMARY KEY)")
        cur.execute("CREATE TABLE effects (event_id uuid PRIMARY KEY)")
    yield Consumer(inbox, None), inbox, db
    db.close()


class Session:
    correlation_id = None
    causation_id = None


def raw(application_id, event_id=None):
    """A message the contracts decode (its payload is not what the handlers above read)."""
    payload = with_ids(SAMPLES[("applications", "ApplicationWithdrawn")][0], application_id, "t")
    body = orjson.loads(envelope("applications", "ApplicationWithdrawn", payload))
    body["event_id"] = event_id or body["event_id"]
    return orjson.dumps(body)


def consume(inbox, service, handler, body):
    fn = getattr(type(service), handler).talent_subscription[2]
    return inbox.consume(
        Session(),
        handler,
        "applications",
        "ApplicationWithdrawn",
        body,
        lambda e, c: fn(service, e, c),
    )


def known(db, application_id):
    with db.transaction() as cur:
        cur.execute("INSERT INTO known VALUES (%s)", (application_id,))


def test_a_redelivered_parked_event_is_parked_once_and_handled_once(consumer):
    service, inbox, db = consumer
    body = raw("app-r", str(uuid.uuid4()))
    assert [consume(inbox, service, "needs_known", body) for _ in range(3)] == ["parked"] * 3
    assert len(inbox.parked_events()) == 1
    known(db, "app-r")
    with db.transaction() as cur:  # (no event woke it: due as the back-off would make it)
        cur.execute("UPDATE parked_events SET next_try_at = now()")
    assert inbox.take_up(service, Session()) == {"handled": 1}
    assert consume(inbox, service, "needs_known", body) == "duplicate"
    with db.transaction() as cur:
        cur.execute("SELECT count(*) FROM effects")
        assert cur.fetchone()[0] == 1


def test_a_parked_event_backs_off_until_woken_by_an_event_about_its_subject(consumer):
    service, inbox, db = consumer
    assert consume(inbox, service, "needs_known", raw("app-w")) == "parked"
    with db.transaction() as cur:  # due at once, for the test's sake
        cur.execute("UPDATE parked_events SET next_try_at = now()")
    assert inbox.take_up(service, Session()) == {"parked": 1}  # still unknown: backs off
    with db.transaction() as cur:  # (a long back-off, so only a wake-up makes it due)
        cur.execute("UPDATE parked_events SET next_try_at = now() + interval '1 hour'")
    assert inbox.take_up(service, Session()) == {}
    known(db, "app-w")
    # another event about app-w handled: the parked one is due at once
    with db.transaction() as cur:
        cur.execute("INSERT INTO known VALUES ('app-w2')")
    assert consume(inbox, service, "needs_known", raw("app-w2")) == "handled"  # (no wake: w2)
    assert inbox.take_up(service, Session()) == {}
    assert consume(inbox, service, "needs_known", raw("app-w")) == "handled"  # a new event of w
    assert inbox.take_up(service, Session()) == {"handled": 1}
    assert inbox.parked_events() == []


def test_a_parked_event_refused_when_taken_up_becomes_a_dead_letter_not_a_loop(consumer):
    service, inbox, db = consumer
    assert consume(inbox, service, "refuses_when_known", raw("app-x")) == "parked"
    known(db, "app-x")
    with db.transaction() as cur:
        cur.execute("UPDATE parked_events SET next_try_at = now()")
    assert inbox.take_up(service, Session()) == {"dead": 1}
    assert inbox.parked_events() == []
    (letter,) = inbox.dead_letters()
    assert letter["clause"] == "LT-0"


def test_an_event_parked_too_long_is_alerted_once_and_kept(consumer, capsys):
    service, inbox, db = consumer
    assert consume(inbox, service, "needs_known", raw("app-lost")) == "parked"
    overdue = metrics.PARKED_OVERDUE.labels("consumer", "needs_known")
    before = overdue._value.get()
    inbox.take_up(service, Session(), alert_after=0)
    inbox.take_up(service, Session(), alert_after=0)
    assert overdue._value.get() == before + 1
    assert metrics.PARKED_NOW.labels("consumer")._value.get() == 1
    assert metrics.PARKED_OLDEST_SECONDS.labels("consumer")._value.get() > 0
    (parked,) = inbox.parked_events()
    assert parked["alerted_at"] is not None
    assert inbox.dead_letters() == []
    # once what it awaits is in, it is handled like any other
    known(db, "app-lost")
    with db.transaction() as cur:
        cur.execute("UPDATE parked_events SET next_try_at = now()")
    assert inbox.take_up(service, Session(), alert_after=0) == {"handled": 1}
    inbox.take_up(service, Session())
    assert metrics.PARKED_NOW.labels("consumer")._value.get() == 0


# -- an awaited event that never arrives: sought in the source's catch-up feed ----------------------
class Feeds:
    """The sources' catch-up feeds, as ``fetch(source, after, limit)`` reads them."""

    def __init__(self, **feeds):
        self.feeds = feeds
        self.calls = []

    def __call__(self, source, after, limit):
        self.calls.append((source, after))
        page = [e for e in self.feeds.get(source, []) if e["global_position"] > after]
        return page[:limit]


def lost_predecessor(notifications):
    """An application's certification (position 1 of applications' feed) that never reached
    notifications, and a later event about it (position 2) that did: parked."""
    app, talent = f"app-{uuid.uuid4().hex[:8]}", f"talent-{uuid.uuid4().hex[:8]}"
    first = orjson.loads(envelope(*predecessor(app, talent), position=1))
    key = ("applications", "PublicNoticeStarted")
    later = orjson.loads(envelope(*key, with_ids(SAMPLES[key][0], app, talent), position=2))
    assert notifications.on_applications_PublicNoticeStarted(orjson.dumps(later)) == "parked"
    return first, later


def test_an_event_that_never_arrived_is_handled_from_the_source_feed_and_wakes_the_parked(
    notifications,
):
    inbox = notifications.uow.provider.inbox
    first, later = lost_predecessor(notifications)
    filled = metrics.FEED_FILLED.labels("notifications", "applications")
    before = filled._value.get()
    # parked, but not for long: nothing is sought yet
    inbox.take_up(notifications, notifications.uow)
    assert not inbox.fill_due()
    # parked longer than the fetch bound: the feeds are read once, then not again for as long
    inbox.take_up(notifications, notifications.uow, fetch_after=0)
    assert inbox.fill_due(now=1e9)
    assert not inbox.fill_due(now=1e9 + 0.5)
    feeds = Feeds(applications=[first, later])
    # the certification is handled; the later event is parked already: left to its sweep
    assert inbox.fill_from_feeds(notifications, notifications.uow, feeds) == {
        "read": 2,
        "handled": 1,
    }
    assert {source for source, _ in feeds.calls} == {"applications", "assessment", "subsidies"}
    assert filled._value.get() == before + 1
    assert inbox.take_up(notifications, notifications.uow) == {"handled": 1}
    assert inbox.parked_events() == [] and inbox.dead_letters() == []
    assert notifications_of(notifications, later["event_id"]) >= 1
    # the feed is read on from where it was left: nothing twice
    feeds.calls.clear()
    assert inbox.fill_from_feeds(notifications, notifications.uow, feeds) == {}
    assert ("applications", 2) in feeds.calls
    # the lost message delivered after all is a duplicate: one effect
    events = rows(notifications, "SELECT count(*) FROM events")[0][0]
    assert notifications.on_applications_TalentCertified(orjson.dumps(first)) == "duplicate"
    assert rows(notifications, "SELECT count(*) FROM events")[0][0] == events


def test_the_feed_is_read_in_pages_and_the_cursor_survives_a_failed_read(
    notifications, monkeypatch
):
    inbox = notifications.uow.provider.inbox
    first, later = lost_predecessor(notifications)
    monkeypatch.setattr("shared.messaging.inbox.FEED_PAGE", 1)

    def failing(source, after, limit):
        if after >= 1:
            raise TimeoutError(source)
        return Feeds(applications=[first, later])(source, after, limit)

    # page 1 read and handled, page 2 fails; the other sources are read all the same
    assert inbox.fill_from_feeds(notifications, notifications.uow, failing) == {
        "read": 1,
        "handled": 1,
        "failed": 1,
    }
    assert rows(
        notifications,
        "SELECT position FROM feed_cursors WHERE source_service = 'applications'",
    ) == [(1,)]
    feeds = Feeds(applications=[first, later])
    assert inbox.fill_from_feeds(notifications, notifications.uow, feeds, pages=5) == {"read": 1}
    assert ("applications", 1) in feeds.calls
    assert inbox.take_up(notifications, notifications.uow) == {"handled": 1}
    assert notifications_of(notifications, first["event_id"]) >= 1
