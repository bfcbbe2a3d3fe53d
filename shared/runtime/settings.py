"""Typed settings, read from a service's configuration once, at start.

A service declares its settings as a frozen dataclass derived from ``Settings``; each field names
its configuration key (``setting("AUTH_SECRET")``). ``read(config)`` converts every value to its
field's type and refuses a missing required key or a malformed value with ``SettingsError``
naming the key, so a service with a bad configuration stops at start instead of failing at its
first request. An empty value (``KEY: ${VAR:}``) counts as absent; then ``KEY_FILE``, if the
configuration has it, names a file holding the value (a mounted Docker or Kubernetes secret).

Secrets (``secret(KEY)``: the tokens' key, the pseudonyms' key, the webhook key) are refused when
missing, shorter than ``MIN_SECRET_LENGTH``, made of too few distinct characters, or a value
published anywhere (``KNOWN_DEFAULT_SECRETS``: the development values, ``CHANGE-ME``...), unless
``ALLOW_INSECURE_SECRETS`` says this is a development set-up: then a missing secret takes its
development value and each weak one is recorded in ``insecure_secrets``, which the service logs at
start and reports on ``/health/ready``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from shared.messaging.inbox import PARKED_ALERT_SECONDS, PARKED_FETCH_SECONDS

T = TypeVar("T", bound="Settings")
_MISSING = dataclasses.MISSING


class SettingsError(ValueError):
    """A configuration key is missing or malformed; the message names it."""


MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT = 10  # distinct characters: "aaaa...", "01010101..." are not keys
DEVELOPMENT_SECRETS: dict[str, str] = {
    "AUTH_SECRET": "dev-only-secret-change-me-in-production!",
    "PERSON_KEY_SECRET": "dev-only-person-key-change-me-in-production!",
    "WEBHOOK_SIGNING_KEY": "dev-only-webhook-key-change-me-in-production!",
}
"""What a missing secret becomes under ``ALLOW_INSECURE_SECRETS`` (public: development only)."""
KNOWN_DEFAULT_SECRETS = frozenset(DEVELOPMENT_SECRETS.values())
_PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "replace-me", "example", "default")


def secret_weakness(value: str | None) -> str | None:
    """Why ``value`` is not fit to be a key (None: it is): missing, short, repetitive, or a
    value written in a public file (the development defaults, a ``CHANGE-ME`` placeholder)."""
    if not value:
        return "missing"
    lowered = value.lower()
    if value in KNOWN_DEFAULT_SECRETS or any(w in lowered for w in _PLACEHOLDER_WORDS):
        return "a known default or placeholder value"
    if len(value) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(value)) < MIN_SECRET_DISTINCT:
        return f"made of fewer than {MIN_SECRET_DISTINCT} distinct characters"
    return None


def setting(key: str, default: Any = _MISSING) -> Any:
    """A settings field read from configuration key ``key`` (required unless ``default``)."""
    if default is _MISSING:
        return dataclasses.field(metadata={"key": key})
    return dataclasses.field(default=default, metadata={"key": key})


def _read_file(key: str, path: Any) -> str:
    """The content of the file ``path`` names (a Docker or Kubernetes secret mounted as a file),
    without its final line break."""
    try:
        with open(str(path), encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    except OSError as exc:
        raise SettingsError(f"setting {key}: cannot read {path}: {exc.strerror}") from None


def secret(key: str, *, required: bool = True) -> Any:
    """A settings field holding a key (checked by ``secret_weakness``; see the module's text).
    Not ``required``: absent is fine, present it must be strong."""
    if required:
        return dataclasses.field(metadata={"key": key, "secret": True})
    return dataclasses.field(default=None, metadata={"key": key, "secret": True})


def _convert(key: str, kind: Any, value: Any) -> Any:
    if kind is Any or kind is object:
        return value
    if kind is dt.datetime:
        if isinstance(value, dt.datetime):
            moment = value
        else:
            try:
                moment = dt.datetime.fromisoformat(str(value).strip())
            except ValueError:
                raise SettingsError(
                    f"setting {key} must be an ISO 8601 date and time, not {value!r}"
                ) from None
        if moment.tzinfo is None:
            raise SettingsError(f"setting {key} must name its time zone (e.g. +08:00 or Z)")
        return moment
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
        raise SettingsError(f"setting {key} must be true or false, not {value!r}")
    if kind in (int, float):
        if isinstance(value, bool):
            raise SettingsError(f"setting {key} must be a number, not {value!r}")
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise SettingsError(
                f"setting {key} must be {'an integer' if kind is int else 'a number'},"
                f" not {value!r}"
            ) from None
        if number < 0:
            raise SettingsError(f"setting {key} must not be negative, not {value!r}")
        return number
    if kind is str:
        if isinstance(value, (dict, list)):
            raise SettingsError(f"setting {key} must be text, not {type(value).__name__}")
        return str(value)
    raise TypeError(f"settings field of unsupported type {kind!r} ({key})")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """What every service needs (``services/*/config.yaml``)."""

    amqp_uri: str = setting("AMQP_URI")
    db_dsn: str = setting("DB_DSN")
    # the tokens' HMAC key; after a rotation the previous one is still accepted until the moment
    # AUTH_SECRET_PREVIOUS_UNTIL names (absent: as long as it is set)
    auth_secret: str = secret("AUTH_SECRET")
    auth_secret_previous: str | None = secret("AUTH_SECRET_PREVIOUS", required=False)
    auth_secret_previous_until: dt.datetime | None = setting("AUTH_SECRET_PREVIOUS_UNTIL", None)
    # development only: weak or missing secrets are used (with a warning) instead of refused
    allow_insecure_secrets: bool = setting("ALLOW_INSECURE_SECRETS", False)
    db_role: str | None = setting("DB_ROLE", None)
    db_role_password: str | None = setting("DB_ROLE_PASSWORD", None)
    db_pool_size: int = setting("DB_POOL_SIZE", 10)
    relay_enabled: bool = setting("RELAY_ENABLED", True)
    relay_coalesce_seconds: float | None = setting("RELAY_COALESCE_SECONDS", None)
    # a consumed event parked longer than the first is alerted on; while one has been parked
    # longer than the second, the sources' catch-up feeds are read (shared/messaging/inbox.py)
    parked_alert_seconds: float = setting("PARKED_ALERT_SECONDS", PARKED_ALERT_SECONDS)
    parked_fetch_seconds: float = setting("PARKED_FETCH_SECONDS", PARKED_FETCH_SECONDS)
    # HTTP: a request (line, headers and body) must arrive within this many seconds; a body over
    # HTTP_MAX_BODY_BYTES is refused with 413 unread; at most HTTP_MAX_WORKERS of the service's
    # max_workers serve HTTP at once, the rest stay free for events, RPC and timers
    http_request_timeout_seconds: float = setting("HTTP_REQUEST_TIMEOUT_SECONDS", 10.0)
    http_max_body_bytes: int = setting("HTTP_MAX_BODY_BYTES", 1_048_576)
    http_max_workers: int = setting("HTTP_MAX_WORKERS", 6)
    # the secrets found weak or missing under ALLOW_INSECURE_SECRETS: "KEY: why" (not a key)
    insecure_secrets: tuple[str, ...] = dataclasses.field(default=(), metadata={})

    def auth_keys(self, now: dt.datetime | None = None) -> list[str]:
        """The keys a token may be signed with now: AUTH_SECRET, and AUTH_SECRET_PREVIOUS until
        AUTH_SECRET_PREVIOUS_UNTIL (the grace period of a rotation)."""
        keys = [self.auth_secret]
        until = self.auth_secret_previous_until
        if self.auth_secret_previous and (
            until is None or (now or dt.datetime.now(dt.UTC)) < until
        ):
            keys.append(self.auth_secret_previous)
        return keys

    @classmethod
    def read(cls: type[T], config: Mapping[str, Any]) -> T:
        """The settings in ``config``, or SettingsError naming the first bad key."""
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        insecure: list[str] = []
        allow_insecure = _convert(
            "ALLOW_INSECURE_SECRETS", bool, config.get("ALLOW_INSECURE_SECRETS") or False
        )
        for field in dataclasses.fields(cls):
            if "key" not in field.metadata:
                continue
            key = field.metadata["key"]
            raw = config.get(key)
            if (raw is None or raw == "") and config.get(f"{key}_FILE"):
                raw = _read_file(f"{key}_FILE", config[f"{key}_FILE"])
            if field.metadata.get("secret"):
                if isinstance(raw, (dict, list)):
                    raise SettingsError(f"setting {key} must be text, not {type(raw).__name__}")
                value = None if raw is None else str(raw)
                weakness = secret_weakness(value)
                if weakness == "missing" and field.default is not _MISSING:
                    values[field.name] = None
                    continue
                if weakness and not allow_insecure:
                    if weakness == "missing":
                        raise SettingsError(
                            f"setting {key} is missing: set it in the service's "
                            "configuration (or the environment variable it names) to a random "
                            f"value of at least {MIN_SECRET_LENGTH} characters"
                        )
                    raise SettingsError(
                        f"setting {key} is {weakness}: set a random value of at least "
                        f"{MIN_SECRET_LENGTH} characters (deploy/local/secrets.sh makes one); "
                        "ALLOW_INSECURE_SECRETS=true accepts it in development only"
                    )
                if weakness:
                    insecure.append(f"{key}: {weakness}")
                    if weakness == "missing":
                        value = DEVELOPMENT_SECRETS.get(key, f"dev-only-{key.lower()}")
                values[field.name] = value
                continue
            if raw is None or raw == "":
                if field.default is _MISSING:
                    raise SettingsError(
                        f"setting {key} is missing: set it in the service's "
                        "configuration (or the environment variable it names)"
                    )
                values[field.name] = field.default
                continue
            kind = hints[field.name]
            args = [a for a in typing.get_args(kind) if a is not type(None)]
            if typing.get_origin(kind) in (typing.Union, types.UnionType):
                kind = args[0]
            values[field.name] = _convert(key, kind, raw)
        return cls(**values, insecure_secrets=tuple(insecure))
