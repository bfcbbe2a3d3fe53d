"""Notifications on real channels, end to end: a talent certified through the running services is
told by e-mail (an aiosmtpd server started here), by signed webhooks (an HTTP receiver started
here) and in the in-app inbox; a receiver that fails 3 times gets the message exactly once; one
that never recovers ends in the dead-letter list after the configured attempts and a re-drive
delivers it; the registry refuses bad input and writes nothing; the public feeds need no token."""

import contextlib
import datetime as dt
import os

import orjson
import psycopg2
import pytest
import requests

from services.notifications.channels import verify_signature
from talent_client.http import Client
from talent_client.samples import shanghai_today
from talent_client.steps import certify
from tests.support.assessment_pinned import start_assessment_on
from tests.support.notification_peers import SmtpSink, WebhookReceiver, wait_until
from tests.support.system import running_system

pytestmark = pytest.mark.e2e
ATTEMPTS = 4
SIGNING_KEY = "e2e-webhook-signing-key-0123456789abcdef"
COUNTY = "南华县"
BASELINE_SALES_FEN = 350_000_000  # LT-6.3: at least 3,000,000 CNY


@contextlib.contextmanager
def environment(**values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def receiver():
    r = WebhookReceiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def system(smtp):
    """The four services; notifications mails through ``smtp``, sends every 0.5 s, tries each
    message 4 times with backoff from 0.2 s, and signs webhooks with a key of this test."""
    with environment(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp.port,
        DELIVERY_MAX_ATTEMPTS=ATTEMPTS,
        DELIVERY_FIRST_RETRY_SECONDS="0.2",
        DELIVERY_BACKOFF_FACTOR=2,
        DELIVERY_TICK_SECONDS="0.5",
        WEBHOOK_SIGNING_KEY=SIGNING_KEY,
    ):
        yield from running_system()


@pytest.fixture(scope="module")
def client(system):
    return Client(system.urls, out=lambda *_: None)


def call(client, method, path, role="prefecture_officer", expect=None, **kw):
    return client.call(method, "notifications", path, role, expect=expect, **kw)


def subscribe(client, receiver, path, name):
    r = call(
        client,
        "POST",
        "/subscribers",
        json={"name": name, "url": receiver.url + path, "event_types": ["TalentCertified"]},
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def certified(client, receiver, smtp):
    """Three webhook subscribers (one healthy, one failing 3 times, one down), e-mail addresses
    for the county and the bureau, then a talent certified through the real services."""
    receiver.fail("/flaky", times=3)
    receiver.fail("/down")
    subscribers = {
        path: subscribe(client, receiver, path, name)
        for path, name in (
            ("/ok", "州人社局"),
            ("/flaky", "州财政局业务系统"),
            ("/down", "省商务厅平台"),
        )
    }
    for recipient, address in (
        (f"county:{COUNTY}", "nanhua@example.cn"),
        ("bureau", "shangwu@example.cn"),
    ):
        r = call(client, "PUT", f"/contacts/{recipient}", json={"email": address})
        assert r.status_code == 200, r.text
    app_id, talent_id = certify(
        client,
        county=COUNTY,
        name="张三",
        evidence={"sales_fen": BASELINE_SALES_FEN},
        out=lambda *_: None,
    )
    return {"subscribers": subscribers, "application_id": app_id, "talent_id": talent_id}


def deliveries(client, **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    r = call(client, "GET", f"/deliveries?{qs}")
    assert r.status_code == 200, r.text
    return r.json()["deliveries"]


def webhook_delivery(client, certified, path):
    sid = certified["subscribers"][path]["subscriber_id"]
    rows = [
        d
        for d in deliveries(client, recipient=f"subscriber:{sid}")
        if d["source_event_type"] == "TalentCertified"
    ]
    return rows[0] if rows else None


def history(client, notification_id):
    r = call(client, "GET", f"/deliveries/{notification_id}")
    assert r.status_code == 200, r.text
    return [h["type"] for h in r.json()["history"]]


def certified_mail(smtp):
    return [m for _, _, m in smtp.messages if m["X-Talent-Event"] == "TalentCertified"]


# -- the must-shows ----------------------------------------------------------------------------------
def test_certification_reaches_smtp_webhook_and_inbox(client, certified, smtp, receiver):
    mails = wait_until(
        "two e-mails of the certification",
        lambda: len(certified_mail(smtp)) >= 2 and certified_mail(smtp),
    )
    assert sorted(m["To"] for m in mails) == ["nanhua@example.cn", "shangwu@example.cn"]
    for m in mails:
        assert m["Subject"] == "认定为兴楚电商创业领军人才"
        assert m.get_content().startswith("张三已被认定为“兴楚电商创业领军人才”，培养期 ")
        assert "（LT-9.5、LT-10）。" in m.get_content()

    [hook] = wait_until("the healthy receiver's webhook", lambda: receiver.to("/ok"))
    secret = certified["subscribers"]["/ok"]["secret"]
    assert verify_signature(
        secret,
        hook["headers"]["X-Talent-Timestamp"],
        hook["body"],
        hook["headers"]["X-Talent-Signature"],
    )
    assert not verify_signature(
        "some-other-secret",
        hook["headers"]["X-Talent-Timestamp"],
        hook["body"],
        hook["headers"]["X-Talent-Signature"],
    )
    body = orjson.loads(hook["body"])
    assert body["event_type"] == hook["headers"]["X-Talent-Event"] == "TalentCertified"
    assert body["delivery_id"] == hook["headers"]["X-Talent-Delivery"]
    assert body["payload"]["talent_id"] == certified["talent_id"]
    assert body["message"] == mails[0].get_content().strip()

    talent = certified["talent_id"]
    inbox = client.call(
        "GET", "notifications", f"/inbox/talent:{talent}", "talent", actor=talent
    ).json()["messages"]
    assert [m["subject"] for m in inbox if m["source_event_type"] == "TalentCertified"] == [
        "认定为兴楚电商创业领军人才"
    ]
    # someone else's inbox is refused
    assert (
        client.call(
            "GET",
            "notifications",
            f"/inbox/talent:{talent}",
            "talent",
            actor="talent-other",
            expect=None,
        ).status_code
        == 403
    )


def test_a_receiver_failing_three_times_gets_the_message_exactly_once(client, certified, receiver):
    row = wait_until(
        "the flaky receiver's delivery",
        lambda: (lambda d: d if d and d["status"] == "delivered" else None)(
            webhook_delivery(client, certified, "/flaky")
        ),
        timeout=30,
    )
    assert row["attempts"] == 4
    assert [r["status"] for r in receiver.to("/flaky")] == [500, 500, 500, 200]
    assert history(client, row["notification_id"]) == [
        "DeliveryAttempted",
        "DeliveryFailed",
    ] * 3 + ["DeliveryAttempted", "Delivered"]
    ids = {r["headers"]["X-Talent-Delivery"] for r in receiver.to("/flaky")}
    assert ids == {row["notification_id"]}  # every retry is recognisably the same message


def test_a_receiver_that_never_recovers_is_dead_lettered_then_redriven(client, certified, receiver):
    def dead():
        r = call(client, "GET", "/deliveries/dead-letters")
        return [d for d in r.json()["dead_letters"] if d["source_event_type"] == "TalentCertified"]

    [letter] = wait_until("the dead letter", dead, timeout=30)
    assert letter["attempts"] == ATTEMPTS and letter["last_error"] == "HTTP 503"
    assert len(receiver.to("/down")) == ATTEMPTS
    nid = letter["notification_id"]
    assert history(client, nid) == ["DeliveryAttempted", "DeliveryFailed"] * ATTEMPTS + [
        "DeliveryDeadLettered"
    ]
    # re-driving something not dead is a conflict; an unknown delivery is not found
    flaky = webhook_delivery(client, certified, "/flaky")
    assert (
        call(client, "POST", f"/deliveries/{flaky['notification_id']}/redrive").status_code == 409
    )
    assert call(client, "POST", "/deliveries/nope:1/redrive").status_code == 404
    assert call(client, "POST", f"/deliveries/{nid}/redrive", role="auditor").status_code == 403

    receiver.recover("/down")
    r = call(client, "POST", f"/deliveries/{nid}/redrive")
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    wait_until("the re-driven delivery", lambda: receiver.to("/down", 200))
    wait_until("Delivered recorded", lambda: history(client, nid)[-1] == "Delivered")
    assert [r["status"] for r in receiver.to("/down")] == [503] * ATTEMPTS + [200]
    assert history(client, nid)[-3:] == ["DeliveryRedriven", "DeliveryAttempted", "Delivered"]
    assert dead() == []
    # the flaky receiver, long since delivered, was never called again
    assert [r["status"] for r in receiver.to("/flaky")] == [500, 500, 500, 200]


def test_every_attempt_is_an_event_caused_by_its_notification(system, client, certified):
    conn = psycopg2.connect(system.dsn("notifications"))
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT event_id::text, event_type, payload->>'channel',"
                " metadata->>'causation_id' FROM events"
                " WHERE stream_id LIKE 'notification-%%' OR stream_id LIKE 'delivery-%%'"
                " ORDER BY global_position"
            )
            rows = cur.fetchall()
    finally:
        conn.close()
    recorded = {eid for eid, etype, _, _ in rows if etype == "NotificationRecorded"}
    attempts = [cause for _, etype, _, cause in rows if etype == "DeliveryAttempted"]
    assert attempts and set(attempts) <= recorded
    assert {ch for _, etype, ch, _ in rows if etype == "Delivered"} == {"email", "webhook"}


# -- the registry: bad input is refused and nothing is written ---------------------------------
def subscriber_events(system):
    conn = psycopg2.connect(system.dsn("notifications"))
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM events WHERE stream_type IN ('subscriber', 'contact')"
            )
            return cur.fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize(
    "method, path, body, status, field",
    [
        (
            "POST",
            "/subscribers",
            {"name": "x", "url": "ftp://x.cn/h", "event_types": ["TalentCertified"]},
            400,
            "url",
        ),
        (
            "POST",
            "/subscribers",
            {"name": "x", "url": "not a url", "event_types": ["TalentCertified"]},
            400,
            "url",
        ),
        (
            "POST",
            "/subscribers",
            {
                "name": "x",
                "url": "https://x.cn/h",
                "event_types": ["TalentCertified", "SalaryRaised"],
            },
            400,
            "event_types",
        ),
        (
            "POST",
            "/subscribers",
            {"name": "x", "url": "https://x.cn/h", "event_types": []},
            400,
            "event_types",
        ),
        (
            "PUT",
            "/subscribers/no-such-subscriber",
            {"name": "x", "url": "https://x.cn/h", "event_types": ["TalentCertified"]},
            404,
            None,
        ),
        ("DELETE", "/subscribers/no-such-subscriber", None, 404, None),
        ("POST", "/subscribers/no-such-subscriber/secret", None, 404, None),
        ("PUT", "/contacts/mayor", {"email": "a@b.cn"}, 400, "recipient"),
        ("PUT", "/contacts/bureau", {"email": "not-an-address"}, 400, "email"),
        ("DELETE", "/contacts/finance", None, 404, None),
    ],
)
def test_bad_registry_input_is_refused_and_nothing_is_written(
    system, client, certified, method, path, body, status, field
):
    before = subscriber_events(system)
    r = call(client, method, path, json=body)
    assert r.status_code == status, r.text
    if field:
        assert field in r.json()["fields"]
    assert subscriber_events(system) == before


def test_registry_changes_are_events_and_need_the_bureau(system, client, certified, receiver):
    sid = certified["subscribers"]["/ok"]["subscriber_id"]
    assert (
        call(client, "GET", "/subscribers", role="county_officer", county=COUNTY).status_code == 403
    )
    r = call(
        client,
        "PUT",
        f"/subscribers/{sid}",
        json={
            "name": "州人社局",
            "url": receiver.url + "/ok2",
            "event_types": ["TalentCertified", "SubsidyPaid"],
        },
        headers={"If-Match": "1"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["url"], r.json()["event_types"], r.json()["version"]) == (
        receiver.url + "/ok2",
        ["SubsidyPaid", "TalentCertified"],
        2,
    )
    stale = call(
        client,
        "PUT",
        f"/subscribers/{sid}",
        json={"name": "y", "url": receiver.url + "/ok", "event_types": ["TalentCertified"]},
        headers={"If-Match": "1"},
    )
    assert stale.status_code == 409
    rotated = call(client, "POST", f"/subscribers/{sid}/secret").json()
    assert rotated["secret_version"] == 2
    assert rotated["secret"] != certified["subscribers"]["/ok"]["secret"]
    # a county officer sets their own county's address, not another's
    assert (
        call(
            client,
            "PUT",
            f"/contacts/county:{COUNTY}",
            role="county_officer",
            county=COUNTY,
            json={"email": "nanhua2@example.cn"},
        ).status_code
        == 200
    )
    assert (
        call(
            client,
            "PUT",
            "/contacts/county:楚雄市",
            role="county_officer",
            county=COUNTY,
            json={"email": "x@example.cn"},
        ).status_code
        == 403
    )


# -- the public feeds ------------------------------------------------------------------------------
def test_public_notice_feed_needs_no_token_and_shows_no_ids(system, client, certified):
    url = system.urls["notifications"]
    current = requests.get(url + "/public/notices", timeout=10)
    assert current.status_code == 200
    assert [n for n in current.json()["notices"] if n["name"] == "张三"] == []  # certified
    closed = requests.get(url + "/public/notices?include=closed", timeout=10).json()["notices"]
    [mine] = [n for n in closed if n["name"] == "张三"]
    assert set(mine) == {
        "name",
        "county",
        "category",
        "category_name",
        "round_year",
        "start_date",
        "end_date",
        "working_days",
        "status",
    }
    assert (mine["county"], mine["category_name"], mine["status"], mine["working_days"]) == (
        COUNTY,
        "电商销售",
        "certified",
        5,
    )
    start, end = dt.date.fromisoformat(mine["start_date"]), dt.date.fromisoformat(mine["end_date"])
    assert start < end < shanghai_today()
    page = requests.get(url + "/public/notices.html?include=closed", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "张三" in page.text and f"{end.year}年{end.month}月{end.day}日" in page.text
    assert certified["application_id"] not in page.text
    assert certified["talent_id"] not in page.text


def test_assessment_results_are_announced_publicly(system, client, certified):
    talent = certified["talent_id"]
    tenure = wait_until(
        "the tenure",
        lambda: (lambda r: r.json() if r.status_code == 200 else None)(
            client.call(
                "GET", "assessment", f"/tenures/{talent}", "prefecture_officer", expect=None
            )
        ),
    )
    # a year's report is filed in its window after the year (LT-11.1): the assessment service
    # decides as on the window's first day
    start_assessment_on(system, dt.date.fromisoformat(tenure["years"][0]["window_opens_on"]))
    client.call(
        "POST",
        "assessment",
        f"/tenures/{talent}/reports",
        "talent",
        actor=talent,
        json={
            "tenure_year": 1,
            "figures": {"sales_fen": BASELINE_SALES_FEN * 12 // 10},
            "promotion_activities": 2,
            "backbones_trained": 5,
            "full_time_in_chuxiong": True,
        },
    )
    url = system.urls["notifications"]

    def announced():
        body = requests.get(url + "/public/assessment-results", timeout=10).json()
        return [r for r in body["results"] if r["name"] == "张三"]

    [result] = wait_until("the announced result", announced)
    assert (result["county"], result["tenure_year"], result["result"], result["result_name"]) == (
        COUNTY,
        1,
        "qualified",
        "合格",
    )
    assert set(result) == {
        "name",
        "county",
        "category",
        "category_name",
        "tenure_year",
        "result",
        "result_name",
        "assessed_on",
    }
    page = requests.get(url + "/public/assessment-results.html", timeout=10)
    assert page.status_code == 200 and "张三" in page.text and "合格" in page.text
    assert requests.get(url + "/public/assessment-results?year=abc", timeout=10).status_code == 400
    # everything else still wants a token
    assert requests.get(url + "/deliveries", timeout=10).status_code == 401
    assert requests.get(url + "/subscribers", timeout=10).status_code == 401
