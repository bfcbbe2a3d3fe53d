"""The notifications sender against real PostgreSQL, a real SMTP server (aiosmtpd) and a real HTTP
receiver: nothing is held open while a message is sent, racing senders attempt each message once,
one replica claims at a time (shared.runtime.timers), e-mail is well formed, failures are bounded and leave no personal
data in the record, an attempt cut off mid-send is taken up again, the read models rebuild."""

import contextlib
import datetime as dt
import threading
import time
import types
import uuid

import psycopg2
import pytest

from services.notifications.channels import EmailSender, WebhookSender
from services.notifications.dispatch import Dispatcher, stream_of
from services.notifications.domain import delivery as delivery_domain
from services.notifications.domain import messages, recipients
from services.notifications.domain.policy import DeliveryPolicy
from services.notifications.projections import DeliveriesView, InboxView, RegisterView, RegistryView
from shared.clock import Clock as RealClock
from shared.db import Database
from shared.locks import APPEND
from shared.runtime.provider import UnitOfWork
from shared.runtime.timers import exclusive
from shared.store import EventStore
from tests.support.notification_peers import SmtpSink, WebhookReceiver

pytestmark = pytest.mark.integration
UTC = dt.UTC
KEY = "integration-signing-key"
POLICY = DeliveryPolicy(
    max_attempts=3,
    first_retry_seconds=60,
    backoff_factor=2,
    max_retry_seconds=600,
    in_flight_lease_seconds=120,
)
CERTIFIED = {
    "talent_id": "talent-1",
    "application_id": "app-1",
    "applicant_name": "李明",
    "county": "楚雄市",
    "category": "LT-6.3",
    "track": "seller",
    "baseline_year": 2025,
    "baseline": {"sales_fen": 350_000_000},
    "period_start": dt.date(2026, 11, 23),
    "period_end": dt.date(2029, 11, 22),
}
WHO = {"applicant": "applicant:u-li", "applicant_name": "李明", "county": "楚雄市"}


class Clock(RealClock):
    """The real clock, movable forward (``offset``); today is still the Shanghai date."""

    def __init__(self):
        self.offset = dt.timedelta(0)

    def now(self):
        return dt.datetime.now(UTC) + self.offset


@pytest.fixture
def uow(fresh_db):
    db = Database(fresh_db("notif"), max_size=12)
    store = EventStore(
        db,
        "notifications",
        projectors=[InboxView(), DeliveriesView(), RegistryView(), RegisterView()],
    )
    store.migrate()
    provider = types.SimpleNamespace(
        events=store, db=db, settings=None, clock=Clock(), service="notifications"
    )
    yield UnitOfWork(provider, types.SimpleNamespace(context_data={}))
    db.close()


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def receiver():
    r = WebhookReceiver().start()
    yield r
    r.stop()


def subscribe(uow, url, name="州人社局"):
    sid = str(uuid.uuid4())
    uow.run(
        recipients.subscriber,
        f"subscriber-{sid}",
        recipients.Register(sid, name, url, ("TalentCertified",)),
    )
    return sid


def certify(uow, contacts=None, subscribers=()):
    """E-mail addresses registered, then the notifications of one TalentCertified:
    [(notification_id, channel, recipient)] of its e-mail and webhook messages."""
    for recipient, address in (contacts or {}).items():
        uow.run(recipients.contact, f"contact-{recipient}", recipients.SetEmail(recipient, address))
    event_id = str(uuid.uuid4())
    events = uow.run(
        messages.notification,
        f"notification-{event_id}",
        messages.Notify("applications", "TalentCertified", event_id, CERTIFIED),
        context=uow.context(who=WHO, contacts=contacts or {}, subscribers=list(subscribers)),
    )
    return [
        (e.payload["notification_id"], e.payload["channel"], e.payload["recipient"])
        for e in events
        if e.payload["channel"] != "inbox"
    ]


def dispatcher(uow, smtp=None, *, exclusive=exclusive, read_timeout=5.0):
    email = EmailSender(
        "127.0.0.1", smtp.port if smtp else 1, "notify@talent.example.cn", timeout=5
    )
    return Dispatcher(
        uow,
        email,
        # the receivers of these tests listen on this host: allowed by name (targets.py)
        WebhookSender(
            KEY, connect_timeout=2, read_timeout=read_timeout, allowed_targets="127.0.0.1"
        ),
        POLICY,
        exclusive=exclusive,
    )


def stream(uow, notification_id):
    return [e.event_type for e in uow.events.read_stream(stream_of(notification_id))]


def test_nothing_is_held_while_a_message_is_being_sent(uow, smtp, receiver):
    """While the receiver holds the request, the store takes appends and no transaction or
    advisory lock of the sender is open."""
    seen = {}
    dsn = uow.db.dsn

    def look():
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND objid = %s AND database = (SELECT oid FROM pg_database"
                " WHERE datname = current_database())",
                (APPEND,),
            )  # pg_locks is
            # the whole cluster's: count only this store's append lock
            seen["append_lock_held"] = cur.fetchone()[0]
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            seen["busy_sessions"] = cur.fetchone()[0]
        conn.close()
        started = time.monotonic()
        subscribe(uow, "https://elsewhere.example.cn/h", name="appended mid-send")
        seen["append_seconds"] = time.monotonic() - started

    original = receiver._answer
    receiver._answer = lambda path: (look(), original(path))[1]
    sid = subscribe(uow, receiver.url + "/hook")
    [(nid, _, _)] = certify(uow, subscribers=[sid])
    assert dispatcher(uow, smtp).tick() == {"claimed": 1, "delivered": 1, "failed": 0}
    assert seen["append_lock_held"] == 0 and seen["busy_sessions"] == 0, seen
    assert seen["append_seconds"] < 1.0
    assert stream(uow, nid) == ["DeliveryAttempted", "Delivered"]


@pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "unguarded"])
def test_racing_senders_attempt_each_message_once(uow, smtp, receiver, guarded):
    """Replicas' timers fire together: with the guard one of them works; without it, the
    stream-version check still lets only one claim each message."""
    sids = [subscribe(uow, receiver.url + f"/hook{i}") for i in range(5)]
    contacts = {"bureau": "shangwu@example.cn", "county:楚雄市": "chuxiong@example.cn"}
    sent = certify(uow, contacts=contacts, subscribers=sids)
    assert len(sent) == 7
    guard = exclusive if guarded else _always
    barrier, results = threading.Barrier(4), []

    def run():
        barrier.wait()
        results.append(dispatcher(uow, smtp, exclusive=guard).tick())

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(r.get("delivered", 0) for r in results) == 7
    assert len(receiver.requests) == 5 and len(smtp.messages) == 2
    for nid, _, _ in sent:
        assert stream(uow, nid) == ["DeliveryAttempted", "Delivered"]
    if guarded:
        assert sum(1 for r in results if "skipped" in r) >= 1


@contextlib.contextmanager
def _always(db, name):
    yield True


def test_email_is_well_formed_and_the_same_message_on_every_attempt(uow, smtp):
    [(nid, channel, recipient)] = certify(uow, contacts={"bureau": "shangwu@example.cn"})
    assert (channel, recipient) == ("email", "bureau")
    assert dispatcher(uow, smtp).tick()["delivered"] == 1
    [(sender, rcpts, msg)] = smtp.messages
    assert (sender, rcpts) == ("notify@talent.example.cn", ["shangwu@example.cn"])
    assert msg["Subject"] == "认定为兴楚电商创业领军人才"
    assert msg["X-Talent-Delivery"] == nid and msg["X-Talent-Event"] == "TalentCertified"
    assert msg.get_content() == (
        "李明已被认定为“兴楚电商创业领军人才”，培养期 2026年11月23日 至 "
        "2029年11月22日（LT-9.5、LT-10）。\n"
    )
    row = uow.query("SELECT * FROM deliveries WHERE notification_id = %s", (nid,), one=True)
    again = EmailSender("127.0.0.1", smtp.port, "x@y.cn").message(row, "a@b.cn")
    assert again["Message-ID"] == msg["Message-ID"]  # a resend is recognisably the same mail


def test_smtp_refusal_and_unreachable_server_are_failed_attempts_without_the_address(uow, smtp):
    async def refuse(server, session_, envelope, address, options):
        return "550 5.1.1 mailbox unavailable"

    smtp.handle_RCPT = refuse
    [(nid, _, _)] = certify(uow, contacts={"bureau": "shangwu@example.cn"})
    assert dispatcher(uow, smtp).tick()["failed"] == 1
    [failed] = [
        e for e in uow.events.read_stream(stream_of(nid)) if e.event_type == "DeliveryFailed"
    ]
    assert failed.payload["error"] == "SMTP recipient refused (550)"
    assert "shangwu" not in failed.payload["error"]
    retry_at = dt.datetime.fromisoformat(failed.payload["retry_at"])
    assert 59 <= (retry_at - failed.recorded_at).total_seconds() <= 61  # first retry: 60 s

    [(nid2, _, _)] = certify(uow, contacts={"bureau": "shangwu@example.cn"})
    started = time.monotonic()
    dispatcher(uow, None).tick()  # port 1: connection refused
    assert time.monotonic() - started < 5
    row = uow.query(
        "SELECT last_error FROM deliveries WHERE notification_id = %s", (nid2,), one=True
    )
    assert row["last_error"] == "SMTP ConnectionRefusedError"


def test_a_receiver_that_does_not_answer_is_given_up_on_in_bounded_time(uow, receiver):
    original = receiver._answer
    receiver._answer = lambda path: (time.sleep(3), original(path))[1]
    sid = subscribe(uow, receiver.url + "/slow")
    [(nid, _, _)] = certify(uow, subscribers=[sid])
    started = time.monotonic()
    assert dispatcher(uow, read_timeout=0.5).tick()["failed"] == 1
    assert time.monotonic() - started < 2.5
    row = uow.query(
        "SELECT status, last_error FROM deliveries WHERE notification_id = %s", (nid,), one=True
    )
    assert row == {"status": "retrying", "last_error": "no answer within 2+0.5 s"}


def test_retries_follow_the_backoff_then_dead_letter_then_redrive(uow, receiver):
    receiver.fail("/hook")
    sid = subscribe(uow, receiver.url + "/hook")
    [(nid, _, _)] = certify(uow, subscribers=[sid])
    clock = uow.clock
    sender = dispatcher(uow)
    assert sender.tick()["failed"] == 1
    assert sender.tick() == {"claimed": 0, "delivered": 0, "failed": 0}  # not due for 60 s
    clock.offset = dt.timedelta(seconds=61)
    assert sender.tick()["failed"] == 1
    clock.offset = dt.timedelta(seconds=61 + 119)
    assert sender.tick()["claimed"] == 0  # the second wait is 120 s
    clock.offset = dt.timedelta(seconds=61 + 121)
    assert sender.tick()["failed"] == 1
    assert stream(uow, nid) == ["DeliveryAttempted", "DeliveryFailed"] * 3 + [
        "DeliveryDeadLettered"
    ]
    clock.offset = dt.timedelta(days=30)
    assert sender.tick()["claimed"] == 0  # dead letters wait for a person
    receiver.recover("/hook")
    uow.run(delivery_domain.delivery, stream_of(nid), delivery_domain.Redrive(nid, "webhook"))
    assert sender.tick()["delivered"] == 1
    assert [r["status"] for r in receiver.to("/hook")] == [503, 503, 503, 200]


def test_an_attempt_cut_off_mid_send_is_taken_up_again_after_the_lease(uow, receiver):
    sid = subscribe(uow, receiver.url + "/hook")
    [(nid, _, _)] = certify(uow, subscribers=[sid])
    sender = dispatcher(uow)
    assert sender.claim()  # intent recorded, then the sender "dies" before sending
    assert sender.tick()["claimed"] == 0  # in flight: nobody else sends it
    uow.clock.offset = dt.timedelta(seconds=121)
    assert sender.tick()["claimed"] == 0  # the lease ran out: recorded as failed, retry in 60 s
    uow.clock.offset = dt.timedelta(seconds=121 + 61)
    assert sender.tick()["delivered"] == 1
    assert stream(uow, nid) == [
        "DeliveryAttempted",
        "DeliveryFailed",
        "DeliveryAttempted",
        "Delivered",
    ]
    [failed] = [
        e for e in uow.events.read_stream(stream_of(nid)) if e.event_type == "DeliveryFailed"
    ]
    assert failed.payload["error"] == "no outcome recorded within the lease: sent again"


def test_a_deactivated_subscriber_or_a_removed_address_fails_without_sending(uow, receiver, smtp):
    sid = subscribe(uow, receiver.url + "/hook")
    sent = certify(uow, contacts={"bureau": "shangwu@example.cn"}, subscribers=[sid])
    uow.run(recipients.subscriber, f"subscriber-{sid}", recipients.Deactivate())
    uow.run(recipients.contact, "contact-bureau", recipients.SetEmail("bureau", "a@b.cn"))
    uow.run(recipients.contact, "contact-bureau", recipients.RemoveEmail("bureau"))
    assert dispatcher(uow, smtp).tick() == {"claimed": 0, "delivered": 0, "failed": 0}
    errors = {
        row["recipient"]: row["last_error"]
        for row in uow.query("SELECT recipient, last_error FROM deliveries")
    }
    assert errors == {
        "bureau": "no e-mail address registered for bureau",
        f"subscriber:{sid}": f"subscriber:{sid} is deactivated",
    }
    assert receiver.requests == [] and smtp.messages == []
    for nid, _, _ in sent:
        assert stream(uow, nid) == ["DeliveryFailed"]


def test_read_models_rebuild_from_the_events(uow, smtp, receiver):
    receiver.fail("/hook", times=1)
    sid = subscribe(uow, receiver.url + "/hook")
    certify(uow, contacts={"bureau": "shangwu@example.cn"}, subscribers=[sid])
    sender = dispatcher(uow, smtp)
    sender.tick()
    uow.clock.offset = dt.timedelta(seconds=61)
    sender.tick()
    tables = (
        "inbox_messages",
        "deliveries",
        "subscribers",
        "contacts",
        "candidates",
        "assessment_results",
    )

    def snapshot():
        return {t: uow.query(f"SELECT * FROM {t} ORDER BY 1") for t in tables}

    before = snapshot()
    with uow.db.transaction() as cur:
        for projector in uow.events.projectors:
            projector.reset(cur)
        for event in uow.events.read_all():
            for projector in uow.events.projectors:
                projector.apply(cur, event)
    assert snapshot() == before
    assert [r["status"] for r in before["deliveries"]] == ["delivered", "delivered"]


def test_the_public_register_follows_notice_objection_outcome_and_results(uow):
    from services.notifications import pages
    from services.notifications.domain import register as reg

    def run(decider, key, command, **ctx):
        uow.run(decider, f"{decider.stream_type}-{key}", command, context=uow.context(**ctx))

    def row():
        return uow.query(
            "SELECT status, notice_start, notice_end, objections, talent_id"
            " FROM candidates WHERE application_id = 'app-1'",
            one=True,
        )

    run(
        reg.candidate,
        "app-1",
        reg.NoteCandidate("app-1", "applicant:u-li", "李<b>明</b>", "楚雄市", "LT-6.3", 2026),
    )
    assert row()["status"] == "noted"
    run(
        reg.candidate,
        "app-1",
        reg.PublishNotice("app-1", dt.date(2026, 9, 29), dt.date(2026, 10, 13), 5),
    )
    assert (row()["status"], row()["notice_end"]) == ("on_notice", dt.date(2026, 10, 13))
    run(reg.candidate, "app-1", reg.NoteObjection("app-1", "o-1"))
    run(reg.candidate, "app-1", reg.NoteObjection("app-1", "o-2"))
    assert (row()["status"], row()["objections"]) == ("suspended", ["o-1", "o-2"])
    run(reg.candidate, "app-1", reg.ClearObjection("app-1", "o-1", "dismissed"))
    assert row()["status"] == "suspended"
    run(reg.candidate, "app-1", reg.ClearObjection("app-1", "o-2", "dismissed"))
    assert (row()["status"], row()["objections"]) == ("on_notice", [])
    noted = reg.NoteCandidate("app-1", "applicant:u-li", "李明", "楚雄市", "LT-6.3", 2026)
    run(
        reg.candidate,
        "app-1",
        reg.CertifyCandidate("app-1", "talent-1", dt.date(2026, 10, 20), noted),
    )
    assert (row()["status"], row()["talent_id"]) == ("certified", "talent-1")
    who = {"county": "楚雄市"}
    run(
        reg.results,
        "talent-1",
        reg.Announce("talent-1", 1, "excellent", dt.date(2027, 11, 30)),
        who=who,
    )
    [result] = uow.query("SELECT * FROM assessment_results")
    assert result == {
        "talent_id": "talent-1",
        "tenure_year": 1,
        "result": "excellent",
        "assessed_on": dt.date(2027, 11, 30),
        "applicant_name": "李<b>明</b>",
        "county": "楚雄市",
        "category": "LT-6.3",
    }
    page = pages.results_page(
        2027,
        [
            {
                "name": result["applicant_name"],
                "county": "楚雄市",
                "category_name": "电商销售",
                "tenure_year": 1,
                "result_name": "优秀",
                "assessed_on": result["assessed_on"],
            }
        ],
    )
    assert "李&lt;b&gt;明&lt;/b&gt;" in page and "<b>明" not in page
    assert "2027年度“兴楚电商创业领军人才”考核结果通报" in page
