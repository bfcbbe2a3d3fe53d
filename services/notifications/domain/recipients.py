"""The registry of channels, event-sourced like everything else:

* webhook subscribers (stream ``subscriber-<id>``): other systems, each with a URL and the event
  types it wants; its signing secret is derived from the service's key and ``secret_version``
  (``channels.subscriber_secret``), so no secret is ever written to an event; a rotated secret
  keeps signing beside the new one until ``previous_valid_until`` (``SECRET_ROTATION_OVERLAP``);
* e-mail contacts (stream ``contact-<address>``): the e-mail address at which a recipient address
  (``county:楚雄市``, ``talent:<id>``, ``bureau``…) is also told.

Input (URLs, event types, addresses) is validated by ``schemas.py`` before a command exists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from services.notifications.domain.errors import StateConflict
from services.notifications.domain.policy import POLICY_VERSION, SECRET_ROTATION_OVERLAP_SECONDS
from shared.decider import Decider, Event, NewEvent


# -- subscribers -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Register:
    subscriber_id: str
    name: str
    url: str
    event_types: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    name: str
    url: str
    event_types: tuple[str, ...]


@dataclass(frozen=True)
class RotateSecret:
    pass


@dataclass(frozen=True)
class Deactivate:
    pass


@dataclass(frozen=True)
class Subscriber:
    status: str = "none"  # none, active, inactive
    subscriber_id: str | None = None
    name: str | None = None
    url: str | None = None
    event_types: tuple[str, ...] = ()
    secret_version: int = 0


SubscriberCommand = Register | Change | RotateSecret | Deactivate


def evolve_subscriber(state: Subscriber, event: Event) -> Subscriber:
    p = event.payload
    match event.event_type:
        case "SubscriberRegistered":
            return Subscriber(
                "active",
                p["subscriber_id"],
                p["name"],
                p["url"],
                tuple(p["event_types"]),
                p["secret_version"],
            )
        case "SubscriberChanged":
            return replace(state, name=p["name"], url=p["url"], event_types=tuple(p["event_types"]))
        case "SubscriberSecretRotated":
            return replace(state, secret_version=p["secret_version"])
        case "SubscriberDeactivated":
            return replace(state, status="inactive")
    return state


def decide_subscriber(
    command: SubscriberCommand, state: Subscriber, context: Mapping[str, Any]
) -> list[NewEvent]:
    if isinstance(command, Register):
        if state.status != "none":
            raise StateConflict(f"subscriber {command.subscriber_id} already exists")
        return [
            NewEvent(
                "SubscriberRegistered",
                {
                    "subscriber_id": command.subscriber_id,
                    "name": command.name,
                    "url": command.url,
                    "event_types": sorted(set(command.event_types)),
                    "secret_version": 1,
                },
            )
        ]
    if state.status == "inactive":
        if isinstance(command, Deactivate):
            return []
        raise StateConflict(f"subscriber {state.subscriber_id} is deactivated")
    match command:
        case Change():
            types = sorted(set(command.event_types))
            if (command.name, command.url, tuple(types)) == (
                state.name,
                state.url,
                state.event_types,
            ):
                return []
            return [
                NewEvent(
                    "SubscriberChanged",
                    {
                        "subscriber_id": state.subscriber_id,
                        "name": command.name,
                        "url": command.url,
                        "event_types": types,
                    },
                )
            ]
        case RotateSecret():
            overlap = dt.timedelta(seconds=SECRET_ROTATION_OVERLAP_SECONDS)
            until: dt.datetime = context["now"] + overlap
            return [
                NewEvent(
                    "SubscriberSecretRotated",
                    {
                        "subscriber_id": state.subscriber_id,
                        "secret_version": state.secret_version + 1,
                        "previous_secret_version": state.secret_version,
                        "previous_valid_until": until.astimezone(dt.UTC).isoformat(
                            timespec="microseconds"
                        ),
                    },
                )
            ]
        case Deactivate():
            return [NewEvent("SubscriberDeactivated", {"subscriber_id": state.subscriber_id})]
    raise TypeError(f"unknown command {command!r}")


subscriber = Decider(
    "subscriber", Subscriber(), evolve_subscriber, decide_subscriber, POLICY_VERSION
)


# -- e-mail contacts -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SetEmail:
    recipient: str
    email: str


@dataclass(frozen=True)
class RemoveEmail:
    recipient: str


@dataclass(frozen=True)
class Contact:
    email: str | None = None


ContactCommand = SetEmail | RemoveEmail


def evolve_contact(state: Contact, event: Event) -> Contact:
    match event.event_type:
        case "ContactEmailSet":
            return Contact(event.payload["email"])
        case "ContactEmailRemoved":
            return Contact(None)
    return state


def decide_contact(
    command: ContactCommand, state: Contact, context: Mapping[str, Any]
) -> list[NewEvent]:
    match command:
        case SetEmail():
            if state.email == command.email:
                return []
            return [
                NewEvent(
                    "ContactEmailSet", {"recipient": command.recipient, "email": command.email}
                )
            ]
        case RemoveEmail():
            if state.email is None:
                return []
            return [NewEvent("ContactEmailRemoved", {"recipient": command.recipient})]
    raise TypeError(f"unknown command {command!r}")


contact = Decider("contact", Contact(), evolve_contact, decide_contact, POLICY_VERSION)
