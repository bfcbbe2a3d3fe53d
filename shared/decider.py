"""The decider pattern: pure functions, no I/O, no clock.

``decide(command, state, context) -> [NewEvent]`` (raises RuleViolation naming the clause),
``evolve(state, event) -> state``, ``initial_state``. ``context`` carries "now" and whatever else
the service looked up, so tests and replays are deterministic. Nothing here touches the store:
the store records a decider's ``NewEvent``s and hands back events that ``evolve`` folds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

S = TypeVar("S")
E = TypeVar("E")


class Event(Protocol):
    """What ``evolve`` reads of a recorded event: a ``RecordedEvent`` of the store, or a stand-in
    built from a decider's ``NewEvent``."""

    @property
    def event_type(self) -> str: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class NewEvent:
    """An event a decider wants recorded: its type, its payload and the clauses it applied."""

    event_type: str
    payload: dict[str, Any]
    clauses: tuple[str, ...] = ()


def fold(evolve: Callable[[S, E], S], state: S, events: Iterable[E]) -> S:
    """Replay: the state after ``events``, starting from ``state``."""
    for event in events:
        state = evolve(state, event)
    return state


@dataclass(frozen=True)
class Decider(Generic[S]):
    """One aggregate's rules: the stream type it records under, its initial state, ``evolve``,
    ``decide`` and the policy version its decisions cite."""

    stream_type: str
    initial_state: S
    evolve: Callable[[S, Any], S]
    decide: Callable[..., list[NewEvent]]
    policy_version: str

    def replay(self, events: Iterable[Any]) -> S:
        return fold(self.evolve, self.initial_state, events)
