"""A person's erasure (个人信息保护法 art. 47, ``PIPL-47``). Stream ``person-<person_key>``, one per
person, named only by their pseudonym.

* ``ErasePerson``: erase the applicant's personal data by deleting the key their personal fields
  were sealed with (crypto-shredding, ``shared/store/sealing.py``); recorded as ``PersonErased``,
  naming the fields that now read "erased" in every stored event.

The key deletion itself is the key store's, inside the same transaction: ``context["key_held"]``
says whether there was a key to delete. Without one the person is already erased (PIPL-47) and
nothing is recorded (the transaction, with its deletion of nothing, is rolled back). The rule reads
the key store, not the stream: a person erased who later applies again is sealed under a new key,
which a new erasure deletes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.applications.domain import policy
from shared.decider import Decider, NewEvent
from shared.errors import RuleViolation


@dataclass(frozen=True)
class ErasePerson:
    person_key: str
    application_id: str  # the application the erasure was asked through
    basis: str  # why (the request, the legal ground)
    fields_erased: tuple[str, ...]  # the personal fields sealed under the key


@dataclass(frozen=True)
class Person:
    erasures: int = 0  # PersonErased events recorded for this person


def evolve(state: Person, event: Any) -> Person:
    if event.event_type == "PersonErased":
        return Person(state.erasures + 1)
    return state


def decide(command: ErasePerson, state: Person, context: dict[str, Any]) -> list[NewEvent]:
    if not isinstance(command, ErasePerson):
        raise TypeError(f"unknown command {command!r}")
    if not context["key_held"]:
        raise RuleViolation(
            "PIPL-47", f"the applicant of {command.application_id} is already erased"
        )
    return [
        NewEvent(
            "PersonErased",
            {
                "person_key": command.person_key,
                "application_id": command.application_id,
                "erased_on": context["today"],
                "basis": command.basis,
                "fields_erased": list(command.fields_erased),
            },
            ("PIPL-47",),
        )
    ]


def stream(person_key: str) -> str:
    return f"person-{person_key}"


person = Decider("person", Person(), evolve, decide, policy.POLICY_VERSION)
