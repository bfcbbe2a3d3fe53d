"""structlog JSON logging for every service: one JSON object a line, with the service name and the
correlation and causation ids bound per worker (``structlog.contextvars``).

Personal data never reaches a log: keys that hold it are masked and any string that looks like a
mainland resident ID number or mobile number is masked wherever it appears."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

PERSONAL_KEYS = frozenset({"id_number", "phone", "mobile", "address", "contact_phone", "id_card"})
_ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
MASK = "***"


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return _MOBILE.sub(MASK, _ID_NUMBER.sub(MASK, value))
    if isinstance(value, dict):
        return {k: (MASK if k in PERSONAL_KEYS else _scrub_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_value(v) for v in value]
    return value


def scrub_personal_data(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    return {k: (MASK if k in PERSONAL_KEYS else _scrub_value(v)) for k, v in event_dict.items()}


_configured: str | None = None


def _json(event_dict: EventDict, **_kw: Any) -> str:
    # orjson writes non-ASCII as UTF-8 (ensure_ascii=False) at a fraction of json.dumps' cost;
    # what it refuses (an integer beyond 64 bits) still gets logged, by the json module
    try:
        return orjson.dumps(event_dict, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(event_dict, default=str, ensure_ascii=False)


def configure(service: str, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """structlog (this code) and stdlib logging (nameko, kombu) as JSON lines on ``stream``.

    structlog's own calls do not go through stdlib ``logging`` (a LogRecord, the handler lock and
    a formatter per line cost about 5 % of a busy service's CPU): they are filtered by level,
    scrubbed and rendered by structlog and written straight to the stream. Libraries' stdlib
    records get the same processors through ``ProcessorFormatter``."""
    global _configured
    if _configured == service:
        return
    _configured = service
    stream = stream or sys.stderr
    shared_processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        lambda _l, _m, ed: {**ed, "service": service},
    ]
    render: list[Processor] = [
        structlog.processors.format_exc_info,
        scrub_personal_data,
        structlog.processors.JSONRenderer(serializer=_json),
    ]
    structlog.configure(
        processors=shared_processors + render,
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("kombu", "amqp", "nameko"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> FilteringBoundLogger:
    """structlog's logger for ``name`` (a proxy bound on first use, as ``configure`` set it up)."""
    logger: FilteringBoundLogger = structlog.get_logger(name)
    return logger


def bind(**ids: Any) -> None:
    """Bind correlation/causation ids (or any ids) for the current green thread."""
    structlog.contextvars.bind_contextvars(**ids)


def clear() -> None:
    structlog.contextvars.clear_contextvars()
