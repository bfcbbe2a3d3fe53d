"""The subsidies service's settings: TM-1's extension is recorded with the notice that made it
(both keys or neither, a real date after the measures' own end), and reaches the deciders as a
``policy.Extension``."""

import datetime as dt

import pytest

from services.subsidies.domain import policy
from services.subsidies.settings import SubsidiesSettings
from shared.runtime.settings import SettingsError

BASE = {
    "AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/",
    "DB_DSN": "host=127.0.0.1 dbname=x",
    "AUTH_SECRET": "unit-test-token-key-0123456789abcdefghijklmnop",
}


def test_without_an_extension_the_measures_end_in_2022():
    settings = SubsidiesSettings.read({**BASE, "TM_EXTENDED_UNTIL": "", "TM_EXTENSION_NOTICE": ""})
    assert settings.tm_extension() is None
    assert policy.tm_span(None)[:2] == (dt.date(2020, 1, 1), dt.date(2022, 12, 31))


def test_an_extension_is_read_with_its_notice():
    settings = SubsidiesSettings.read(
        {**BASE, "TM_EXTENDED_UNTIL": "2025-12-31", "TM_EXTENSION_NOTICE": "楚人社通〔2023〕5号"}
    )
    extension = settings.tm_extension()
    assert extension == policy.Extension("楚人社通〔2023〕5号", dt.date(2025, 12, 31))
    assert policy.tm_span(extension) == (
        dt.date(2020, 1, 1),
        dt.date(2025, 12, 31),
        "2020-01-01 to 2025-12-31 (2020—2022年, extended by 楚人社通〔2023〕5号)",
    )
    # YAML reads an unquoted date as a date
    assert SubsidiesSettings.read(
        {**BASE, "TM_EXTENDED_UNTIL": dt.date(2025, 12, 31), "TM_EXTENSION_NOTICE": "N"}
    ).tm_extension() == policy.Extension("N", dt.date(2025, 12, 31))


@pytest.mark.parametrize(
    "values, says",
    [
        ({"TM_EXTENDED_UNTIL": "2025-12-31"}, "go together"),
        ({"TM_EXTENSION_NOTICE": "楚人社通〔2023〕5号"}, "go together"),
        ({"TM_EXTENDED_UNTIL": "2025-13-01", "TM_EXTENSION_NOTICE": "N"}, "yyyy-mm-dd"),
        ({"TM_EXTENDED_UNTIL": "2022-12-31", "TM_EXTENSION_NOTICE": "N"}, "must be after"),
    ],
)
def test_a_malformed_extension_stops_the_service_naming_the_key(values, says):
    with pytest.raises(SettingsError, match=says):
        SubsidiesSettings.read({**BASE, **values})
