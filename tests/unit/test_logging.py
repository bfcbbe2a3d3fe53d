"""shared.logging: one JSON object a line, ids bound per worker, personal data masked, for this
code's structlog calls and for libraries' stdlib records alike."""

import io
import json
import logging

import pytest
import structlog

from shared import logging as tlog


@pytest.fixture
def lines():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    tlog.configure("test-service", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    tlog.clear()
    structlog.reset_defaults()
    tlog._configured = None
    root.handlers[:], root.level = handlers, level


def test_a_line_is_json_with_service_level_time_and_bound_ids(lines):
    tlog.bind(correlation_id="c-1")
    tlog.get_logger("x").info("event_handled", event_type="ReviewPassed", county="楚雄市")
    [line] = lines()
    assert line["event"] == "event_handled" and line["level"] == "info"
    assert line["service"] == "test-service" and line["correlation_id"] == "c-1"
    assert line["county"] == "楚雄市" and line["timestamp"].endswith("Z")


def test_personal_data_is_masked_by_key_and_by_shape(lines):
    tlog.get_logger().warning(
        "refused",
        id_number="53230119900307123X",
        note="call 13912345678 about 532301199003071234",
        nested={"phone": "0878-1234567", "items": ["13812345678"]},
    )
    [line] = lines()
    text = json.dumps(line, ensure_ascii=False)
    assert "1990030" not in text and "1391234" not in text and "1381234" not in text
    assert line["id_number"] == tlog.MASK and line["nested"]["phone"] == tlog.MASK


def test_below_the_level_nothing_is_written_and_exceptions_come_as_text(lines):
    log = tlog.get_logger()
    log.debug("noise")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("handler_failed")
    [line] = lines()
    assert line["event"] == "handler_failed" and "ValueError: boom" in line["exception"]


def test_what_orjson_refuses_is_still_logged(lines):
    tlog.get_logger().warning("invalid_input", errors={0: ["Not a valid date."]}, big=2**70)
    [line] = lines()
    assert line["errors"] == {"0": ["Not a valid date."]} and line["big"] == 2**70


def test_a_library_stdlib_record_gets_the_same_treatment(lines):
    logging.getLogger("kombu").warning("lost connection to %s", "13912345678")
    [line] = lines()
    assert line["service"] == "test-service" and line["level"] == "warning"
    assert "13912345678" not in line["event"]
