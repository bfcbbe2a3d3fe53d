"""The catch-up feeds of a running service: HTTP ``GET /events`` for systems not on the broker
(the ``integrator`` role; paged, capped, bad arguments a 400 naming them) and the ``catch_up``
RPC, both serving exactly the envelopes the relay publishes."""

import datetime as dt
from zoneinfo import ZoneInfo

import orjson
import pytest
import requests
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from shared.runtime.base import CATCH_UP_MAX_LIMIT
from talent_client.http import Client
from tests.support.system import running_system
from tests.support.wire import WireSink, wire_problems

YEAR = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().year
BUDGETS = 7


@pytest.fixture(scope="module")
def system():
    yield from running_system(services=("subsidies",))


@pytest.fixture(scope="module")
def api(system):
    return Client(system.urls, out=lambda *_: None)


@pytest.fixture(scope="module")
def published(system, api):
    """BUDGETS budget changes, and every message the relay published for them."""
    sink = WireSink(system.amqp_uri, services=("subsidies",))
    try:
        for i in range(BUDGETS):
            api.call(
                "POST",
                "subsidies",
                f"/funds/prefecture_finance/{YEAR}/budget",
                "finance",
                json={"amount_fen": 1_000_000 * (i + 1), "reference": f"楚财〔{YEAR}〕{i}号"},
            )
        messages = sink.drain(quiet=1.0, timeout=30)
    finally:
        sink.close()
    return messages


def feed(api, role="integrator", **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return api.call("GET", "subsidies", f"/events?{query}", role, expect=None)


def test_the_feed_pages_through_the_same_bytes_as_the_broker(api, published):
    assert wire_problems(published) == []
    live = {orjson.loads(body)["global_position"]: body for _, _, _, body in published}
    after, pages, served, raw = 0, 0, {}, b""
    while True:
        r = feed(api, after=after, limit=3)
        assert r.status_code == 200, r.text
        page, raw = r.json(), raw + r.content
        pages += 1
        assert page["source"] == "subsidies" and page["limit"] == 3
        for event in page["events"]:
            served[event["global_position"]] = event
        after = page["next_after"]
        if not page["more"]:
            break
    assert page["head"] == after == len(served) >= BUDGETS and pages >= 3
    assert list(served) == list(range(1, after + 1))  # gapless, in order
    for position, body in live.items():  # what the broker carried, byte for byte
        assert served[position] == orjson.loads(body)
        assert body in raw
    assert {"stream_type", "stream_version"} <= set(served[1])


def test_the_feed_is_for_outside_systems_and_auditors_only(api, system):
    assert requests.get(system.urls["subsidies"] + "/events", timeout=10).status_code == 401
    assert feed(api, role="talent").status_code == 403
    assert feed(api, role="auditor").status_code == 200
    assert feed(api).json()["limit"] == 100  # the default page


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"limit": CATCH_UP_MAX_LIMIT + 1}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"after": -1}, "after"),
        ({"after": "abc"}, "after"),
        ({"after": "1e3"}, "after"),
        ({"after": 2**70}, "after"),
        ({"since": 3}, "since"),
    ],
)
def test_bad_arguments_are_a_400_naming_them(api, args, field):
    r = feed(api, **args)
    assert r.status_code == 400, r.text
    assert field in r.json()["fields"]


def test_the_rpc_is_capped_and_validated_with_the_same_envelope(system, published):
    with ClusterRpcProxy({"AMQP_URI": system.amqp_uri}, timeout=20) as rpc:
        first = rpc.subsidies.catch_up(0, 2)
        rest = rpc.subsidies.catch_up(2)
        for bad in [("x", 5), (0, CATCH_UP_MAX_LIMIT + 1), (-1, 5), (0, True)]:
            with pytest.raises(RemoteError) as refused:
                rpc.subsidies.catch_up(*bad)
            assert refused.value.exc_type == "InvalidInput"
    assert [e["global_position"] for e in first + rest] == list(range(1, len(first + rest) + 1))
    live = {orjson.loads(body)["event_id"]: body for _, _, _, body in published}
    for event in first + rest:
        if event["event_id"] in live:
            assert orjson.loads(live[event["event_id"]]) == event
    assert {"stream_type", "stream_version"} <= set(first[0])
