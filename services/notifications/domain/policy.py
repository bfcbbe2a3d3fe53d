"""Parameters of the notifications service. Delivery parameters are defaults: configuration may
set others (``DELIVERY_*`` in config.yaml), and every delivery event records what it applied."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

POLICY_VERSION = "notifications/v3"

# Delivery of e-mail and webhook messages: a bounded number of attempts, exponential backoff.
MAX_ATTEMPTS = 8  # then the message is dead-lettered (re-drivable by an operator)
FIRST_RETRY_SECONDS = 30  # after the first failure; each later wait doubles ...
BACKOFF_FACTOR = 2
MAX_RETRY_SECONDS = 6 * 3600  # ... up to this
# An attempt recorded but without an outcome after this long (the sender stopped mid-send) is
# taken as failed; the message is sent again (receivers drop the duplicate by its delivery id).
IN_FLIGHT_LEASE_SECONDS = 300
# A rotated webhook secret keeps signing beside the new one for this long (both signatures in
# ``webhook-signature``), so that a receiver can switch to the new secret without a failed
# delivery in between.
SECRET_ROTATION_OVERLAP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = MAX_ATTEMPTS
    first_retry_seconds: float = FIRST_RETRY_SECONDS
    backoff_factor: float = BACKOFF_FACTOR
    max_retry_seconds: float = MAX_RETRY_SECONDS
    in_flight_lease_seconds: float = IN_FLIGHT_LEASE_SECONDS

    def retry_delay(self, attempt: int) -> dt.timedelta:
        """The wait after failed attempt number ``attempt`` (1, 2, …): first × factor^(n-1)."""
        seconds = self.first_retry_seconds * self.backoff_factor ** (attempt - 1)
        return dt.timedelta(seconds=min(seconds, self.max_retry_seconds))
