"""The decider pattern: pure functions, no I/O, no clock.

``decide(command, state, context) -> [NewEvent]`` (raises RuleViolation naming the clause),
``evolve(state, event) -> state``, ``initial_state``. ``context`` carries "now" and whatever else
the service looked up, so tests and replays are deterministic."""
from dataclasses import dataclass
from typing import Any, Callable

from shared.eventstore import NewEvent, fold  # noqa: F401  (re-exported for domains)


@dataclass(frozen=True)
class Decider:
    stream_type: str
    initial_state: Any
    evolve: Callable
    decide: Callable
    policy_version: str

    def replay(self, events):
        return fold(self.evolve, self.initial_state, events)
