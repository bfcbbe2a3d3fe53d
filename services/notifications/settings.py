"""The notifications service's settings (services/notifications/config.yaml), checked at start."""

from __future__ import annotations

from dataclasses import dataclass

from services.notifications.domain.policy import DeliveryPolicy
from shared.runtime.settings import Settings, secret, setting

_DEFAULT = DeliveryPolicy()


@dataclass(frozen=True, kw_only=True)
class NotificationsSettings(Settings):
    webhook_signing_key: str = secret("WEBHOOK_SIGNING_KEY")
    smtp_host: str = setting("SMTP_HOST", "127.0.0.1")
    smtp_port: int = setting("SMTP_PORT", 25)
    smtp_from: str = setting("SMTP_FROM", "notifications@talent.chuxiong.local")
    smtp_starttls: bool = setting("SMTP_STARTTLS", False)
    smtp_user: str | None = setting("SMTP_USER", None)
    smtp_password: str | None = setting("SMTP_PASSWORD", None)
    smtp_timeout_seconds: float = setting("SMTP_TIMEOUT_SECONDS", 10.0)
    webhook_connect_timeout_seconds: float = setting("WEBHOOK_CONNECT_TIMEOUT_SECONDS", 3.0)
    webhook_read_timeout_seconds: float = setting("WEBHOOK_READ_TIMEOUT_SECONDS", 10.0)
    # hosts, addresses and networks a webhook may reach although loopback/private (targets.py)
    webhook_allowed_targets: str | None = setting("WEBHOOK_ALLOWED_TARGETS", None)
    # an empty DELIVERY_* key keeps the default of services/notifications/domain/policy.py
    delivery_max_attempts: int = setting("DELIVERY_MAX_ATTEMPTS", _DEFAULT.max_attempts)
    delivery_first_retry_seconds: float = setting(
        "DELIVERY_FIRST_RETRY_SECONDS", float(_DEFAULT.first_retry_seconds)
    )
    delivery_backoff_factor: float = setting(
        "DELIVERY_BACKOFF_FACTOR", float(_DEFAULT.backoff_factor)
    )
    delivery_max_retry_seconds: float = setting(
        "DELIVERY_MAX_RETRY_SECONDS", float(_DEFAULT.max_retry_seconds)
    )
    delivery_lease_seconds: float = setting(
        "DELIVERY_LEASE_SECONDS", float(_DEFAULT.in_flight_lease_seconds)
    )
    delivery_tick_seconds: float = setting("DELIVERY_TICK_SECONDS", 1.0)
    delivery_batch: int = setting("DELIVERY_BATCH", 100)
    delivery_concurrency: int = setting("DELIVERY_CONCURRENCY", 8)
