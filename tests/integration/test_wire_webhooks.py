"""Webhooks a receiver can trust and order, against real PostgreSQL and a real HTTP receiver:
each body carries the source event's stream, positions, recorded_at, schema version,
correlation and causation; a subscriber's messages of one source stream go out in position order
(a later one waits while an earlier one is retried), whatever order they were recorded in; a
rotated secret signs beside the new one until its overlap ends, as the Standard Webhooks
reference library verifies."""

import datetime as dt
import uuid

import orjson
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifications.channels import subscriber_secret
from services.notifications.domain import messages, recipients
from services.notifications.domain.policy import SECRET_ROTATION_OVERLAP_SECONDS
from tests.integration import test_notifications_sender as sender
from tests.integration.test_notifications_sender import CERTIFIED, KEY, WHO, dispatcher, subscribe

pytestmark = pytest.mark.integration
uow, receiver = sender.uow, sender.receiver  # the sender tests' fixtures: a store, a receiver
STREAM = "application-app-1"


def notify(uow, sid, position, stream=STREAM):
    """The notifications of a TalentCertified at ``position`` of ``stream``: its webhook id."""
    event_id = str(uuid.uuid4())
    envelope = {
        "schema_version": 1,
        "stream_type": "application",
        "stream_id": stream,
        "stream_version": position,
        "global_position": position,
        "recorded_at": f"2026-11-23T00:00:{position:02d}.000000+00:00",
        "correlation_id": f"corr-{position}",
        "causation_id": f"cause-{position}",
    }
    events = uow.run(
        messages.notification,
        f"notification-{event_id}",
        messages.Notify("applications", "TalentCertified", event_id, CERTIFIED, envelope),
        context=uow.context(who=WHO, contacts={}, subscribers=[sid]),
    )
    [hook] = [e for e in events if e.payload["channel"] == "webhook"]
    return hook.payload["notification_id"]


def positions(receiver, path):
    return [orjson.loads(r["body"])["global_position"] for r in receiver.to(path)]


def later(uow, seconds):
    uow.provider.clock.offset += dt.timedelta(seconds=seconds)


def test_a_later_event_waits_while_an_earlier_one_is_retried(uow, receiver):
    sid = subscribe(uow, receiver.url + "/ordered")
    other = subscribe(uow, receiver.url + "/other")
    notify(uow, sid, 12)  # recorded first, but later in the stream
    notify(uow, sid, 11)
    notify(uow, sid, 40, stream="application-app-2")  # another stream is not held back
    notify(uow, other, 12)  # nor is another subscriber
    receiver.fail("/ordered", times=2)
    send = dispatcher(uow)
    assert send.tick()["claimed"] == 3  # 11 and 40 (both fail), and the other subscriber's 12
    for _ in range(4):
        later(uow, 700)  # past every retry's wait
        send.tick()
    # 12 was recorded first, yet goes out only once 11 is delivered; 40 (another stream) is
    # retried beside 11
    assert positions(receiver, "/ordered") == [11, 40, 11, 40, 12]
    assert [r["status"] for r in receiver.to("/ordered")] == [500, 500, 200, 200, 200]
    assert positions(receiver, "/other") == [12]
    body = orjson.loads(receiver.to("/ordered")[-1]["body"])
    assert {k: body[k] for k in messages.WEBHOOK_ENVELOPE} == {
        "schema_version": 1,
        "stream_type": "application",
        "stream_id": STREAM,
        "stream_version": 12,
        "global_position": 12,
        "recorded_at": "2026-11-23T00:00:12.000000+00:00",
        "correlation_id": "corr-12",
        "causation_id": "cause-12",
    }
    assert body["event_type"] == "TalentCertified" and body["payload"]["talent_id"] == "talent-1"


def test_a_dead_lettered_earlier_event_no_longer_holds_the_later_ones(uow, receiver):
    sid = subscribe(uow, receiver.url + "/stuck")
    first = notify(uow, sid, 1)
    notify(uow, sid, 2)
    receiver.fail("/stuck", times=3)  # the policy's 3 attempts: the first is dead-lettered
    send = dispatcher(uow)
    for _ in range(4):
        send.tick()
        later(uow, 700)
    row = uow.query("SELECT status FROM deliveries WHERE notification_id = %s", (first,), one=True)
    assert row["status"] == "dead"
    assert positions(receiver, "/stuck") == [1, 1, 1, 2]


def test_both_secrets_sign_during_a_rotations_overlap(uow, receiver):
    sid = subscribe(uow, receiver.url + "/rotating")
    uow.run(recipients.subscriber, f"subscriber-{sid}", recipients.RotateSecret())
    old, new = subscriber_secret(KEY, sid, 1), subscriber_secret(KEY, sid, 2)
    notify(uow, sid, 1)
    send = dispatcher(uow)
    send.tick()
    later(uow, SECRET_ROTATION_OVERLAP_SECONDS + 1)
    notify(uow, sid, 2)
    send.tick()
    during, after = receiver.to("/rotating")
    for secret in (old, new):  # during the overlap, a receiver holding either secret verifies
        assert Webhook(secret).verify(during["body"], during["headers"])["global_position"] == 1
    assert len(during["headers"]["webhook-signature"].split(" ")) == 2
    assert during["headers"]["webhook-id"] == orjson.loads(during["body"])["delivery_id"]
    # once the overlap is over only the new one signs
    assert len(after["headers"]["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(after["body"], after["headers"])["global_position"] == 2
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after["body"], after["headers"])
