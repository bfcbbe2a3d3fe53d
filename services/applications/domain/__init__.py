"""The service's rules: pure deciders and the policy parameters they apply (no I/O, no clock)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Event(Protocol):
    """What ``evolve`` reads of a recorded event: a ``RecordedEvent`` of the store, or a stand-in
    built from a decider's ``NewEvent``."""

    @property
    def event_type(self) -> str: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...
