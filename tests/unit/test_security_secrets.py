"""Public keys: a service refuses to start with a missing, short or published secret (the tokens'
key, the pseudonyms' key, the webhook key) unless ALLOW_INSECURE_SECRETS says this is a
development set-up, and then says so; a rotated AUTH_SECRET keeps the previous key valid for its
grace period; county tokens name their county (shared/runtime/settings.py, shared/auth.py)."""

import datetime as dt
import types

import pytest

from services.applications.settings import ApplicationsSettings
from services.notifications.settings import NotificationsSettings
from shared.auth import authenticate, mint
from shared.errors import Unauthenticated
from shared.runtime.base import ServiceBase
from shared.runtime.settings import (
    DEVELOPMENT_SECRETS,
    MIN_SECRET_LENGTH,
    Settings,
    SettingsError,
    secret_weakness,
)

STRONG = "kq7Vd2LmXw9PzR4tYb8NcE1sHf6JgU3a"  # 32 characters, random
OTHER = "Zr5Tn8QwEy2UiOp4AsDf6GhJk9LxCv1B"
BASE = {"AMQP_URI": "amqp://x", "DB_DSN": "dbname=x", "AUTH_SECRET": STRONG}
UTC = dt.UTC


@pytest.mark.parametrize(
    "value, why",
    [
        (None, "missing"),
        ("", "missing"),
        ("dev-only-secret-change-me-in-production!", "known default"),
        ("dev-only-person-key-change-me-in-production!", "known default"),
        ("dev-only-webhook-key-change-me-in-production!", "known default"),
        ("CHANGE-ME", "known default"),
        ("change-me-" + STRONG, "known default"),
        ("talent", "shorter than"),
        (STRONG[: MIN_SECRET_LENGTH - 1], "shorter than"),
        ("s" * 40, "distinct characters"),
        ("01" * 20, "distinct characters"),
    ],
)
def test_weak_secrets_are_named(value, why):
    assert why in secret_weakness(value)


@pytest.mark.parametrize(
    "settings, key",
    [
        (Settings, "AUTH_SECRET"),
        (ApplicationsSettings, "PERSON_KEY_SECRET"),
        (NotificationsSettings, "WEBHOOK_SIGNING_KEY"),
    ],
)
@pytest.mark.parametrize("value", [None, "", "CHANGE-ME", "short-key", "__DEFAULT__"])
def test_a_service_refuses_to_start_on_a_weak_secret(settings, key, value):
    if value == "__DEFAULT__":
        value = DEVELOPMENT_SECRETS[key]
    config = {**BASE, "PERSON_KEY_SECRET": OTHER, "WEBHOOK_SIGNING_KEY": OTHER, key: value}
    with pytest.raises(SettingsError, match=key):
        settings.read(config)


def test_development_mode_takes_weak_secrets_and_says_so():
    config = {"AMQP_URI": "amqp://x", "DB_DSN": "dbname=x", "ALLOW_INSECURE_SECRETS": "true"}
    settings = ApplicationsSettings.read({**config, "PERSON_KEY_SECRET": "short"})
    assert settings.auth_secret == DEVELOPMENT_SECRETS["AUTH_SECRET"]
    assert settings.person_key_secret == "short"
    assert settings.insecure_secrets == (
        "AUTH_SECRET: missing",
        "PERSON_KEY_SECRET: shorter than 32 characters",
    )
    assert ApplicationsSettings.read({**BASE, "PERSON_KEY_SECRET": OTHER}).insecure_secrets == ()


def test_health_ready_warns_of_development_secrets():
    settings = Settings.read({**BASE, "AUTH_SECRET": "", "ALLOW_INSECURE_SECRETS": True})

    class Down:
        def query(self, sql):
            raise OSError("no database in a unit test")

    uow = types.SimpleNamespace(
        settings=settings,
        query=Down().query,
        provider=types.SimpleNamespace(relay=None, container=types.SimpleNamespace(extensions=())),
        service="x",
    )
    service = types.SimpleNamespace(uow=uow)
    service._readiness = lambda: ServiceBase._readiness(service)
    status, body = ServiceBase.health_ready.__wrapped__(service, None)
    assert body["checks"]["secrets"] == "insecure (development only)"
    assert body["warnings"] == ["insecure secret AUTH_SECRET: missing"]


def test_the_shipped_configurations_have_no_secret_defaults():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for svc in ("applications", "subsidies", "assessment", "notifications"):
        text = (root / "services" / svc / "config.yaml").read_text(encoding="utf-8")
        assert "dev-only" not in text and "AUTH_SECRET: ${AUTH_SECRET:}" in text, svc


def bearer(token):
    return f"Bearer {token}"


def test_a_rotated_auth_secret_keeps_the_previous_key_for_its_grace_period():
    now = dt.datetime.now(UTC)
    until = (now + dt.timedelta(hours=8)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    settings = Settings.read(
        {
            **BASE,
            "AUTH_SECRET": OTHER,
            "AUTH_SECRET_PREVIOUS": STRONG,
            "AUTH_SECRET_PREVIOUS_UNTIL": until.isoformat(),
        }
    )
    old_token = bearer(mint(STRONG, "fin-1", "finance"))
    new_token = bearer(mint(OTHER, "fin-1", "finance"))
    assert settings.auth_keys(now) == [OTHER, STRONG]
    assert authenticate(settings.auth_keys(now), old_token).role == "finance"
    after = now + dt.timedelta(hours=8, seconds=1)
    assert settings.auth_keys(after) == [OTHER]
    with pytest.raises(Unauthenticated, match="invalid token"):
        authenticate(settings.auth_keys(after), old_token)
    assert authenticate(settings.auth_keys(after), new_token).actor_id == "fin-1"
    # without an end, the previous key holds while it is configured
    open_ended = Settings.read({**BASE, "AUTH_SECRET_PREVIOUS": OTHER})
    assert open_ended.auth_keys(after) == [STRONG, OTHER]


def test_the_previous_key_is_held_to_the_same_rules():
    with pytest.raises(SettingsError, match="AUTH_SECRET_PREVIOUS"):
        Settings.read({**BASE, "AUTH_SECRET_PREVIOUS": "CHANGE-ME"})
    with pytest.raises(SettingsError, match="AUTH_SECRET_PREVIOUS_UNTIL must name its time zone"):
        Settings.read({**BASE, "AUTH_SECRET_PREVIOUS_UNTIL": "2026-12-07T16:00:00"})


def test_a_token_forged_with_the_public_default_key_is_refused():
    settings = Settings.read(BASE)
    forged = mint(DEVELOPMENT_SECRETS["AUTH_SECRET"], "x", "finance", ttl=dt.timedelta(days=3650))
    with pytest.raises(Unauthenticated):
        authenticate(settings.auth_keys(), bearer(forged))


def test_a_county_role_without_a_county_is_refused_at_authentication():
    import jwt

    now = dt.datetime.now(UTC)
    claims = {"sub": "co-1", "role": "county_officer", "exp": now + dt.timedelta(hours=1)}
    for county in (None, "", 7):
        token = jwt.encode({**claims, **({} if county is None else {"county": county})}, STRONG)
        with pytest.raises(Unauthenticated, match="must name its county"):
            authenticate(STRONG, bearer(token))
    with pytest.raises(ValueError, match="names its county"):
        mint(STRONG, "co-1", "county_officer")
    assert authenticate(STRONG, bearer(mint(STRONG, "co-1", "county_officer", "禄丰市"))).county


def test_a_secret_may_come_from_a_mounted_file(tmp_path):
    path = tmp_path / "auth_secret"
    path.write_text(OTHER + "\n")
    settings = Settings.read({**BASE, "AUTH_SECRET": "", "AUTH_SECRET_FILE": str(path)})
    assert settings.auth_secret == OTHER
    with pytest.raises(SettingsError, match="AUTH_SECRET_FILE: cannot read"):
        Settings.read({**BASE, "AUTH_SECRET": "", "AUTH_SECRET_FILE": str(tmp_path / "none")})
    path.write_text("CHANGE-ME\n")
    with pytest.raises(SettingsError, match="AUTH_SECRET is a known default"):
        Settings.read({**BASE, "AUTH_SECRET": "", "AUTH_SECRET_FILE": str(path)})
