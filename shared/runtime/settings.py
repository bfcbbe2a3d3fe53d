"""Typed settings, read from a service's configuration once, at start.

A service declares its settings as a frozen dataclass derived from ``Settings``; each field names
its configuration key (``setting("AUTH_SECRET")``). ``read(config)`` converts every value to its
field's type and refuses a missing required key or a malformed value with ``SettingsError``
naming the key, so a service with a bad configuration stops at start instead of failing at its
first request. An empty value (``KEY: ${VAR:}``) counts as absent.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T", bound="Settings")
_MISSING = dataclasses.MISSING


class SettingsError(ValueError):
    """A configuration key is missing or malformed; the message names it."""


def setting(key: str, default: Any = _MISSING) -> Any:
    """A settings field read from configuration key ``key`` (required unless ``default``)."""
    if default is _MISSING:
        return dataclasses.field(metadata={"key": key})
    return dataclasses.field(default=default, metadata={"key": key})


def _convert(key: str, kind: Any, value: Any) -> Any:
    if kind is Any or kind is object:
        return value
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
    auth_secret: str = setting("AUTH_SECRET")
    db_role: str | None = setting("DB_ROLE", None)
    db_role_password: str | None = setting("DB_ROLE_PASSWORD", None)
    db_pool_size: int = setting("DB_POOL_SIZE", 10)
    relay_enabled: bool = setting("RELAY_ENABLED", True)
    relay_coalesce_seconds: float | None = setting("RELAY_COALESCE_SECONDS", None)

    @classmethod
    def read(cls: type[T], config: Mapping[str, Any]) -> T:
        """The settings in ``config``, or SettingsError naming the first bad key."""
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            key = field.metadata["key"]
            raw = config.get(key)
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
        return cls(**values)
