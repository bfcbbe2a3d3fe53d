"""Delivery of one e-mail or webhook message: intent before sending, one outcome per attempt,
exponential backoff, dead letter after the allowed attempts, re-drive, delivered at most once."""

import datetime as dt

import pytest
from givenwhenthen import NOW, NewEvent, given, then, when

from services.notifications.domain.delivery import Attempt, RecordOutcome, Redrive, delivery
from services.notifications.domain.errors import StateConflict
from services.notifications.domain.policy import DeliveryPolicy

NID = "0b7f6a8e-3c1d-4c2a-9a57-6f1e2d3c4b5a:7"
URL = "https://receiver.example.cn/hooks/talent"
POLICY = DeliveryPolicy(
    max_attempts=4, first_retry_seconds=30, backoff_factor=2, max_retry_seconds=100
)
UTC = dt.UTC


def at(seconds):
    return (NOW + dt.timedelta(seconds=seconds)).astimezone(UTC).isoformat(timespec="microseconds")


def attempted(n):
    return NewEvent(
        "DeliveryAttempted",
        {"notification_id": NID, "channel": "webhook", "attempt": n, "target": URL},
    )


def failed(n, error="HTTP 500", retry_at=None):
    payload = {"notification_id": NID, "channel": "webhook", "attempt": n, "error": error}
    if retry_at:
        payload["retry_at"] = retry_at
    return NewEvent("DeliveryFailed", payload)


def attempt(target=URL, problem=None):
    return Attempt(NID, "webhook", target, problem)


def act(history, command):
    return when(delivery, given(delivery, *history), command, delivery_policy=POLICY)


def test_first_attempt_is_recorded_before_sending():
    then(act([], attempt()), attempted(1))


@pytest.mark.parametrize("n, wait", [(1, 30), (2, 60), (3, 100)])  # 30·2^(n-1), capped at 100
def test_failure_schedules_the_next_attempt_with_exponential_backoff(n, wait):
    history = []
    for i in range(1, n):
        history += [attempted(i), failed(i, retry_at=at(0))]
    history.append(attempted(n))
    then(act(history, RecordOutcome(n, False, "HTTP 500")), failed(n, retry_at=at(wait)))


def test_dead_lettered_after_the_allowed_attempts():
    history = []
    for i in range(1, 4):
        history += [attempted(i), failed(i, retry_at=at(0))]
    history.append(attempted(4))
    then(
        act(history, RecordOutcome(4, False, "connection failed: ConnectionError")),
        failed(4, "connection failed: ConnectionError"),
        NewEvent(
            "DeliveryDeadLettered",
            {
                "notification_id": NID,
                "channel": "webhook",
                "attempts": 4,
                "last_error": "connection failed: ConnectionError",
            },
        ),
    )
    dead = history + act(history, RecordOutcome(4, False, "x"))
    assert act(dead, attempt()) == []  # nothing more is sent until a re-drive


def test_delivered_once_whatever_comes_after():
    history = [attempted(1), failed(1, retry_at=at(30)), attempted(2)]
    delivered = NewEvent(
        "Delivered",
        {
            "notification_id": NID,
            "channel": "webhook",
            "attempt": 2,
            "target": URL,
            "response": "HTTP 200",
        },
    )
    then(act(history, RecordOutcome(2, True, "HTTP 200")), delivered)
    history.append(delivered)
    assert act(history, attempt()) == []
    assert act(history, RecordOutcome(2, True, "HTTP 200")) == []
    with pytest.raises(StateConflict, match="delivered"):
        act(history, Redrive(NID, "webhook"))


def test_no_second_attempt_while_one_is_in_flight_and_stale_outcomes_are_ignored():
    history = [attempted(1)]
    assert act(history, attempt()) == []
    assert act(history, RecordOutcome(2, True, "HTTP 200")) == []  # not the attempt in flight
    history += [failed(1, retry_at=at(30))]
    assert act(history, RecordOutcome(1, True, "HTTP 200")) == []  # its outcome is recorded


def test_nowhere_to_send_is_a_failed_attempt_without_sending():
    then(
        act([], attempt(None, "no e-mail address registered for bureau")),
        failed(1, "no e-mail address registered for bureau", retry_at=at(30)),
    )
    history = [failed(1, "no address", retry_at=at(30))]
    then(act(history, attempt()), attempted(2))


def test_unsent_failures_count_towards_the_dead_letter():
    history = []
    for i in range(1, 4):
        history.append(failed(i, "subscriber:s-1 is deactivated", retry_at=at(0)))
    events = act(history, attempt(None, "subscriber:s-1 is deactivated"))
    assert [e.event_type for e in events] == ["DeliveryFailed", "DeliveryDeadLettered"]
    assert events[1].payload["attempts"] == 4


def test_redrive_gives_a_fresh_set_of_attempts_and_numbering_goes_on():
    history = []
    for i in range(1, 5):
        history += [attempted(i), failed(i, retry_at=at(0))]
    history.append(
        NewEvent(
            "DeliveryDeadLettered",
            {"notification_id": NID, "channel": "webhook", "attempts": 4, "last_error": "HTTP 500"},
        )
    )
    redriven = NewEvent("DeliveryRedriven", {"notification_id": NID, "channel": "webhook"})
    then(act(history, Redrive(NID, "webhook")), redriven)
    history.append(redriven)
    then(act(history, attempt()), attempted(5))
    history.append(attempted(5))
    then(act(history, RecordOutcome(5, False, "HTTP 500")), failed(5, retry_at=at(30)))


@pytest.mark.parametrize(
    "history",
    [
        [],
        [
            NewEvent(
                "DeliveryAttempted",
                {"notification_id": NID, "channel": "webhook", "attempt": 1, "target": URL},
            )
        ],
    ],
)
def test_only_a_dead_letter_can_be_redriven(history):
    with pytest.raises(StateConflict) as info:
        act(history, Redrive(NID, "webhook"))
    assert info.value.http_status == 409


def test_default_policy_backoff():
    policy = DeliveryPolicy()
    assert [policy.retry_delay(n).total_seconds() for n in range(1, 12)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3840,
        7680,
        15360,
        21600,
    ]
