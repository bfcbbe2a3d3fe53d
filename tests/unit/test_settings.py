"""Typed settings (shared/runtime/settings.py): every service's configuration is read once at
start; a missing or malformed key is refused naming it, so the service stops instead of failing
at its first request."""

import types
from pathlib import Path

import pytest

from services.applications.settings import ApplicationsSettings
from services.assessment.settings import AssessmentSettings
from services.notifications.settings import NotificationsSettings
from services.subsidies.settings import SubsidiesSettings
from shared.config import load
from shared.runtime.provider import EventStoreProvider
from shared.runtime.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]

BASE = {
    "AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/",
    "DB_DSN": "host=127.0.0.1 dbname=x",
    "AUTH_SECRET": "unit-test-token-key-0123456789abcdefghijklmnop",
}
STRONG = "unit-test-other-key-0123456789ABCDEFGHIJKLMNOP"


def test_the_common_settings_are_typed_and_defaulted():
    settings = Settings.read(
        {
            **BASE,
            "DB_POOL_SIZE": "4",
            "RELAY_ENABLED": "false",
            "RELAY_COALESCE_SECONDS": "0.05",
            "DB_ROLE": "",
            "PARKED_FETCH_SECONDS": "2",
        }
    )
    assert settings.db_pool_size == 4 and settings.relay_enabled is False
    assert settings.relay_coalesce_seconds == 0.05
    assert (settings.parked_alert_seconds, settings.parked_fetch_seconds) == (300.0, 2.0)
    assert settings.db_role is None and settings.db_role_password is None  # empty = absent
    defaults = Settings.read(BASE)
    assert (defaults.db_pool_size, defaults.relay_enabled, defaults.relay_coalesce_seconds) == (
        10,
        True,
        None,
    )


@pytest.mark.parametrize("key", ["AMQP_URI", "DB_DSN", "AUTH_SECRET"])
@pytest.mark.parametrize("absent", [None, ""])
def test_a_missing_required_key_is_refused_naming_it(key, absent):
    config = {**BASE, key: absent}
    with pytest.raises(SettingsError, match=f"setting {key} is missing"):
        Settings.read(config)


@pytest.mark.parametrize(
    "key, value, says",
    [
        ("DB_POOL_SIZE", "ten", "DB_POOL_SIZE must be an integer"),
        ("DB_POOL_SIZE", "-1", "DB_POOL_SIZE must not be negative"),
        ("DB_POOL_SIZE", True, "DB_POOL_SIZE must be a number"),
        ("RELAY_ENABLED", "maybe", "RELAY_ENABLED must be true or false"),
        ("RELAY_COALESCE_SECONDS", "soon", "RELAY_COALESCE_SECONDS must be a number"),
        ("PARKED_FETCH_SECONDS", "-5", "PARKED_FETCH_SECONDS must not be negative"),
        ("PARKED_ALERT_SECONDS", "later", "PARKED_ALERT_SECONDS must be a number"),
        ("AUTH_SECRET", {"a": 1}, "AUTH_SECRET must be text"),
    ],
)
def test_a_malformed_value_is_refused_naming_the_key(key, value, says):
    with pytest.raises(SettingsError, match=says):
        Settings.read({**BASE, key: value})


def test_each_service_requires_its_own_secrets():
    with pytest.raises(SettingsError, match="PERSON_KEY_SECRET"):
        ApplicationsSettings.read(BASE)
    with pytest.raises(SettingsError, match="WEBHOOK_SIGNING_KEY"):
        NotificationsSettings.read(BASE)
    assert (
        ApplicationsSettings.read({**BASE, "PERSON_KEY_SECRET": STRONG}).person_key_secret == STRONG
    )
    assert (
        SubsidiesSettings.read({**BASE, "TM7_2020_RATE_FEN": "100000"}).tm7_2020_rate_fen == 100000
    )
    assert SubsidiesSettings.read(BASE).tm7_2020_rate_fen is None
    assert AssessmentSettings.read(BASE).deadline_timer_seconds == 3600.0


@pytest.mark.parametrize(
    "service, settings",
    [
        ("applications", ApplicationsSettings),
        ("subsidies", SubsidiesSettings),
        ("assessment", AssessmentSettings),
        ("notifications", NotificationsSettings),
    ],
)
def test_every_shipped_configuration_reads(service, settings):
    config = load(ROOT / "services" / service / "config.yaml")
    read = settings.read(config)
    assert read.db_pool_size == 10 and read.amqp_uri.startswith("amqp://")


def test_a_service_with_a_bad_setting_stops_at_start_before_touching_anything():
    provider = EventStoreProvider(settings=ApplicationsSettings)
    provider.container = types.SimpleNamespace(
        service_name="applications", config={**BASE, "DB_DSN": "host=nowhere"}
    )
    with pytest.raises(SettingsError, match="PERSON_KEY_SECRET is missing"):
        provider.setup()  # refused before any connection is tried
