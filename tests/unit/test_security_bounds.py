"""Input outside the types' range and hostile text (shared/bounds.py, applied by shared/web.py to
every command body, path segment and query argument), and webhook targets on internal addresses
(services/notifications/targets.py)."""

import types

import marshmallow
import orjson
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.notifications import targets
from services.notifications.channels import SendFailed, WebhookSender
from shared.bounds import MAX_SAFE_INTEGER, BoundedInteger, check
from shared.errors import InvalidInput
from shared.web import _refuse_nul, expected_version, parse_body, query_int


class Amount(marshmallow.Schema):
    amount_fen = marshmallow.fields.Integer(required=True)
    note = marshmallow.fields.String()
    members = marshmallow.fields.List(marshmallow.fields.Dict())


def request(body=b"", query=""):
    return Request(EnvironBuilder(method="POST", data=body, query_string=query).get_environ())


@pytest.mark.parametrize(
    "amount", [2**63, 2**64 - 1, 2**63 - 1, MAX_SAFE_INTEGER + 1, -(MAX_SAFE_INTEGER + 1)]
)
def test_integers_past_what_json_readers_hold_are_refused_naming_the_field(amount):
    with pytest.raises(InvalidInput) as info:
        parse_body(request(orjson.dumps({"amount_fen": amount}, option=0)), Amount)
    assert "amount_fen" in info.value.fields
    assert "2^53 - 1" in info.value.fields["amount_fen"][0]


def test_integers_within_the_range_pass():
    for amount in (MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0, 5_000_000):
        assert parse_body(request(orjson.dumps({"amount_fen": amount})), Amount)["amount_fen"] == (
            amount
        )


def test_nested_values_are_checked_and_named():
    body = {"amount_fen": 1, "members": [{"ok": 1}, {"sales_fen": 2**60}]}
    with pytest.raises(InvalidInput) as info:
        parse_body(request(orjson.dumps(body)), Amount)
    assert list(info.value.fields) == ["members.1.sales_fen"]


@pytest.mark.parametrize(
    "text",
    [
        "张三\u202ecod.exe",  # right-to-left override
        "王\u2066五\u2069",  # isolates
        "李\u200f四",  # right-to-left mark
        "赵\x07六",  # BEL
        "孙\x1b[31m七",  # an ANSI escape
        "周\x85八",  # C1 next line
        "吴\x7f九",  # DEL
    ],
)
def test_bidi_and_control_characters_are_refused_in_text(text):
    with pytest.raises(InvalidInput) as info:
        parse_body(request(orjson.dumps({"amount_fen": 1, "note": text})), Amount)
    assert "note" in info.value.fields
    with pytest.raises(InvalidInput):
        _refuse_nul(request(query="name=" + text), {})
    with pytest.raises(InvalidInput):
        _refuse_nul(request(), {"talent_id": text})


def test_ordinary_text_with_line_breaks_and_tabs_passes():
    note = "第一行\n第二行\t（楚雄州）\r\n Ünïcödé 🙂"
    assert (
        parse_body(request(orjson.dumps({"amount_fen": 1, "note": note})), Amount)["note"] == note
    )
    assert check({"name": "彝族 · 阿诗玛", "n": [1, 2, True]}) == {}


def test_path_integers_and_if_match_are_bounded():
    with pytest.raises(InvalidInput):
        _refuse_nul(request(), {"letter_id": 2**63})
    r = Request(EnvironBuilder(headers={"If-Match": str(2**63)}).get_environ())
    with pytest.raises(InvalidInput, match="If-Match"):
        expected_version(r)


def test_bounded_integer_keeps_a_policy_ceiling():
    class Report(marshmallow.Schema):
        sales_fen = BoundedInteger(minimum=0, maximum=10**12)

    assert Report().load({"sales_fen": 10**12}) == {"sales_fen": 10**12}
    for bad in (10**12 + 1, -1, 2**64 - 1):
        with pytest.raises(marshmallow.ValidationError):
            Report().load({"sales_fen": bad})


# -- webhook targets -----------------------------------------------------------------------------
def resolving_to(*addresses):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8004/metrics",
        "http://127.1/",
        "http://[::1]/",
        "http://10.0.0.5/hook",
        "http://172.16.3.4/hook",
        "http://192.168.1.1/hook",
        "http://100.64.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_webhooks_to_internal_addresses_are_refused(url):
    with pytest.raises(targets.TargetRefused):
        targets.check(url, resolve=resolving_to())


def test_a_name_resolving_to_an_internal_address_is_refused():
    with pytest.raises(targets.TargetRefused):
        targets.check(
            "https://hooks.example.cn/x", resolve=resolving_to("93.184.216.34", "10.1.1.1")
        )
    targets.check("https://hooks.example.cn/x", resolve=resolving_to("93.184.216.34"))


def test_the_allow_list_names_hosts_and_networks():
    internal = resolving_to("10.20.3.4")
    targets.check("https://hooks.internal/x", "hooks.internal", resolve=internal)
    targets.check("https://other.internal/x", "10.20.0.0/16", resolve=internal)
    targets.check("http://127.0.0.1:9000/", "127.0.0.1")
    with pytest.raises(targets.TargetRefused):
        targets.check("https://other.internal/x", "10.30.0.0/16", resolve=internal)


def test_an_unresolvable_host_passes_registration_but_not_delivery():
    def fail(host, port):
        raise OSError("no such host")

    targets.check("https://not-yet.example.cn/", resolve=fail, unresolvable_ok=True)
    with pytest.raises(targets.TargetRefused, match="does not resolve"):
        targets.check("https://not-yet.example.cn/", resolve=fail)


def test_a_delivery_to_an_internal_address_fails_without_connecting():
    sender = WebhookSender("k" * 40)
    sender.http = types.SimpleNamespace(post=lambda *a, **k: pytest.fail("connected"))
    delivery = {"content": "{}", "notification_id": "n-1", "source_event_type": "X"}
    with pytest.raises(SendFailed, match="target refused"):
        sender.send(delivery, "http://169.254.169.254/latest/meta-data/", "s-1", 1)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", None),
        ("n=2024", 2024),
        ("n=0", 0),
        ("n=" + "9" * 19, 10**19 - 1),
        ("n=" + "1" * 20, "1" * 20),  # past a bigint: the text, for the caller to refuse
        ("n=" + "1" * 5000, "1" * 5000),  # int() of it raises
        ("n=%C2%B2", "²"),  # "²".isdigit() holds and int() refuses it
        ("n=-1", "-1"),
        ("n=%2B7", "+7"),
        ("n=%202024", " 2024"),
        ("n=", ""),
    ],
)
def test_a_query_integer_is_a_short_run_of_ascii_digits_or_its_text(query, expected):
    assert query_int(request(query=query), "n") == expected


def test_an_absent_query_integer_is_the_default():
    assert query_int(request(query="m=1"), "n", 50) == 50
