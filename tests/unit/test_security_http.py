"""The HTTP server's limits as read from a service's configuration (shared/web.py): HTTP never
holds every worker, whatever the configuration says."""

import types

import pytest

from shared.runtime.settings import SettingsError
from shared.web import GuardedWebServer


def server(config, max_workers=10):
    web = GuardedWebServer()
    web.container = types.SimpleNamespace(config=config, max_workers=max_workers)
    web.setup()
    return web


def test_the_defaults():
    web = server({})
    assert (web.request_timeout, web.max_body, web.http_workers) == (10.0, 1_048_576, 6)


@pytest.mark.parametrize(
    "asked, max_workers, given", [(6, 10, 6), (10, 10, 9), (50, 10, 9), (0, 10, 1)]
)
def test_http_always_leaves_workers_for_events(asked, max_workers, given):
    web = server({"HTTP_MAX_WORKERS": asked}, max_workers)
    assert web.http_workers == given
    assert web.http_workers < max_workers or max_workers == 1
    assert web.slots.balance == given


def test_configured_limits_are_typed_and_checked():
    web = server({"HTTP_REQUEST_TIMEOUT_SECONDS": "2.5", "HTTP_MAX_BODY_BYTES": "4096"})
    assert (web.request_timeout, web.max_body) == (2.5, 4096)
    with pytest.raises(SettingsError, match="HTTP_MAX_BODY_BYTES must be an integer"):
        server({"HTTP_MAX_BODY_BYTES": "a lot"})
