"""The delivery of one e-mail or webhook message (stream ``delivery-<notification_id>``): every
attempt and its outcome is an event, so an auditor sees who was told what, where and when.

The sender records its intent (``DeliveryAttempted``), sends outside any transaction, then records
the outcome: ``Delivered`` (at most once per message), or ``DeliveryFailed`` with the time of the
next attempt (exponential backoff), and after the allowed attempts ``DeliveryDeadLettered``. An
operator re-drives a dead letter (``DeliveryRedriven``), which gives it a fresh set of attempts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from services.notifications.domain.errors import StateConflict
from services.notifications.domain.policy import POLICY_VERSION, DeliveryPolicy
from shared.decider import Decider, Event, NewEvent

UTC = dt.UTC


@dataclass(frozen=True)
class Attempt:
    notification_id: str
    channel: str
    target: str | None = None  # the e-mail address or URL; None: there is nowhere to send it
    problem: str | None = None  # why there is no target


@dataclass(frozen=True)
class RecordOutcome:
    attempt: int
    delivered: bool
    detail: str  # the server's answer, or the error


@dataclass(frozen=True)
class Redrive:
    notification_id: str
    channel: str


@dataclass(frozen=True)
class Delivery:
    status: str = "pending"  # pending, in_flight, retrying, delivered, dead
    attempts: int = 0  # attempts ever made
    round_attempts: int = 0  # attempts since the message was recorded or last re-driven
    notification_id: str | None = None
    channel: str | None = None
    target: str | None = None  # where the last attempt went


Command = Attempt | RecordOutcome | Redrive


def evolve(state: Delivery, event: Event) -> Delivery:
    p = event.payload
    state = replace(state, notification_id=p["notification_id"], channel=p["channel"])
    match event.event_type:
        case "DeliveryAttempted":
            return replace(
                state,
                status="in_flight",
                attempts=p["attempt"],
                round_attempts=state.round_attempts + 1,
                target=p["target"],
            )
        case "Delivered":
            return replace(state, status="delivered")
        case "DeliveryFailed":
            unsent = p["attempt"] > state.attempts  # failed before anything was sent
            return replace(
                state,
                status="retrying",
                attempts=p["attempt"],
                round_attempts=state.round_attempts + unsent,
            )
        case "DeliveryDeadLettered":
            return replace(state, status="dead")
        case "DeliveryRedriven":
            return replace(state, status="pending", round_attempts=0)
    return state


def decide(command: Command, state: Delivery, context: Mapping[str, Any]) -> list[NewEvent]:
    """Context: ``now`` (aware datetime), ``delivery_policy`` (a DeliveryPolicy)."""
    match command:
        case Attempt():
            if state.status not in ("pending", "retrying"):
                return []  # delivered, dead, or an attempt already under way
            n = state.attempts + 1
            if command.target is None:
                return _failed(
                    command.notification_id,
                    command.channel,
                    n,
                    state.round_attempts + 1,
                    command.problem,
                    context,
                )
            return [
                NewEvent(
                    "DeliveryAttempted",
                    {
                        "notification_id": command.notification_id,
                        "channel": command.channel,
                        "attempt": n,
                        "target": command.target,
                    },
                )
            ]
        case RecordOutcome():
            if state.status != "in_flight" or command.attempt != state.attempts:
                return []  # an outcome already recorded, or of an older attempt
            nid, channel = state.notification_id, state.channel
            assert nid is not None and channel is not None  # recorded with the attempt
            if command.delivered:
                return [
                    NewEvent(
                        "Delivered",
                        {
                            "notification_id": nid,
                            "channel": channel,
                            "attempt": command.attempt,
                            "target": state.target,
                            "response": command.detail,
                        },
                    )
                ]
            return _failed(
                nid, channel, command.attempt, state.round_attempts, command.detail, context
            )
        case Redrive():
            if state.status != "dead":
                raise StateConflict(
                    f"delivery {command.notification_id} is {state.status}: only a "
                    f"dead-lettered delivery can be re-driven",
                    details={"status": state.status},
                )
            return [
                NewEvent(
                    "DeliveryRedriven",
                    {"notification_id": command.notification_id, "channel": command.channel},
                )
            ]
    raise TypeError(f"unknown command {command!r}")


def _failed(
    nid: str,
    channel: str,
    attempt: int,
    round_attempts: int,
    error: str | None,
    context: Mapping[str, Any],
) -> list[NewEvent]:
    policy: DeliveryPolicy = context.get("delivery_policy") or DeliveryPolicy()
    failed = {"notification_id": nid, "channel": channel, "attempt": attempt, "error": error}
    if round_attempts >= policy.max_attempts:
        return [
            NewEvent("DeliveryFailed", failed),
            NewEvent(
                "DeliveryDeadLettered",
                {
                    "notification_id": nid,
                    "channel": channel,
                    "attempts": round_attempts,
                    "last_error": error,
                },
            ),
        ]
    retry_at: dt.datetime = context["now"] + policy.retry_delay(round_attempts)
    return [
        NewEvent(
            "DeliveryFailed",
            dict(failed, retry_at=retry_at.astimezone(UTC).isoformat(timespec="microseconds")),
        )
    ]


delivery = Decider("delivery", Delivery(), evolve, decide, POLICY_VERSION)
